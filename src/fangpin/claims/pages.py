"""What the claims pages show, worked out from the ledger: a claim's current amounts and state,
the totals of a search, a notice's amounts due by tier, the person behind a person key.

Nothing here decides who sees what: every function takes rows or querysets already scoped by
`fangpin.claims.access`. Amounts stay integer fen; the templates and exports turn them into yuan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from fangpin.claims.forms import NO_GROUP
from fangpin.claims.models import RESULT_FIELDS, TIER_FIELDS, Adjustment, Claim, Notice, Settlement
from fangpin.claims.services import adjustment_sums, current_amounts
from fangpin.people.models import Person

# A claim's state in the list (derived, never stored; see the models' docstring).
PENDING, VALID, ADJUSTED, CANCELLED = "待结算", "有效", "已补差", "已冲销"
CHUNK = 2_000


def yuan_decimal(fen: int) -> Decimal:
    """Integer fen as an exact two-decimal amount of yuan, for a spreadsheet cell."""
    return Decimal(int(fen)).scaleb(-2)


def filter_claims(qs: QuerySet[Claim], data: dict[str, Any]) -> QuerySet[Claim]:
    """The claims matching a valid ClaimFilter's cleaned data."""
    if data.get("setl_id"):
        qs = qs.filter(setl_id=data["setl_id"])
    if data.get("person"):
        q = data["person"]
        qs = qs.filter(Q(person__name=q) | Q(person__id_no=q) | Q(psn_no=q))
    if data.get("psn"):
        p = data["psn"]
        qs = qs.filter(Q(psn_no=p) | Q(person_key=p) | Q(person__psn_no=p) | Q(person__id_no=p))
    if data.get("date_from"):
        qs = qs.filter(setl_date__gte=data["date_from"])
    if data.get("date_to"):
        qs = qs.filter(setl_date__lte=data["date_to"])
    if data.get("med_type") is not None:
        qs = qs.filter(med_type=data["med_type"])
    if data.get("institution"):
        qs = qs.filter(institution__code=data["institution"])
    if data.get("source"):
        qs = qs.filter(source=data["source"])
    if data.get("township"):
        qs = qs.filter(person__township__code=data["township"])
    if data.get("group"):
        qs = _by_group(qs, "" if data["group"] == NO_GROUP else data["group"])
    return qs


def _by_group(qs: QuerySet[Claim], group: str) -> QuerySet[Claim]:
    """Claims whose current group is `group`: the latest re-settlement's when the valid
    settlement has been adjusted, otherwise the valid settlement's own. Cancelled and unsettled
    claims have none."""
    valid = Settlement.objects.filter(
        claim=OuterRef("pk"), kind=Settlement.Kind.SETTLE, cancelled_by__isnull=True
    )
    adjusted = Adjustment.objects.filter(
        claim=OuterRef("pk"), settlement__cancelled_by__isnull=True
    ).order_by("-id")
    return qs.annotate(
        _group=Coalesce(Subquery(adjusted.values("group")[:1]), Subquery(valid.values("group")[:1]))
    ).filter(_group=group)


@dataclass
class ClaimRow:
    claim: Claim
    state: str
    amounts: dict[str, int] = field(default_factory=dict)  # current amounts; empty when pending
    group: str = ""

    @property
    def counted(self) -> bool:
        """Whether the row's amounts count in the totals (a valid settlement)."""
        return self.state in (VALID, ADJUSTED)


def claim_rows(claims: Iterable[Claim]) -> list[ClaimRow]:
    """Each claim with its latest settlement plus adjustments and its state, in a few queries."""
    claims = list(claims)
    latest: dict[int, Settlement] = {}
    for s in Settlement.objects.filter(
        claim_id__in=[c.pk for c in claims], kind=Settlement.Kind.SETTLE
    ).order_by("claim_id", "id"):
        latest[s.claim_id] = s  # the last one per claim wins
    ids = [s.pk for s in latest.values()]
    cancelled = set(
        Settlement.objects.filter(cancels_id__in=ids).values_list("cancels_id", flat=True)
    )
    sums = adjustment_sums(ids)
    groups = dict(
        Adjustment.objects.filter(settlement_id__in=list(sums))
        .order_by("settlement_id", "id")
        .values_list("settlement_id", "group")
    )  # the latest adjustment's group per settlement
    out = []
    for c in claims:
        s = latest.get(c.pk)
        if s is None:
            out.append(ClaimRow(c, PENDING))
            continue
        state = CANCELLED if s.pk in cancelled else ADJUSTED if s.pk in sums else VALID
        group = groups.get(s.pk, s.group) if state == ADJUSTED else s.group
        out.append(ClaimRow(c, state, current_amounts(s, sums.get(s.pk)), group))
    return out


