"""Re-settling person-years with the identities as now known (RULES §3, §7).

`resettle_person_years` locks the person-years' accumulators, settles every validly settled
claim of each year again through `settle_batch` (the whole year, in settlement order), and
compares claim by claim and tier by tier with the current amounts (valid settlement plus earlier
adjustments). A difference becomes an `Adjustment`; a person-year's net amount due to the person
(应补 = what the person paid too much) above the pack's notice threshold becomes a township
`Notice`; a net overpayment (应退) is listed as `Overpaid` for review and never recovered. The
accumulators are set to the re-settled year's.

Because the adjustments count in the current amounts, a second run with the same identities
finds no difference: it creates nothing and leaves every notice's progress as it was.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from fangpin.claims import sums
from fangpin.claims.bulk import (
    CLAIM_COLUMNS,
    adjustment_sums,
    lock_years,
    person_identities,
    read_valid,
    read_years,
    roomy_cache,
    store_years,
)
from fangpin.claims.ledger import engine_claims, identity_table
from fangpin.claims.models import (
    RESULT_FIELDS,
    Adjustment,
    Claim,
    Notice,
    NoticeEvent,
    Overpaid,
    ResettleRun,
    Settlement,
)
from fangpin.engine import kernel as k
from fangpin.engine.settle import settle_batch
from fangpin.people.models import Identity, Person
from fangpin.policy.registry import Pack
from fangpin.warnings.bulk import copy_rows

CHUNK = 200_000  # person-years per transaction: a county's year in one, bounded beyond


@dataclass
class RunSummary:
    run: ResettleRun
    notices: list[Notice] = field(default_factory=list)
    overpaid: list[Overpaid] = field(default_factory=list)


def affected_keys(year: int) -> list[str]:
    """Person keys whose year may change: someone with an identity overlapping the year, or a
    claim settled with a group (the identity may since have been withdrawn)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    qn = connection.ops.quote_name
    claim, settlement, identity = (qn(m._meta.db_table) for m in (Claim, Settlement, Identity))
    # One identity must overlap the year: its own begin and its own end.
    sql = (
        f"SELECT c.person_key FROM {claim} c WHERE c.setl_date >= %s AND c.setl_date <= %s "
        f"AND c.person_id IN (SELECT i.person_id FROM {identity} i WHERE i.{qn('begin')} <= %s "
        f"AND (i.{qn('end')} IS NULL OR i.{qn('end')} >= %s)) "
        f"UNION SELECT c.person_key FROM {settlement} s JOIN {claim} c ON c.id = s.claim_id "
        f"WHERE s.kind = %s AND s.{qn('group')} <> '' AND c.setl_date >= %s "
        f"AND c.setl_date <= %s AND NOT EXISTS "
        f"(SELECT 1 FROM {settlement} x WHERE x.cancels_id = s.id)"
    )
    params = [first, last, last, first, Settlement.Kind.SETTLE.value, first, last]
    if connection.vendor != "postgresql":
        params = [connection.ops.adapt_datefield_value(p) if isinstance(p, dt.date) else p
                  for p in params]  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return sorted(r[0] for r in cur.fetchall())


def missed_benefits(pack: Pack, year: int, keys: list[str] | None = None) -> RunSummary:
    """The `fangpin missed-benefits` run: every affected person-year of `year`, CHUNK at a time
    (a county's year in one transaction)."""
    roomy_cache()
    keys = affected_keys(year) if keys is None else sorted(keys)
    run = ResettleRun.objects.create(kind=ResettleRun.Kind.MISSED, year=year, pack_id=pack.id)
    summary = RunSummary(run)
    for i in range(0, len(keys), CHUNK):
        with transaction.atomic():
            part = resettle_person_years(pack, year, keys[i : i + CHUNK], kind="missed", run=run)
        summary.notices += part.notices
        summary.overpaid += part.overpaid
    run.save()
    return summary


def resettle_person_years(
    pack: Pack,
    year: int,
    keys: list[str],
    *,
    kind: str,
    run: ResettleRun | None = None,
    locked: bool = False,
) -> RunSummary:
    """Re-settle these person-years; call inside a transaction (see the module docstring)."""
    if run is None:
        run = ResettleRun.objects.create(kind=kind, year=year, pack_id=pack.id)
    summary = RunSummary(run)
    if not keys:
        return summary
    acc_rows = read_years(keys, year) if locked else lock_years(keys, year)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    valid = read_valid(keys, first, last)
    if valid.height == 0:
        return summary
    table = valid.select(CLAIM_COLUMNS)
    sids = valid["sid"].to_numpy().astype(np.int64)
    current = _current(valid, adjustment_sums(keys, first, last))
    idents = identity_table(person_identities(table))
    result = settle_batch(pack, engine_claims(table), idents)
    new = result.claims.select(RESULT_FIELDS).to_numpy().astype(np.int64)
    diff = new - current
    changed = np.flatnonzero((diff != 0).any(axis=1))
    person_keys = table["person_key"].to_list()
    due: dict[str, int] = defaultdict(int)
    psn = RESULT_FIELDS.index("psn_part_amt")
    for i in changed.tolist():
        due[person_keys[i]] -= int(diff[i, psn])
    groups = result.claims["group"].cast(pl.String).to_list()
    claim_ids = table["id"].to_list()
    now = timezone.now()
    copy_rows(
        Adjustment,
        ("claim", "settlement", "run", *RESULT_FIELDS, "group", "created_at"),
        (
            (claim_ids[i], int(sids[i]), run.pk, *(int(x) for x in diff[i]), groups[i] or "", now)
            for i in changed.tolist()
        ),
    )
    sums.add_adjusted(
        table[changed], pl.DataFrame(diff[changed], schema=list(RESULT_FIELDS), orient="row")
    )
    person_of = dict(zip(person_keys, table["person_id"].to_list(), strict=True))
    _notices(pack, year, run, due, person_of, summary)
    _store_changed(acc_rows, result.accumulators)
    run.person_years += len(person_of)
    run.claims += valid.height
    run.adjustments += len(changed)
    run.notices += len(summary.notices)
    run.due_total += sum(v for v in due.values() if v > 0)
    run.overpaid_total += sum(-v for v in due.values() if v < 0)
    run.save()
    return summary


