"""The demo's year: a synthetic county taken through a bureau's monthly work.

Everything goes through the services the commands and pages use: the departments' lists are
imported by `people.services.import_list` (dirty rows rejected and kept), enrollment by
`enrollment.services.import_enrollment`, the month's reconciliation by `run_reconciliation`,
subsidies by `enrollment.subsidies.compute_subsidies`, claims by `claims.batch.import_claims`
and `settle_month`, the screening by `warnings.services.run_screening`, the townships' case
work by the case services, and the year's missed benefits by `claims.resettle.missed_benefits`.

Re-running on a database that already holds a finished demo builds nothing: the accounts and
figures are shown again and the caller goes on to serve. An interrupted demo is resumed: each
step above recognises what it already did (the same file is not imported twice, settled claims
are not settled again, a screening run on the same data changes no case).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.utils import timezone

from fangpin import audit
from fangpin.accounts.roles import Role
from fangpin.audit.models import AuditEntry
from fangpin.claims.batch import import_claims, settle_month
from fangpin.claims.resettle import missed_benefits
from fangpin.demo.casework import CaseWork, work_cases
from fangpin.demo.files import Month, manifest_matches, split_by_month
from fangpin.demo.setup import Account, ensure_accounts, load_area_tree
from fangpin.demo.summary import Summary, summarise
from fangpin.enrollment.services import import_enrollment, run_reconciliation
from fangpin.enrollment.subsidies import compute_subsidies
from fangpin.people.models import Area
from fangpin.people.services import ImportRefused, import_list, mark_tagged
from fangpin.policy.registry import load_pack
from fangpin.synth import generate
from fangpin.synth.areas import county_spec
from fangpin.warnings.services import run_screening

MARK = "demo"  # obj_type of the audit entry that says a demo was finished on this database
SYSTEM = "fangpin demo"
DEMO_CHECKPOINT_PAGES = 16_384  # 64 MiB of 4 KiB pages (SQLite's default is 1,000)
# Lists the bureau has not tagged yet at the end of the demo (department, month): the
# uploads page shows them overdue, as seed 001's five-working-day rule would flag them.
UNTAGGED = {("卫健", 11), ("卫健", 12), ("残联", 12)}


@dataclass
class DemoResult:
    reused: bool
    county: str
    year: int
    pack_id: str
    accounts: list[Account]
    summary: Summary
    months: int = 0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of this process per stage
    refused: list[str] = field(default_factory=list)  # lists the import refused, with why


def finished_demo() -> AuditEntry | None:
    """The entry a finished demo left on this database, if any."""
    return AuditEntry.objects.filter(obj_type=MARK).order_by("-at").first()


class _Stages:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, name: str, fn: Callable, *args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def build_demo(
    *,
    people: int,
    year: int,
    pack_id: str,
    work_dir: Path,
    seed: int = 1,
    county: str = "同心县",
    progress: Callable[[str], None] = lambda line: None,
    today: dt.date | None = None,
) -> DemoResult:
    """Build the demo on the configured database (Django set up and migrated by the caller)."""
    today = today or timezone.localdate()
    mark = finished_demo()
    if mark is not None:
        done_year = int(mark.obj_id) if mark.obj_id.isdigit() else year
        return DemoResult(
            True, county, done_year, pack_id, _existing_accounts(), summarise(done_year, today)
        )
    stages = _Stages()
    pack = load_pack(pack_id)
    county_dir = Path(work_dir) / f"{county}-{year}-seed{seed}-{people}"
    facts = {"county": county, "year": year, "seed": seed, "people": people}
    if not manifest_matches(county_dir, facts):
        stages.run(
            "generate", generate, county_dir, people=people, year=year, seed=seed, county=county
        )
        progress(f"已生成合成县数据：{county_dir}")
    months = [m for m in split_by_month(county_dir, year) if m.last < today]

    stages.run("areas", load_area_tree, county_dir / "areas.csv")
    spec = county_spec(county)
    county_area = Area.objects.get(code=spec.code)
    townships = list(
        Area.objects.filter(parent=county_area, level=Area.Level.TOWNSHIP).order_by("code")
    )
    # The township with most special persons gets the demo's 乡镇专干.
    main = _busiest(townships, county_dir)
    accounts = stages.run("accounts", ensure_accounts, main)
    users = _users(accounts)
    actors = {main.pk: users[f"zg{main.code[-3:]}"]}
    work = CaseWork()
    refused: list[str] = []
    with _rare_checkpoints():
        for m in months:
            _month(m, pack, stages, users, refused)
            run = stages.run("screening", run_screening, m.last, pack.id)
            w = stages.run("cases", work_cases, m.last, seed, actors, users["jingban"], today)
            work.add(w)
            r = run.run
            progress(
                f"{m.first:%Y-%m} 完成：预警 {r.flagged} 人次（新增 {r.new_cases}，"
                f"升级 {r.escalated}）；核查 {w.visits}，办结 {w.closed}"
            )
    missed = stages.run("missed_benefits", missed_benefits, pack, year)
    progress(f"应享未享：重算 {missed.run.person_years} 人年，补发通知 {missed.run.notices} 份")
    audit.record(
        None, audit.CHANGE, MARK, year,
        f"演示数据已生成：{county} {year} 年，{people} 人，政策包 {pack.id}，种子 {seed}",
        username=SYSTEM,
    )  # fmt: skip
    summary = stages.run("summary", summarise, year, today)
    return DemoResult(
        False, county, year, pack.id, accounts, summary, len(months), stages.seconds,
        stages.cpu, refused,
    )  # fmt: skip


@contextmanager
def _rare_checkpoints():
    """SQLite: while the year is built, copy the WAL back into the database file every 64 MiB
    of changes rather than every 4 MiB. A month's imports rewrite the same index pages; fewer
    checkpoints write (and sync) each of them fewer times. This trades durability, which only
    the demo's database can afford: it is synthetic, and an interrupted build is resumed. The
    connection's setting is put back afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_autocheckpoint")
        before = int(cur.fetchone()[0])
        cur.execute(f"PRAGMA wal_autocheckpoint = {max(before, DEMO_CHECKPOINT_PAGES)}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA wal_autocheckpoint = {before}")


