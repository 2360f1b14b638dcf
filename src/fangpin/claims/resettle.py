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
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from fangpin.claims import sums
from fangpin.claims.bulk import CLAIM_COLUMNS, claims_table, lock_person_years, store_person_years
from fangpin.claims.ledger import engine_claims, identity_frame
from fangpin.claims.models import (
    RESULT_FIELDS,
    Accumulator,
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

CHUNK = 5_000  # person-years per transaction: bounded locks and memory for a county's year


@dataclass
class RunSummary:
    run: ResettleRun
    notices: list[Notice] = field(default_factory=list)
    overpaid: list[Overpaid] = field(default_factory=list)


def affected_keys(year: int) -> list[str]:
    """Person keys whose year may change: someone with an identity overlapping the year, or a
    claim settled with a group (the identity may since have been withdrawn)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    # One identity must overlap the year: its own begin and its own end (two chained filters on
    # the relation would join the identities twice, pairing one identity's begin with another's
    # end, and multiply the rows the database has to look through).
    overlapping = Identity.objects.filter(
        Q(end__isnull=True) | Q(end__gte=start), begin__lte=end
    ).values("person_id")
    by_person = set(
        Claim.objects.filter(setl_date__year=year, person_id__in=overlapping).values_list(
            "person_key", flat=True
        )
    )
    grouped = set(
        Settlement.objects.filter(
            kind=Settlement.Kind.SETTLE, cancelled_by__isnull=True, claim__setl_date__year=year
        )
        .exclude(group="")
        .values_list("claim__person_key", flat=True)
    )
    return sorted(by_person | grouped)


def missed_benefits(pack: Pack, year: int, keys: list[str] | None = None) -> RunSummary:
    """The `fangpin missed-benefits` run: every affected person-year of `year`, in chunks."""
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
    acc_rows = lock_person_years(keys, year) if not locked else _unlocked(keys, year)
    valid = Settlement.objects.filter(
        kind=Settlement.Kind.SETTLE,
        cancelled_by__isnull=True,
        claim__person_key__in=keys,
        claim__setl_date__year=year,
    ).order_by("id")
    rows = list(valid.values_list("id", *RESULT_FIELDS, *(f"claim__{c}" for c in CLAIM_COLUMNS)))
    if not rows:
        return summary
    width = 1 + len(RESULT_FIELDS)
    table = claims_table([r[width:] for r in rows])
    sids = np.array([r[0] for r in rows], dtype=np.int64)
    current = np.array([r[1:width] for r in rows], dtype=np.int64)
    current += _adjustments(keys, year, sids)
    key_of = dict(table.select("person_id", "person_key").drop_nulls("person_id").iter_rows())
    idents = identity_frame(
        (key_of[pid], name, group, begin, end)
        for pid, name, group, begin, end in Identity.objects.filter(
            person_id__in=list(key_of)
        ).values_list("person_id", "name", "group", "begin", "end")
    )
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
    store_person_years(
        [
            (acc_rows[key][0], values)
            for key, *values in result.accumulators.select("psn_no", *k.ACC_NAMES).iter_rows()
            if key in acc_rows
        ]
    )
    run.person_years += len(person_of)
    run.claims += len(rows)
    run.adjustments += len(changed)
    run.notices += len(summary.notices)
    run.due_total += sum(v for v in due.values() if v > 0)
    run.overpaid_total += sum(-v for v in due.values() if v < 0)
    run.save()
    return summary


def _unlocked(keys: list[str], year: int) -> dict[str, tuple[int, np.ndarray]]:
    """The accumulator rows of person-years the caller has locked already."""
    rows = Accumulator.objects.filter(person_key__in=keys, year=year).values_list(
        "person_key", "id", *k.ACC_NAMES
    )
    return {key: (pk, np.array(values, dtype=np.int64)) for key, pk, *values in rows}


def _adjustments(keys: list[str], year: int, sids: np.ndarray) -> np.ndarray:
    """Σ earlier adjustments of each settlement in `sids` (one row of RESULT_FIELDS each)."""
    out = np.zeros((len(sids), len(RESULT_FIELDS)), dtype=np.int64)
    sums = (
        Adjustment.objects.filter(claim__person_key__in=keys, claim__setl_date__year=year)
        .values("settlement_id")
        .annotate(**{f"s_{f}": Sum(f) for f in RESULT_FIELDS})
        .values_list("settlement_id", *(f"s_{f}" for f in RESULT_FIELDS))
    )
    at = {int(s): i for i, s in enumerate(sids.tolist())}
    for sid, *values in sums:
        i = at.get(sid)
        if i is not None:
            out[i] = values
    return out


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
