"""The statistics page's tables for one year within the user's area (or one township of it):
the special population's enrollment, the claims and their payouts, the warning cases — each
by township and, where a group means something, by group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from fangpin.reports.figures import (
    NO_GROUP,
    CaseCounts,
    CaseTable,
    Payouts,
    case_counts,
    payouts,
    total_of,
)


@dataclass
class Statistics:
    year: int
    township: str | None = None  # the one township asked for, already checked
    township_name: str = ""
    townships: list[tuple[str, str]] = field(default_factory=list)  # (code, name) in code order
    run: Any = None  # the year's latest enrollment reconciliation, if any
    enrollment_by_township: list[dict] = field(default_factory=list)
    enrollment_by_group: list[dict] = field(default_factory=list)
    enrollment_total: dict | None = None
    claims_by_township: list[Payouts] = field(default_factory=list)
    claims_by_group: list[Payouts] = field(default_factory=list)
    claims_total: Payouts = field(default_factory=Payouts)
    cases: CaseTable | None = None
    case_rows: list[CaseCounts] = field(default_factory=list)


def groups_order(year: int) -> tuple[str, ...]:
    from fangpin.policy.groups import DEFAULT_ORDER
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    try:
        return load_pack(settings.FANGPIN_POLICY).policy_at(dt.date(year, 12, 31)).groups_order
    except PackError:
        return DEFAULT_ORDER


def by_township(rows: dict[str, Any], townships: list[tuple[str, str]], empty: type) -> list:
    """Every township of the area in code order (zeros where it has nothing), then the rows
    of no known township."""
    out = [rows.get(code) or empty(label=name, code=code) for code, name in townships]
    return out + [row for key, row in rows.items() if key == ""]


def by_group(rows: dict[str, Payouts], year: int) -> list[Payouts]:
    rank = {g: i for i, g in enumerate(groups_order(year))}
    return sorted(
        rows.values(), key=lambda r: (r.label == NO_GROUP, rank.get(r.label, len(rank)), r.label)
    )


def _enrollment(stats: Statistics, user: Any) -> None:
    from fangpin.enrollment.access import latest_run, run_summary

    stats.run = latest_run(stats.year)
    if stats.run is None:
        return
    summary = run_summary(user, stats.run)
    if stats.township is None:
        stats.enrollment_by_township = summary.by_township
        stats.enrollment_by_group = summary.by_group
        stats.enrollment_total = summary.total
        return
    name = stats.township_name
    stats.enrollment_by_township = [r for r in summary.by_township if r["township"] == name]
    stats.enrollment_by_group = [r for r in summary.by_township_group if r["township"] == name]
    stats.enrollment_total = (
        stats.enrollment_by_township[0] if stats.enrollment_by_township else None
    )


def statistics(
    user: Any, year: int, township: str | None = None, today: dt.date | None = None
) -> Statistics:
    """The tables for `user` (township already checked with access.checked_township)."""
    from django.utils import timezone

    from fangpin.reports.access import townships_for

    today = today or timezone.localdate()
    towns = townships_for(user)
    if township:
        towns = towns.filter(code=township)
    stats = Statistics(
        year=year, township=township, townships=list(towns.values_list("code", "name"))
    )
    if township:
        stats.township_name = stats.townships[0][1]
    _enrollment(stats, user)
    claims = payouts(user, year, by="township", township=township)
    stats.claims_by_township = by_township(claims, stats.townships, Payouts)
    stats.claims_total = total_of(claims)
    stats.claims_by_group = by_group(payouts(user, year, by="group", township=township), year)
    stats.cases = case_counts(user, year, today, township)
    stats.case_rows = by_township(stats.cases.rows, stats.townships, CaseCounts)
    return stats
