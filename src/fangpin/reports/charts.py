"""The county's charts on the dashboard: payouts by month, warnings and overdue cases by
township. Each is a chart.js specification (see src/fangpin/site/static/fangpin/chart.js);
a chart with nothing to draw is left out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fangpin.reports.dashboard import Dashboard
from fangpin.reports.figures import (
    AMOUNT_LABELS,
    TIERS,
    CaseCounts,
    CaseTable,
    case_counts,
    payouts,
)
from fangpin.reports.statistics import by_township

# Colours a reader expects for the warning levels; other levels take chart.js's palette.
LEVEL_COLOURS = {"红色": "#c62828", "橙色": "#ef6c00", "黄色": "#f2b705", "推送": "#1d4e89"}


def monthly_payouts_chart(user: Any, year: int, today: dt.date) -> dict[str, Any] | None:
    """Each tier's payouts per month of `year` (to the current month in the current year)."""
    by_month = payouts(user, year, by="month")
    if not by_month:
        return None
    last = today.month if year == today.year else 12
    last = max(last, *by_month)
    months = list(range(1, last + 1))
    return {
        "id": "chart-payouts-month",
        "type": "stacked",
        "title": f"{year} 年三重保障逐月支付",
        "unit": "元",
        "format": "fen",
        "labels": [f"{m}月" for m in months],
        "series": [
            {
                "name": AMOUNT_LABELS[t],
                "values": [by_month[m][t] if m in by_month else 0 for m in months],
            }
            for t in TIERS
        ],
    }


def warning_charts(table: CaseTable, townships: list[tuple[str, str]], year: int) -> list[dict]:
    if not table.total.open:
        return []
    rows = by_township(table.rows, townships, CaseCounts)
    labels = [r.label for r in rows]
    levels = [lv for lv in table.levels if table.total.open_by_level.get(lv)]
    return [
        {
            "id": "chart-warnings-township",
            "type": "stacked",
            "title": f"{year} 年度各乡镇未办结预警（按等级）",
            "unit": "件",
            "labels": labels,
            "series": [
                {
                    "name": lv,
                    "values": [r.open_by_level.get(lv, 0) for r in rows],
                    **({"color": LEVEL_COLOURS[lv]} if lv in LEVEL_COLOURS else {}),
                }
                for lv in levels
            ],
        },
        {
            "id": "chart-overdue-township",
            "type": "bar",
            "title": f"{year} 年度各乡镇超期未核查预警",
            "unit": "件",
            "labels": labels,
            "series": [{"name": "超期", "values": [r.overdue for r in rows], "color": "#c62828"}],
        },
    ]


def payout_and_warning_charts(board: Dashboard, user: Any, today: dt.date) -> None:
    from fangpin.reports.access import townships_for

    if not board.statistics:
        return
    chart = monthly_payouts_chart(user, board.year, today)
    if chart:
        board.charts.append(chart)
    townships = list(townships_for(user).values_list("code", "name"))
    table = board.cases or case_counts(user, board.year, today)
    board.charts.extend(warning_charts(table, townships, board.year))