def iter_claim_rows(qs: QuerySet[Claim], limit: int) -> Iterator[ClaimRow]:
    """claim_rows over a whole search, a chunk at a time (for exports)."""
    chunk: list[Claim] = []
    for c in qs[:limit].iterator(chunk_size=CHUNK):
        chunk.append(c)
        if len(chunk) == CHUNK:
            yield from claim_rows(chunk)
            chunk = []
    if chunk:
        yield from claim_rows(chunk)


TOTAL_FIELDS: tuple[str, ...] = ("medfee_sumamt", *RESULT_FIELDS)


def claim_totals(qs: QuerySet[Claim]) -> dict[str, int]:
    """Σ over the search's validly settled claims of their current amounts (fen), with the
    number of claims found and of those counted. Cancelled and unsettled claims are not summed."""
    valid = Settlement.objects.filter(
        kind=Settlement.Kind.SETTLE, cancelled_by__isnull=True, claim__in=qs.values("pk")
    )
    base = valid.aggregate(
        counted=Count("id"),
        medfee_sumamt=Sum("claim__medfee_sumamt"),
        **{f: Sum(f) for f in RESULT_FIELDS},
    )
    adj = Adjustment.objects.filter(settlement__in=valid.values("pk")).aggregate(
        **{f: Sum(f) for f in RESULT_FIELDS}
    )
    totals = {f: int(base[f] or 0) + int(adj.get(f) or 0) for f in TOTAL_FIELDS}
    totals["counted"] = base["counted"]
    totals["found"] = qs.count()
    return totals


# --- notices ----------------------------------------------------------------------------------

DUE_FIELDS: tuple[str, ...] = (*TIER_FIELDS, "hosp_part_amt")


def notice_dues(notices: Iterable[Notice]) -> dict[int, dict[str, int]]:
    """Per notice, what its run's re-settlement added to each tier (and to the hospital's part)
    for the person-year: the notice's amount due, by tier."""
    notices = list(notices)
    if not notices:
        return {}
    cond = Q()
    for n in notices:
        cond |= Q(run_id=n.run_id, claim__person_key=n.person_key, claim__setl_date__year=n.year)
    rows = (
        Adjustment.objects.filter(cond)
        .values("run_id", "claim__person_key", "claim__setl_date__year")
        .annotate(**{f"s_{f}": Sum(f) for f in DUE_FIELDS})
    )
    by_key = {
        (r["run_id"], r["claim__person_key"], r["claim__setl_date__year"]): {
            f: int(r[f"s_{f}"]) for f in DUE_FIELDS
        }
        for r in rows
    }
    empty = dict.fromkeys(DUE_FIELDS, 0)
    return {n.pk: by_key.get((n.run_id, n.person_key, n.year), empty) for n in notices}


def iter_notices(qs: QuerySet[Notice], limit: int) -> Iterator[tuple[Notice, dict[str, int]]]:
    """Notices with their dues by tier, a chunk at a time (for exports)."""
    chunk: list[Notice] = []
    for n in qs[:limit].iterator(chunk_size=CHUNK):
        chunk.append(n)
        if len(chunk) == CHUNK:
            dues = notice_dues(chunk)
            yield from ((x, dues[x.pk]) for x in chunk)
            chunk = []
    if chunk:
        dues = notice_dues(chunk)
        yield from ((x, dues[x.pk]) for x in chunk)


def last_events(notices: Iterable[Notice]) -> dict[int, Any]:
    """Each notice's latest workflow event (who moved it last, and when)."""
    from fangpin.claims.models import NoticeEvent

    out: dict[int, Any] = {}
    for e in NoticeEvent.objects.filter(notice_id__in=[n.pk for n in notices]).order_by(
        "notice_id", "at", "id"
    ):
        out[e.notice_id] = e
    return out


# --- overpaid ---------------------------------------------------------------------------------


def persons_by_key(keys: Iterable[str]) -> dict[str, Person]:
    """The ledger person behind each person key (a psn_no, or an ID number when the person has
    none; see Claim.person_key). Keys of people not in the ledger are left out."""
    keys = sorted(set(keys))
    out: dict[str, Person] = {}
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
        for p in Person.objects.filter(Q(psn_no__in=part) | Q(id_no__in=part)).select_related(
            "township"
        ):
            for k in (p.psn_no, p.id_no):
                if k in part:
                    out.setdefault(k, p)
    return out


_FIELD = re.compile(r"^([a-z_][a-z0-9_]*):")


def reject_fields(reason: str) -> str:
    """The fields a reject's reason names ("setl_date: not a date; med_type: unknown code")."""
    names = [m.group(1) for part in reason.split("; ") if (m := _FIELD.match(part.strip()))]
    return "、".join(dict.fromkeys(names))