def _current(valid: pl.DataFrame, adjusted: pl.DataFrame) -> np.ndarray:
    """Each valid settlement's current amounts (RESULT_FIELDS): its own plus its adjustments."""
    both = valid.select("sid", *RESULT_FIELDS).join(
        adjusted, on="sid", how="left", suffix="_adj", maintain_order="left"
    )
    return (
        both.select(pl.col(f) + pl.col(f"{f}_adj").fill_null(0) for f in RESULT_FIELDS)
        .to_numpy()
        .astype(np.int64)
        .reshape(valid.height, len(RESULT_FIELDS))
    )


def _store_changed(stored: pl.DataFrame, accumulators: pl.DataFrame) -> None:
    """Set the person-years' accumulators to the re-settled year's where they differ (a row not
    stored is left alone)."""
    new = accumulators.select(pl.col("psn_no").alias("person_key"), *k.ACC_NAMES)
    both = stored.join(new, on="person_key", how="inner", suffix="_new")
    differ = both.filter(pl.any_horizontal(pl.col(n) != pl.col(f"{n}_new") for n in k.ACC_NAMES))
    store_years(differ.select("id", *(pl.col(f"{n}_new").alias(n) for n in k.ACC_NAMES)))


def _notices(
    pack: Pack,
    year: int,
    run: ResettleRun,
    due: dict[str, int],
    person_of: dict[str, int | None],
    summary: RunSummary,
) -> None:
    threshold = pack.policy_at(dt.date(year, 12, 31)).missed_notice_threshold
    townships = dict(
        Person.objects.filter(
            pk__in=[person_of[key] for key, v in due.items() if v > threshold and person_of[key]]
        ).values_list("pk", "township_id")
    )
    notices, overpaid = [], []
    for key, amount in sorted(due.items()):
        if amount > threshold:
            pid = person_of.get(key)
            notices.append(
                Notice(
                    run=run,
                    person_id=pid,
                    person_key=key,
                    year=year,
                    amount=amount,
                    township_id=townships.get(pid) if pid else None,
                )
            )
        elif amount < 0:
            overpaid.append(Overpaid(run=run, person_key=key, year=year, amount=-amount))
    summary.notices += Notice.objects.bulk_create(notices)
    summary.overpaid += Overpaid.objects.bulk_create(overpaid)


# The notice workflow (RULES §7): forward one step at a time; a dispatch may be recalled
# before the township has received it.
S = Notice.State
NEXT: dict[str, str] = {
    S.PENDING: S.DISPATCHED,
    S.DISPATCHED: S.RECEIVED,
    S.RECEIVED: S.NOTIFIED,
    S.NOTIFIED: S.PAID,
}
RECALL: dict[str, str] = {S.DISPATCHED: S.PENDING}


class BadTransition(Exception):
    """A state change the workflow does not allow; the message says which."""


def move_notice(notice: Notice, to_state: str, user=None, note: str = "") -> Notice:
    """Move a notice to its next state (or recall a dispatch), recording who and when."""
    with transaction.atomic():
        n = Notice.objects.select_for_update().get(pk=notice.pk)
        if NEXT.get(n.state) != to_state and RECALL.get(n.state) != to_state:
            raise BadTransition(f"{n.state} → {to_state} 不允许")
        NoticeEvent.objects.create(
            notice=n,
            from_state=n.state,
            to_state=to_state,
            user=user if getattr(user, "pk", None) else None,
            username=user.get_username() if getattr(user, "pk", None) else str(user or ""),
            note=note[:200],
            at=timezone.now(),
        )
        n.state = to_state
        n.save(update_fields=["state"])
    return n


def notices_frame(run: ResettleRun | None = None) -> pl.DataFrame:
    """Notices (of one run, or all) as a table for the township lists."""
    qs = Notice.objects.all() if run is None else Notice.objects.filter(run=run)
    rows = list(
        qs.order_by("township_id", "person_key").values(
            "id", "person_key", "year", "township__name", "amount", "state", "run_id"
        )
    )
    return pl.DataFrame(rows) if rows else pl.DataFrame()
