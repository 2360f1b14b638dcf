"""The statistics page (统计) and its Excel exports. Read-only: every view answers GET only,
and a leader's POST is refused (403) before it reaches one. What the sums cover is decided in
access.py; an export goes through site.xlsx, which writes its audit entry."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangpin.accounts.access import role_required
from fangpin.reports.access import STATS_ROLES, checked_township
from fangpin.reports.figures import AMOUNT_LABELS, AMOUNTS, CaseCounts, Payouts, shown_year
from fangpin.reports.statistics import Statistics, statistics
from fangpin.site.xlsx import xlsx_response

FIRST_YEAR, LAST_YEAR = 2000, 2100


def year_from(request: HttpRequest) -> int | None:
    """The `year` asked for in the query string; None when absent or not a plausible year."""
    text = (request.GET.get("year") or "").strip()
    if not text.isdigit():
        return None
    year = int(text)
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def year_choices(selected: int) -> list[int]:
    """The years a selector offers: the last five, and the one shown."""
    now = timezone.localdate().year
    return sorted({*range(now - 4, now + 1), selected}, reverse=True)


def _stats(request: HttpRequest) -> Statistics:
    year = year_from(request) or shown_year(timezone.localdate())
    township = checked_township(request.user, request.GET.get("township"))
    return statistics(request.user, year, township)


@role_required(*STATS_ROLES)
@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    from fangpin.reports.access import townships_for

    stats = _stats(request)
    context = {
        "stats": stats,
        "years": year_choices(stats.year),
        "choices": list(townships_for(request.user).values_list("code", "name")),
        "amounts": [(f, AMOUNT_LABELS[f]) for f in AMOUNTS],
        "tables": TABLES,
        "query": _query(stats),
    }
    return render(request, "reports/statistics.html", context)


def _query(stats: Statistics) -> str:
    return f"year={stats.year}" + (f"&township={stats.township}" if stats.township else "")


# --- exports ----------------------------------------------------------------------------------


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _pct(value: Any) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(str(value)) * 100).quantize(Decimal("0.01"))


ENROLLMENT_HEADERS = ["特殊人群", "已参保", "应参保", "参保率(%)"]


def _enrollment_row(first: str, r: dict) -> list:
    return [first, r["persons"], r["insured"], r["to_enroll"], _pct(r["rate"])]


def _enrollment_township(s: Statistics) -> tuple[list[str], list[list]]:
    rows = [_enrollment_row(r["township"], r) for r in s.enrollment_by_township]
    if s.enrollment_total and s.township is None:
        rows.append(_enrollment_row("合计", s.enrollment_total))
    return ["乡镇", *ENROLLMENT_HEADERS], rows


def _enrollment_group(s: Statistics) -> tuple[list[str], list[list]]:
    rows = [_enrollment_row(r["group"], r) for r in s.enrollment_by_group]
    if s.enrollment_total:
        rows.append(_enrollment_row("合计", s.enrollment_total))
    return ["类别", *ENROLLMENT_HEADERS], rows


CLAIM_HEADERS = [
    "结算笔数",
    "医疗费用(元)",
    "政策范围内费用(元)",
    *(f"{AMOUNT_LABELS[f]}(元)" for f in AMOUNTS),
    "政策范围内报销比例(%)",
]


def _claim_row(r: Payouts) -> list:
    amounts = [_yuan(r[f]) for f in AMOUNTS]
    return [r.label, r.claims, _yuan(r.medfee), _yuan(r.inscp), *amounts, _pct(r.ratio)]


def _claims_township(s: Statistics) -> tuple[list[str], list[list]]:
    rows = [_claim_row(r) for r in s.claims_by_township] + [_claim_row(s.claims_total)]
    return ["乡镇", *CLAIM_HEADERS], rows


def _claims_group(s: Statistics) -> tuple[list[str], list[list]]:
    rows = [_claim_row(r) for r in s.claims_by_group] + [_claim_row(s.claims_total)]
    return ["类别", *CLAIM_HEADERS], rows


def _warnings_township(s: Statistics) -> tuple[list[str], list[list]]:
    levels = s.cases.levels if s.cases else []

    def row(r: CaseCounts) -> list:
        return [r.label, r.total, *r.levels(levels), r.open, r.overdue, r.closed]

    rows = [row(r) for r in s.case_rows]
    if s.cases:
        rows.append(row(s.cases.total))
    return ["乡镇", "预警案件", *levels, "未办结", "其中超期", "已办结"], rows


# name in the URL -> (title, rows)
TABLES: dict[str, tuple[str, Callable[[Statistics], tuple[list[str], list[list]]]]] = {
    "enrollment-township": ("各乡镇特殊人群参保", _enrollment_township),
    "enrollment-group": ("各类别特殊人群参保", _enrollment_group),
    "claims-township": ("各乡镇三重保障支付", _claims_township),
    "claims-group": ("各类别三重保障支付", _claims_group),
    "warnings-township": ("各乡镇高额费用预警", _warnings_township),
}


@role_required(*STATS_ROLES)
@require_GET
def export(request: HttpRequest, table: str) -> HttpResponse:
    if table not in TABLES:
        raise Http404("没有这张表")
    stats = _stats(request)
    title, build = TABLES[table]
    headers, rows = build(stats)
    where = _area_name(request, stats)
    name = f"{stats.year}年{where}{title}.xlsx"
    return xlsx_response(
        name, headers, rows, request=request, obj_type="statistics", obj_id=table,
        summary=f"导出统计表 {stats.year} 年{where}{title}", sheet=title,
    )  # fmt: skip


def _area_name(request: HttpRequest, stats: Statistics) -> str:
    """Whose figures a file holds, for its name: the township asked for, the cadre's own, or
    the county's."""
    from fangpin.accounts.access import area_scope

    if stats.township_name:
        return stats.township_name
    if area_scope(request.user) is not None and stats.townships:
        return stats.townships[0][1]
    return "全县"
