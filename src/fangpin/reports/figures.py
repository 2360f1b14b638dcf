"""Sums for the dashboard and the statistics page, each one GROUP BY query in the database.

Payouts use a claim's *current* amounts (RULES §3 "Figures derived"): its valid settlement
(cancelled claims count nothing) plus the adjustments (补差) made against that settlement. The
two are summed by separate queries grouped the same way and added here, group by group, so no
claim row ever travels to Python. The policy-scope amount belongs to the claim and is counted
once per valid settlement; an adjustment never changes it.

A claim's group for the tables is its current group: the group of the latest adjustment made
against its settlement when there is one (a re-settlement after an identity became known),
otherwise the settlement's own. Money is integer fen; ratios are exact Decimals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractMonth

from fangpin.claims.models import RESULT_FIELDS
from fangpin.reports.access import (
    NO_TOWNSHIP,
    valid_adjustments,
    valid_settlements,
    year_cases,
    year_notices,
)


def shown_year(today: dt.date) -> int:
    """The year the dashboard and the statistics show unless asked: this year once it has a
    settled claim or a screening run, else the latest earlier year that has (in January, before
    the new year's first claim, the bureau still looks at last year; a county whose ledger holds
    an earlier year shows that year rather than a page of zeros), else this year."""
    from fangpin.claims.models import YearSum
    from fangpin.warnings.models import ScreeningRun

    found = [
        model.objects.filter(year__lte=today.year).aggregate(last=Max("year"))["last"]
        for model in (YearSum, ScreeningRun)
    ]
    return max((y for y in found if y), default=today.year)


AMOUNTS: tuple[str, ...] = RESULT_FIELDS  # what a settlement pays, tier by tier
AMOUNT_LABELS: dict[str, str] = {
    "hifp_pay": "基本医保",
    "hifmi_pay": "大病保险",
    "maf_pay": "医疗救助",
    "oth_pay": "倾斜救助",
    "hosp_part_amt": "医疗机构承担",
    "fund_pay_sumamt": "基金支付合计",
    "psn_part_amt": "个人负担",
}
TIERS: tuple[str, ...] = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
NO_GROUP = "普通参保居民"  # a claim settled with no special group
# 农村低收入人口: the groups the documents name when they report the three-tier ratio (seed 001:
# 86%) — 特困, 低保, 低保边缘, 返贫致贫 and 监测对象, and 因病致贫 (刚性支出困难) households.
LOW_INCOME_GROUPS: tuple[str, ...] = (
    "特困",
    "低保",
    "低保边缘",
    "返贫致贫",
    "监测对象",
    "因病致贫",
)
# Warning levels in the order a leader reads them: the three colours, then a single-level
# rule's 推送; any other level name a pack uses follows.
LEVEL_ORDER: tuple[str, ...] = ("红色", "橙色", "黄色", "推送")


def ratio(part: int, whole: int) -> Decimal | None:
    """part / whole exactly (None when there is no whole to divide by)."""
    return Decimal(part) / Decimal(whole) if whole else None


# --- payouts --------------------------------------------------------------------------------


@dataclass
class Payouts:
    """Sums over a set of claims: their number, medical fees, policy-scope amount, and each
    result field's current amount (fen)."""

    label: str = ""
    code: str = ""
    claims: int = 0
    medfee: int = 0
    inscp: int = 0
    amounts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AMOUNTS, 0))

    @property
    def fund(self) -> int:
        return self.amounts["fund_pay_sumamt"]

    @property
    def ratio(self) -> Decimal | None:
        """政策范围内报销比例: Σ fund / Σ policy-scope amount."""
        return ratio(self.fund, self.inscp)

    def __getitem__(self, name: str) -> int:
        # Templates and exports read a row's amounts by field name.
        return self.amounts[name]

    def add(self, other: Payouts) -> None:
        self.claims += other.claims
        self.medfee += other.medfee
        self.inscp += other.inscp
        for f in AMOUNTS:
            self.amounts[f] += other.amounts[f]


def _latest_adjustment_group(settlement_ref: str) -> Subquery:
    from fangpin.claims.models import Adjustment

    latest = Adjustment.objects.filter(settlement_id=OuterRef(settlement_ref)).order_by("-id")
    return Subquery(latest.values("group")[:1])


def _keys(by: str | None, *, adjustments: bool) -> dict[str, Any]:
    """The GROUP BY columns for `by` ("township", "group", "month" or None for one total)."""
    if by is None:
        return {}
    if by == "township":
        return {
            "k_code": F("claim__person__township__code"),
            "k_name": F("claim__person__township__name"),
        }
    if by == "group":
        if adjustments:
            return {"k_group": _latest_adjustment_group("settlement_id")}
        return {"k_group": Coalesce(_latest_adjustment_group("pk"), F("group"))}
    if by == "month":
        return {"k_month": ExtractMonth("claim__setl_date")}
    raise ValueError(f"unknown grouping {by!r}")


def _grouped(qs: QuerySet, keys: dict[str, Any], sums: dict[str, Any]) -> list[dict]:
    if not keys:
        return [qs.aggregate(**sums)]
    return list(qs.order_by().annotate(**keys).values(*keys).annotate(**sums))