def _month(m: Month, pack, stages: _Stages, users: dict, refused: list[str]) -> None:
    """One month's work. The claims of a month are settled at its end, before the month's lists
    arrive (on the 1st of the next): people identified during the month had their claims
    settled without the identity, which the year-end missed-benefits run then finds. January's
    lists come first, since they are the ledger the year starts from."""
    policy = pack.policy_at(m.last)
    if m.month == 1:
        _lists(m, policy, stages, users, refused)
    if m.claims is not None:
        stages.run("claims_import", import_claims, m.claims, pack)
    stages.run("settle", settle_month, pack, m.year, m.month)
    if m.month != 1:
        _lists(m, policy, stages, users, refused)
    officer = users["jingban"]
    if m.enrollment is not None:
        stages.run("enrollment", import_enrollment, m.enrollment, m.year, officer)
    stages.run(
        "reconcile", run_reconciliation, m.year, m.last, policy, births=m.births, user=officer
    )
    stages.run("subsidies", compute_subsidies, m.year, policy, officer)


def _lists(m: Month, policy, stages: _Stages, users: dict, refused: list[str]) -> None:
    received = m.last + dt.timedelta(days=1)
    for dept, path in m.lists:
        user = users["minzheng"] if dept == "民政" else users["jingban"]
        try:
            result = stages.run(
                "lists", import_list, dept, path, m.last, user,
                tagging_working_days=policy.exchange.tagging_working_days,
                received_at=_at(received, 9),
            )  # fmt: skip
        except ImportRefused as exc:
            refused.append(f"{path.name}: {exc}")
            continue
        if (dept, m.month) not in UNTAGGED and result.upload.tagged_at is None:
            when = _at(received + dt.timedelta(days=2), 16)
            stages.run("lists", mark_tagged, result.upload, users["jingban"], when)


def _busiest(townships: list[Area], county_dir: Path) -> Area:
    import polars as pl

    persons = pl.read_csv(county_dir / "persons.csv", infer_schema_length=0)
    special = pl.read_csv(county_dir / "identities.csv", infer_schema_length=0)["psn_no"].unique()
    top = (
        persons.filter(pl.col("psn_no").is_in(special.implode()))
        .group_by("township_code")
        .len()
        .sort(["len", "township_code"], descending=[True, False])
    )
    code = top["township_code"][0] if top.height else townships[0].code
    return next((t for t in townships if t.code == code), townships[0])


def _users(accounts: list[Account]) -> dict:
    from django.contrib.auth import get_user_model

    names = [a.username for a in accounts]
    return {u.username: u for u in get_user_model().objects.filter(username__in=names)}


def _existing_accounts() -> list[Account]:
    from django.contrib.auth import get_user_model

    order = {r: i for i, r in enumerate(Role)}
    out = [
        Account(u.username, u.profile.role, u.profile.area_label, None)
        for u in get_user_model().objects.filter(profile__isnull=False).select_related("profile")
    ]
    return sorted(out, key=lambda a: (order.get(a.role, 9), a.username))
