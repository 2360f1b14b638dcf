"""Figures for the home page, within the user's area, for one year (`figures.shown_year`
unless asked): the region pack in use, the special population and its enrollment rate, the year's
three-tier payouts and policy-scope ratio, open warnings by colour, overdue cases, open
missed-benefit notices; and for county-wide roles, accounts, logins and the charts.

The sums themselves are in `fangpin.reports.figures` (GROUP BY queries); this module only
arranges them into cards and chart specifications for chart.js.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from fangpin.accounts.access import area_scope, role_of
from fangpin.accounts.roles import ALL_ROLES, Role

# Roles that see county-wide figures and charts on the home page.
DASHBOARD_ROLES = frozenset({Role.LEADER, Role.COUNTY, Role.ADMIN})


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str = ""
    key: str = ""  # names the card on the page (data-testid="fig-<key>")


@dataclass(frozen=True)
class PackInfo:
    id: str
    name: str
    region: str
    seed: str | None
    error: str = ""


@dataclass
class Dashboard:
    pack: PackInfo
    year: int = 0
    figures: list[Figure] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    county_wide: bool = False
    statistics: bool = False  # the user's role reads payouts and warnings
    cases: Any = None  # the year's figures.CaseTable, once counted (cards and charts share it)


def pack_in_use() -> PackInfo:
    """The county's region pack (settings.FANGPIN_POLICY); a broken pack is shown, not raised,
    so the home page still opens and says what is wrong."""
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    pack_id = settings.FANGPIN_POLICY
    try:
        pack = load_pack(pack_id)
    except PackError as exc:
        return PackInfo(pack_id, pack_id, "", None, error=str(exc))
    return PackInfo(pack.id, pack.name, pack.region, pack.seed)


def user_counts() -> dict[str, int]:
    """Active accounts per role, every role present (0 when none)."""
    rows = (
        get_user_model()
        .objects.filter(is_active=True, profile__isnull=False)
        .values("profile__role")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(ALL_ROLES, 0)
    for row in rows:
        counts[row["profile__role"]] = row["n"]
    return counts


def login_activity(
    days: int = 14, today: dt.date | None = None
) -> tuple[list[str], list[int], list[int]]:
    """(day labels, successful logins, failed logins) for the last `days` days."""
    from fangpin import audit
    from fangpin.audit.models import AuditEntry

    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    rows = (
        AuditEntry.objects.filter(at__gte=start, action__in=[audit.LOGIN, audit.LOGIN_FAILED])
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            ok=Count("id", filter=Q(action=audit.LOGIN)),
            failed=Count("id", filter=Q(action=audit.LOGIN_FAILED)),
        )
    )
    by_day = {r["day"]: (r["ok"], r["failed"]) for r in rows}
    labels, ok, failed = [], [], []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        labels.append(f"{day.month}/{day.day}")
        o, f = by_day.get(day, (0, 0))
        ok.append(o)
        failed.append(f)
    return labels, ok, failed


def dashboard(user: Any, today: dt.date | None = None, year: int | None = None) -> Dashboard:
    """The home page's figures for `user`, within the user's area, for `year` (default:
    `figures.shown_year`; the enrollment rate is then the latest reconciliation's, whatever its
    year)."""
    from fangpin.reports.access import may_see_statistics
    from fangpin.reports.cards import claims_figures, warning_figures
    from fangpin.reports.charts import payout_and_warning_charts
    from fangpin.reports.figures import shown_year

    role = role_of(user)
    scope = area_scope(user)  # None: the county; else the township the figures are limited to
    today = today or timezone.localdate()
    board = Dashboard(
        pack=pack_in_use(),
        year=year or shown_year(today),
        county_wide=role in DASHBOARD_ROLES,
        statistics=may_see_statistics(user),
    )
    where = "本乡镇" if scope else "全县"
    on = today if board.year >= today.year else dt.date(board.year, 12, 31)
    # People ledger: the special population by group; department lists past their tagging deadline.
    people_figures(board, user, where, on)
    # Enrollment: the special population's rate at the latest reconciliation; open items.
    enrollment_figures(board, user, where, year)
    if board.statistics:
        claims_figures(board, user, where)
        warning_figures(board, user, where, today)
    if not board.county_wide:
        return board
    payout_and_warning_charts(board, user, today)

    counts = user_counts()
    board.figures.insert(
        0,
        Figure(
            "在用账户", str(sum(counts.values())), "、".join(f"{r} {n}" for r, n in counts.items())
        ),
    )
    board.charts.append(
        {
            "id": "chart-users",
            "type": "bar",
            "title": "各角色账户数",
            "unit": "人",
            "labels": list(counts),
            "series": [{"name": "账户", "values": list(counts.values())}],
        }
    )
    labels, ok, failed = login_activity(today=today)
    board.charts.append(
        {
            "id": "chart-logins",
            "type": "line",
            "title": "近 14 天登录次数",
            "unit": "次",
            "labels": labels,
            "series": [{"name": "成功登录", "values": ok}],
        }
    )
    board.charts.append(
        {
            "id": "chart-login-outcomes",
            "type": "stacked",
            "title": "近 14 天登录结果",
            "unit": "次",
            "labels": labels,
            "series": [{"name": "成功", "values": ok}, {"name": "失败", "values": failed}],
        }
    )
    return board


# --- figures from the people ledger and enrollment monitoring ----------------------------------


def _groups_order(on: dt.date) -> tuple[str, ...]:
    from fangpin.policy.groups import DEFAULT_ORDER
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    try:
        return load_pack(settings.FANGPIN_POLICY).policy_at(on).groups_order
    except PackError:
        return DEFAULT_ORDER


def people_figures(board: Dashboard, user: Any, where: str, today: dt.date) -> None:
    """特殊人群在册 (persons with an identity active today, by their first group) and, for those
    who see department lists, the lists not tagged by their deadline."""
    from fangpin.people.access import UPLOAD_LIST_ROLES, special_population, visible_uploads
    from fangpin.people.services import overdue_uploads

    counts = special_population(user, today, _groups_order(today))
    total = sum(counts.values())
    note = "、".join(f"{g} {n}" for g, n in counts.items() if n) or "台账中暂无特殊人群"
    board.figures.append(Figure(f"{where}特殊人群在册", f"{total:,}", note))
    if role_of(user) in UPLOAD_LIST_ROLES:
        late = overdue_uploads(today).filter(pk__in=visible_uploads(user).values("pk")).count()
        board.figures.append(
            Figure("逾期未标识名单", str(late), "部门推送名单应在 5 个工作日内完成标识")
        )
    if board.county_wide and total:
        shown = {g: n for g, n in counts.items() if n}
        board.charts.append(
            {
                "id": "chart-special-groups",
                "type": "bar",
                "title": "特殊人群分类人数",
                "unit": "人",
                "labels": list(shown),
                "series": [{"name": "人数", "values": list(shown.values())}],
            }
        )


def enrollment_figures(board: Dashboard, user: Any, where: str, year: int | None = None) -> None:
    """参保率 of the special population at the latest reconciliation (of `year` when given)
    within the user's area, the open un-enrolled items and, for the county, each township's."""
    from fangpin.enrollment.access import latest_run, open_item_count, run_summary
    from fangpin.site.templatetags.fangpin_tags import percent

    run = latest_run(year)
    if run is None:
        board.figures.append(
            Figure(f"{where}参保率", "—", "尚未运行参保核对", key="enrollment-rate")
        )
        board.figures.append(Figure(f"{where}未参保待清零", str(open_item_count(user)), ""))
        return
    summary = run_summary(user, run)
    rate = summary.total["rate"] if summary.total else None
    board.figures.append(
        Figure(
            f"{where}参保率",
            percent(rate),
            f"{run.year} 年度特殊人群，{run.as_of} 核对",
            key="enrollment-rate",
        )
    )
    board.figures.append(
        Figure(
            f"{where}未参保待清零",
            str(open_item_count(user, run.year)),
            f"{run.year} 年度推送乡镇、尚未清零的人数",
        )
    )
    if board.county_wide and summary.by_township:
        towns = summary.by_township
        board.charts.append(
            {
                "id": "chart-enrollment-rate",
                "type": "bar",
                "title": f"{run.year} 年度各乡镇特殊人群参保率",
                "unit": "%",
                "labels": [r["township"] for r in towns],
                "series": [
                    {
                        "name": "参保率",
                        "values": [
                            round(100 * r["rate"], 2) if r["rate"] is not None else 0 for r in towns
                        ],
                    }
                ],
            }
        )