def _key_of(row: dict, by: str | None) -> tuple[Any, str]:
    if by == "township":
        return row["k_code"] or "", row["k_name"] or NO_TOWNSHIP
    if by == "group":
        return row["k_group"] or "", row["k_group"] or NO_GROUP
    if by == "month":
        return row["k_month"], f"{row['k_month']}月"
    return "", "合计"


def payouts(
    user: Any, year: int, by: str | None = None, township: str | None = None
) -> dict[Any, Payouts]:
    """The year's payouts within the user's area, per township code, group, month (1–12), or
    one total under the key ""."""
    amount_sums = {f"s_{f}": Sum(f) for f in AMOUNTS}
    settled = _grouped(
        valid_settlements(user, year, township),
        _keys(by, adjustments=False),
        {
            "n": Count("id"),
            "medfee": Sum("claim__medfee_sumamt"),
            "inscp": Sum("claim__inscp_scp_amt"),
            **amount_sums,
        },
    )
    adjusted = _grouped(
        valid_adjustments(user, year, township), _keys(by, adjustments=True), amount_sums
    )
    out: dict[Any, Payouts] = {}
    for row in settled + adjusted:
        key, label = _key_of(row, by)
        part = Payouts(
            label=label,
            code=key if by == "township" else "",
            claims=row.get("n") or 0,
            medfee=row.get("medfee") or 0,
            inscp=row.get("inscp") or 0,
            amounts={f: int(row[f"s_{f}"] or 0) for f in AMOUNTS},
        )
        if key in out:
            out[key].add(part)
        else:
            out[key] = part
    return out


def total_of(rows: dict[Any, Payouts] | list[Payouts], label: str = "合计") -> Payouts:
    total = Payouts(label=label)
    for row in rows.values() if isinstance(rows, dict) else rows:
        total.add(row)
    return total


def low_income(rows: dict[Any, Payouts]) -> Payouts:
    """The part of by-group payouts that belongs to the low-income groups."""
    return total_of([r for k, r in rows.items() if k in LOW_INCOME_GROUPS], "农村低收入人口")


# --- warning cases --------------------------------------------------------------------------


@dataclass
class CaseCounts:
    """A township's (or the area's) cases of the year: by level, open, overdue, closed."""

    label: str = ""
    code: str = ""
    by_level: dict[str, int] = field(default_factory=dict)  # every case of the year
    open_by_level: dict[str, int] = field(default_factory=dict)
    open: int = 0
    closed: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.open + self.closed

    def levels(self, names: list[str]) -> list[int]:
        return [self.by_level.get(n, 0) for n in names]

    def open_levels(self, names: list[str]) -> list[int]:
        return [self.open_by_level.get(n, 0) for n in names]

    def add(self, other: CaseCounts) -> None:
        for k, v in other.by_level.items():
            self.by_level[k] = self.by_level.get(k, 0) + v
        for k, v in other.open_by_level.items():
            self.open_by_level[k] = self.open_by_level.get(k, 0) + v
        self.open += other.open
        self.closed += other.closed
        self.overdue += other.overdue


@dataclass
class CaseTable:
    levels: list[str]
    rows: dict[str, CaseCounts]  # by township code ("" for cases without a township)
    total: CaseCounts


def ordered_levels(found: set[str]) -> list[str]:
    known = [lv for lv in LEVEL_ORDER if lv in found]
    return known + sorted(found - set(LEVEL_ORDER))


def case_counts(user: Any, year: int, today: dt.date, township: str | None = None) -> CaseTable:
    """The year's cases within the user's area per township: two GROUP BY queries, one for the
    levels and states, one for the overdue cases (warnings.services.overdue's rule)."""
    from fangpin.warnings.models import State
    from fangpin.warnings.services import overdue

    qs = year_cases(user, year, township).order_by()
    closed = Q(state=State.CLOSED)
    rows: dict[str, CaseCounts] = {}

    def row_for(code: str | None, name: str | None) -> CaseCounts:
        code = code or ""
        if code not in rows:
            rows[code] = CaseCounts(label=name or NO_TOWNSHIP, code=code)
        return rows[code]

    found: set[str] = set()
    for r in qs.values("township__code", "township__name", "level").annotate(
        n=Count("id"), n_open=Count("id", filter=~closed), n_closed=Count("id", filter=closed)
    ):
        row = row_for(r["township__code"], r["township__name"])
        found.add(r["level"])
        row.by_level[r["level"]] = r["n"]
        row.open_by_level[r["level"]] = r["n_open"]
        row.open += r["n_open"]
        row.closed += r["n_closed"]
    late = overdue(qs, today).order_by().values("township__code", "township__name")
    for r in late.annotate(n=Count("id")):
        row_for(r["township__code"], r["township__name"]).overdue = r["n"]
    total = CaseCounts(label="合计")
    for row in rows.values():
        total.add(row)
    return CaseTable(ordered_levels(found), rows, total)


def open_notices(user: Any, year: int, township: str | None = None) -> tuple[int, int]:
    """Missed-benefit notices of the year not yet paid: (how many, amount due in fen)."""
    from fangpin.claims.models import Notice

    qs = year_notices(user, year, township).exclude(state=Notice.State.PAID)
    got = qs.aggregate(n=Count("id"), amount=Sum("amount"))
    return got["n"] or 0, int(got["amount"] or 0)
