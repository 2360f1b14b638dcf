"""The dashboard's cards for payouts and warnings (the sums are in `figures`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fangpin.reports.dashboard import Dashboard, Figure
from fangpin.reports.figures import (
    AMOUNT_LABELS,
    LOW_INCOME_GROUPS,
    TIERS,
    case_counts,
    low_income,
    open_notices,
    payouts,
    total_of,
)
from fangpin.site.templatetags.fangpin_tags import percent, yuan


def claims_figures(board: Dashboard, user: Any, where: str) -> None:
    """The year's three-tier payouts (current amounts), the policy-scope ratio overall and for
    the low-income groups, and the missed-benefit notices still to pay."""
    year = board.year
    by_group = payouts(user, year, by="group")
    total = total_of(by_group)
    tiers = "、".join(f"{AMOUNT_LABELS[t]} {yuan(total[t])}" for t in TIERS)
    board.figures.append(
        Figure(f"{where}{year}年基金支付（元）", yuan(total.fund), tiers, key="fund")
    )
    for t in TIERS:
        board.figures.append(
            Figure(f"{where}{year}年{AMOUNT_LABELS[t]}（元）", yuan(total[t]), key=t)
        )
    board.figures.append(
        Figure(
            f"{where}{year}年个人负担（元）",
            yuan(total["psn_part_amt"]),
            f"结算 {total.claims:,} 笔，医疗费用 {yuan(total.medfee)} 元，"
            f"医疗机构承担 {yuan(total['hosp_part_amt'])} 元",
            key="psn_part_amt",
        )
    )
    board.figures.append(
        Figure(
            f"{where}政策范围内报销比例",
            percent(total.ratio),
            f"基金支付 ÷ 政策范围内费用（{yuan(total.inscp)} 元）",
            key="ratio",
        )
    )
    poor = low_income(by_group)
    board.figures.append(
        Figure(
            f"{where}农村低收入人口报销比例",
            percent(poor.ratio),
            f"{'、'.join(LOW_INCOME_GROUPS)}，结算 {poor.claims:,} 笔",
            key="ratio-low-income",
        )
    )
    n, amount = open_notices(user, year)
    board.figures.append(
        Figure(
            f"{where}应享未享待补发",
            f"{n:,}",
            f"{year} 年度未支付的补发通知，合计 {yuan(amount)} 元",
            key="notices",
        )
    )


# The colours' cards are shown whether or not the year has cases of that colour yet.
LEVEL_KEYS = {"红色": "red", "橙色": "orange", "黄色": "yellow", "推送": "push"}
COLOURS = ("红色", "橙色", "黄色")


def warning_figures(board: Dashboard, user: Any, where: str, today: dt.date) -> None:
    """Open cases of the year by colour, the overdue ones, and those closed."""
    table = board.cases = case_counts(user, board.year, today)
    total = table.total
    levels = [*COLOURS, *(lv for lv in table.levels if lv not in COLOURS)]
    for i, level in enumerate(levels):
        board.figures.append(
            Figure(
                f"{where}{level}预警（未办结）",
                f"{total.open_by_level.get(level, 0):,}",
                f"{board.year} 年度共 {total.by_level.get(level, 0):,} 件",
                key=f"warn-{LEVEL_KEYS.get(level, f'level-{i}')}",
            )
        )
    board.figures.append(
        Figure(
            f"{where}超期未核查",
            f"{total.overdue:,}",
            "过处置时限至少一个工作日、本等级尚未入户核查",
            key="overdue",
        )
    )
    board.figures.append(
        Figure(
            f"{where}{board.year}年已办结预警",
            f"{total.closed:,}",
            f"未办结 {total.open:,} 件",
            key="closed",
        )
    )
