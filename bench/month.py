"""Benchmark: a county's monthly claims batch — import-claims, settle-month, missed-benefits.

    python -m bench.month [--people 50000] [--db sqlite|postgresql] [--year 2025]

Generates a synthetic county (fangpin.synth), loads its ledger the way `fangpin demo` does
(areas, the departments' lists month by month, enrollment; untimed), then times for each month
`import_claims` of the month's claims file and `settle_month`, and at the end the year's
`missed_benefits`. The database is a fresh SQLite file, or a throw-away PostgreSQL server
(tests/pgserver.py). The peer figure, in the same process, is the engine's `settle_batch` on
the same year's claims and identities read back from the ledger: the ratio says how much the
ledger's work (reading, locking, writing) costs over the settlement itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _database(kind: str, home: Path):
    os.environ["FANGPIN_HOME"] = str(home)
    if kind == "sqlite":
        os.environ["FANGPIN_DATABASE_URL"] = ""
        return None
    from tests.pgserver import PostgresServer

    server = PostgresServer().start()
    import psycopg

    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE fangpin")
    os.environ["FANGPIN_DATABASE_URL"] = server.url()
    return server


def _load(m, stages: dict, timed) -> None:
    from fangpin.enrollment.services import import_enrollment
    from fangpin.people.services import ImportRefused, import_list

    for dept, path in m.lists:
        with contextlib.suppress(ImportRefused):  # a list the import refuses stays out
            timed(stages, "lists", import_list, dept, path, m.last)
    if m.enrollment is not None:
        timed(stages, "enrollment", import_enrollment, m.enrollment, m.year)


def _timed(stages: dict, name: str, fn, *args, **kwargs):
    t, cpu = time.perf_counter(), time.process_time()
    try:
        return fn(*args, **kwargs)
    finally:
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - t
        cpus[name] = cpus.get(name, 0.0) + time.process_time() - cpu


# This process's CPU seconds per stage: on a shared machine the wall time also counts the
# time other processes held the cores (the database server's work is not in it).
cpus: dict[str, float] = {}


def _peer(pack, year: int) -> tuple[float, int]:
    """settle_batch on the year's claims and identities as the ledger holds them."""
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.models import Claim
    from fangpin.engine.settle import settle_batch
    from fangpin.people.models import Identity

    fields = (
        "setl_id", "person_key", "setl_date", "med_type", "hosp_lv", "in_province", "referral",
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
        "inscp_scp_amt", "person_id",
    )  # fmt: skip
    rows = list(Claim.objects.filter(setl_date__year=year).values(*fields))
    frame = claim_frame(rows)
    key_of = {r["person_id"]: r["person_key"] for r in rows if r["person_id"] is not None}
    idents = identity_frame(
        (key_of[pid], name, group, begin, end)
        for pid, name, group, begin, end in Identity.objects.filter(
            person_id__in=list(key_of)
        ).values_list("person_id", "name", "group", "begin", "end")
        if pid in key_of
    )
    t = time.perf_counter()
    settle_batch(pack, frame, idents)
    return time.perf_counter() - t, frame.height


def _checksum() -> str:
    """Sums over what the run wrote, to compare two versions of the code on the same county."""
    from django.db.models import Sum

    from fangpin.claims.models import Accumulator, Adjustment, Settlement
    from fangpin.engine import kernel as k

    s = Settlement.objects.aggregate(
        fund=Sum("fund_pay_sumamt"), own=Sum("psn_part_amt"), mask=Sum("group_mask")
    )
    a = Accumulator.objects.aggregate(**{n: Sum(n) for n in k.ACC_NAMES})
    d = Adjustment.objects.aggregate(own=Sum("psn_part_amt"))
    befores = sum(sum(v or ()) for v in Settlement.objects.values_list("acc_before", flat=True))
    idents = sum(len(v) for v in Settlement.objects.values_list("identities", flat=True))
    return (
        f"settlements fund {s['fund']} own {s['own']} masks {s['mask']} identities {idents} "
        f"acc_before {befores}; accumulators {list(a.values())}; adjustments own {d['own']}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.month")
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--policy", default="ningxia-wuzhong-2025")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--county-dir", type=Path, help="reuse (or write) the generated county here")
    args = ap.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="fangpin-bench-month-"))
    server = _database(args.db, home)
    try:
        return _run(args, home)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)


def _run(args: argparse.Namespace, home: Path) -> int:
    from fangpin.commands.synth import choose_county
    from fangpin.people.bootstrap import setup_django

    county, _ = choose_county(args.policy, args.year, None)
    setup_django()
    from django.db import connection

    from fangpin.claims.batch import import_claims, settle_month
    from fangpin.claims.models import Claim, Settlement
    from fangpin.claims.resettle import missed_benefits
    from fangpin.demo.files import manifest_matches, split_by_month
    from fangpin.demo.setup import load_area_tree
    from fangpin.policy.registry import load_pack
    from fangpin.synth import generate

    pack = load_pack(args.policy)
    county_dir = args.county_dir or home / "county"
    facts = {"county": county, "year": args.year, "seed": args.seed, "people": args.people}
    if not manifest_matches(county_dir, facts):
        generate(county_dir, people=args.people, year=args.year, seed=args.seed, county=county)
    months = split_by_month(county_dir, args.year)
    load_area_tree(county_dir / "areas.csv")

    loading: dict[str, float] = {}
    stages: dict[str, float] = {}
    for m in months:
        if m.month == 1:
            _load(m, loading, _timed)
        if m.claims is not None:
            _timed(stages, "import_claims", import_claims, m.claims, pack)
        _timed(stages, "settle_month", settle_month, pack, m.year, m.month)
        if m.month != 1:
            _load(m, loading, _timed)
    missed = _timed(stages, "missed_benefits", missed_benefits, pack, args.year)
    peer, n = _peer(pack, args.year)

    claims, settlements = Claim.objects.count(), Settlement.objects.count()
    print(
        f"claims batch for {args.people:,} people ({county}, {args.year}, {args.policy}) "
        f"on {connection.vendor}: {claims:,} claims, {settlements:,} settlements, "
        f"missed benefits {missed.run.person_years:,} person-years, "
        f"{missed.run.adjustments:,} adjustments, {missed.run.notices:,} notices"
    )
    print("  (loading the ledger, untimed: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in loading.items()) + ")")  # fmt: skip
    for name, seconds in stages.items():
        print(f"  {name:<16} {seconds:8.2f} s   (cpu {cpus[name]:6.2f} s)")
    total = sum(stages.values())
    cpu = sum(cpus[name] for name in stages)
    print(f"  {'total':<16} {total:8.2f} s   (cpu {cpu:6.2f} s)")
    print(
        f"peer: the engine's settle_batch on the year's {n:,} claims {peer:.2f} s; "
        f"ledger work is {total / peer:.0f}× the engine's"
    )
    print("check: " + _checksum())
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load_avg}")
    connection.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
