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

import polars as pl
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fangpin.claims.ledger import claim_frame, identity_frame
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
from fangpin.claims.services import adjustment_sums, claim_dict, current_amounts, store_acc
from fangpin.engine import kernel as k
from fangpin.engine.settle import settle_batch
from fangpin.people.models import Identity, Person
from fangpin.policy.registry import Pack

CHUNK = 1_000  # person-years per transaction: bounded locks and memory for a county's year


@dataclass
class RunSummary:
    run: ResettleRun
    notices: list[Notice] = field(default_factory=list)
    overpaid: list[Overpaid] = field(default_factory=list)


def affected_keys(year: int) -> list[str]:
    """Person keys whose year may change: someone with an identity overlapping the year, or a
    claim settled with a group (the identity may since have been withdrawn)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    people = Person.objects.filter(identities__begin__lte=end).filter(
        Q(identities__end__isnull=True) | Q(identities__end__gte=start)
    )
    by_person = set(
        Claim.objects.filter(setl_date__year=year, person__in=people).values_list(
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


def _lock(keys: list[str], year: int) -> dict[str, Accumulator]:
    rows = {
        r.person_key: r
        for r in Accumulator.objects.select_for_update()
        .filter(person_key__in=keys, year=year)
        .order_by("person_key")
    }
    missing = [key for key in keys if key not in rows]
    if missing:
        # One insert for all new person-years (a concurrent run may have made some: kept),
        # then locked like the others.
        Accumulator.objects.bulk_create(
            [Accumulator(person_key=key, year=year) for key in missing],
            batch_size=2_000,
            ignore_conflicts=True,
        )
        rows.update(
            (r.person_key, r)
            for r in Accumulator.objects.select_for_update()
            .filter(person_key__in=missing, year=year)
            .order_by("person_key")
        )
    return rows


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
    acc_rows = (
        _lock(keys, year)
        if not locked
        else {r.person_key: r for r in Accumulator.objects.filter(person_key__in=keys, year=year)}
    )
    valid = list(
        Settlement.objects.filter(
            kind=Settlement.Kind.SETTLE,
            cancelled_by__isnull=True,
            claim__person_key__in=keys,
            claim__setl_date__year=year,
        ).select_related("claim")
    )
    if not valid:
        return summary
    adj = adjustment_sums([s.pk for s in valid])
    claims = [s.claim for s in valid]
    frame = claim_frame(claim_dict(c) for c in claims)
    key_of = {c.person_id: c.person_key for c in claims if c.person_id is not None}
    idents = identity_frame(
        (key_of[pid], name, group, begin, end)
        for pid, name, group, begin, end in Identity.objects.filter(
            person_id__in=list(key_of)
        ).values_list("person_id", "name", "group", "begin", "end")
    )
    result = settle_batch(pack, frame, idents)
    new_rows = result.claims.select(*k.OUT_COLUMNS).to_dicts()
    due: dict[str, int] = defaultdict(int)
    adjustments = []
    for s, new in zip(valid, new_rows, strict=True):
        cur = current_amounts(s, adj.get(s.pk))
        diff = {f: int(new[f]) - cur[f] for f in RESULT_FIELDS}
        if any(diff.values()):
            adjustments.append(
                Adjustment(claim=s.claim, settlement=s, run=run, group=new["group"] or "", **diff)
            )
            due[s.claim.person_key] -= diff["psn_part_amt"]
    Adjustment.objects.bulk_create(adjustments)
    _notices(pack, year, run, due, claims, summary)
    for row in result.accumulators.iter_rows(named=True):
        acc = acc_rows.get(row["psn_no"])
        if acc is not None:
            store_acc(acc, [row[n] for n in k.ACC_NAMES])
    run.person_years += len({c.person_key for c in claims})
    run.claims += len(claims)
    run.adjustments += len(adjustments)
    run.notices += len(summary.notices)
    run.due_total += sum(v for v in due.values() if v > 0)
    run.overpaid_total += sum(-v for v in due.values() if v < 0)
    run.save()
    return summary


def _notices(
    pack: Pack,
    year: int,
    run: ResettleRun,
    due: dict[str, int],
    claims: list[Claim],
    summary: RunSummary,
) -> None:
    threshold = pack.policy_at(dt.date(year, 12, 31)).missed_notice_threshold
    person_of = {c.person_key: c.person_id for c in claims}
    townships = dict(
        Person.objects.filter(pk__in=[p for p in person_of.values() if p]).values_list(
            "pk", "township_id"
        )
    )
    for key, amount in sorted(due.items()):
        if amount > threshold:
            pid = person_of.get(key)
            summary.notices.append(
                Notice.objects.create(
                    run=run,
                    person_id=pid,
                    person_key=key,
                    year=year,
                    amount=amount,
                    township_id=townships.get(pid) if pid else None,
                )
            )
        elif amount < 0:
            summary.overpaid.append(
                Overpaid.objects.create(run=run, person_key=key, year=year, amount=-amount)
            )


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
