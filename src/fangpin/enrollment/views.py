"""Pages of enrollment monitoring (RULES §5): a run's figures by township and group, the
un-enrolled list with the townships' feedback, the newborn list, and their Excel exports.
Which rows a user sees is decided in access.py, never here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from fangpin import audit
from fangpin.accounts.access import mask_id, role_required
from fangpin.enrollment.access import (
    ITEM_ROLES,
    RUN_ROLES,
    STATS_ROLES,
    Summary,
    get_run_for_user,
    get_unenrolled_for_user,
    may_run,
    may_write_items,
    run_summary,
    townships_for,
    visible_enrollments,
    visible_newborns,
    visible_runs,
    visible_unenrolled,
    with_feedback,
)
from fangpin.enrollment.forms import FeedbackForm, ItemFilter, RunForm
from fangpin.enrollment.models import ReconciliationRun, UnenrolledItem
from fangpin.enrollment.reconcile import STATUSES
from fangpin.site.xlsx import xlsx_response

PAGE_SIZE = 50
EXPORT_LIMIT = 1_000_000


def _query(request: HttpRequest) -> str:
    return urlencode({k: v for k, v in request.GET.items() if k != "page" and v})


def _rate_value(rate: float | None) -> float:
    return round(100 * rate, 2) if rate is not None else 0


# --- the run's figures ------------------------------------------------------------------------


def _selected_run(request: HttpRequest) -> ReconciliationRun | None:
    if request.GET.get("run"):
        return get_run_for_user(request.user, request.GET["run"])
    return visible_runs(request.user).first()


def summary_charts(summary: Summary) -> list[dict[str, Any]]:
    """Charts for chart.js: the rate and the statuses per township, the rate per group."""
    towns = summary.by_township
    if not towns:
        return []
    labels = [r["township"] for r in towns]
    present = [s for s in STATUSES if any(r[s] for r in towns)]
    groups = summary.by_group
    return [
        {
            "id": "chart-rate-township", "type": "bar", "title": "各乡镇特殊人群参保率", "unit": "%",
            "labels": labels, "series": [{"name": "参保率", "values": [_rate_value(r["rate"]) for r in towns]}],
        },
        {
            "id": "chart-status-township", "type": "stacked", "title": "各乡镇参保状态", "unit": "人",
            "labels": labels, "series": [{"name": s, "values": [r[s] for r in towns]} for s in present],
        },
        {
            "id": "chart-rate-group", "type": "bar", "title": "各类别参保率", "unit": "%",
            "labels": [r["group"] for r in groups],
            "series": [{"name": "参保率", "values": [_rate_value(r["rate"]) for r in groups]}],
        },
    ]  # fmt: skip


@role_required(*STATS_ROLES)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    run = _selected_run(request)
    summary = run_summary(request.user, run) if run else Summary()
    context = {
        "run": run,
        "runs": visible_runs(request.user)[:24],
        "summary": summary,
        "statuses": STATUSES,
        "charts": summary_charts(summary),
        "run_form": RunForm() if may_run(request.user) else None,
    }
    return render(request, "enrollment/overview.html", context)


@role_required(*RUN_ROLES)
@require_POST
def run_create(request: HttpRequest) -> HttpResponse:
    """Reconcile the special population now (the monthly check; re-running a month updates it)."""
    from fangpin.enrollment.services import run_reconciliation
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "核对参数有误：" + "；".join(e for errs in form.errors.values() for e in errs)
        )
        return redirect("enrollment:overview")
    year, on = form.cleaned_data["year"], form.cleaned_data["on"]
    try:
        policy = load_pack(settings.FANGPIN_POLICY).policy_at(on)
    except PackError as exc:
        messages.error(request, f"在用政策包有误，无法核对：{exc}")
        return redirect("enrollment:overview")
    result = run_reconciliation(year, on, policy, user=request.user)  # audited by the service
    messages.success(
        request,
        f"{year} 年度参保核对完成（核对日期 {on:%Y-%m-%d}）：特殊人群 {result.run.persons} 人，"
        f"新推送未参保 {result.opened} 人，清零 {result.closed} 人，待清零 {result.unenrolled.height} 人。",
    )
    return redirect(f"{reverse('enrollment:overview')}?run={result.run.pk}")


@role_required(*STATS_ROLES)
@require_GET
def summary_export(request: HttpRequest) -> HttpResponse:
    run = _selected_run(request)
    summary = run_summary(request.user, run) if run else Summary()
    headers = ["乡镇", "类别", "人数", *STATUSES, "已参保", "应参保", "参保率(%)"]

    def row(r: dict, township: str, group: str) -> list:
        rate = round(100 * r["rate"], 2) if r["rate"] is not None else None
        return [
            township,
            group,
            r["persons"],
            *(r[s] for s in STATUSES),
            r["insured"],
            r["to_enroll"],
            rate,
        ]

    rows = [row(r, r["township"], "全部") for r in summary.by_township]
    rows += [row(r, r["township"], r["group"]) for r in summary.by_township_group]
    if summary.total:
        rows.append(row(summary.total, "合计", "全部"))
    name = f"参保核对-{run.year}-{run.month:%Y%m}.xlsx" if run else "参保核对.xlsx"
    return xlsx_response(
        name, headers, rows, request=request, obj_type="enrollment_summary",
        obj_id=run.pk if run else "", summary="导出参保核对统计", sheet="参保核对",
    )  # fmt: skip


# --- un-enrolled list ---------------------------------------------------------------------------


def _item_filter(
    request: HttpRequest, qs: QuerySet, *, with_year: bool = True
) -> tuple[QuerySet, ItemFilter]:
    years = sorted(set(qs.values_list("year", flat=True)), reverse=True) if with_year else []
    townships = [(a.code, a.name) for a in townships_for(request.user)]
    filt = ItemFilter(request.GET or None, years=years, townships=townships)
    year = filt.value("year", years[0] if years else None)
    if year is not None:
        qs = qs.filter(year=year)
    if filt.value("township"):
        qs = qs.filter(township__code=filt.value("township"))
    state = filt.state_filter()
    if state:
        qs = qs.filter(state=state)
    return qs, filt


def _unenrolled(request: HttpRequest) -> tuple[QuerySet[UnenrolledItem], ItemFilter]:
    qs, filt = _item_filter(request, visible_unenrolled(request.user))
    if filt.value("group"):
        qs = qs.filter(group=filt.value("group"))
    if filt.value("q"):
        qs = qs.filter(person__name__contains=filt.value("q").strip())
    qs = qs.select_related("person", "person__village", "township")
    return qs.order_by("township__code", "person__village__name", "person__name", "pk"), filt


@role_required(*ITEM_ROLES)
@require_GET
def unenrolled_list(request: HttpRequest) -> HttpResponse:
    qs, filt = _unenrolled(request)
    page = Paginator(with_feedback(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"item": i, "latest": next(iter(i.feedback.all()), None)} for i in page]
    context = {
        "filter": filt,
        "page": page,
        "rows": rows,
        "query": _query(request),
        "may_write": may_write_items(request.user),
        "feedback_form": FeedbackForm(),
        "here": request.get_full_path(),
    }
    return render(request, "enrollment/unenrolled.html", context)


@role_required(*ITEM_ROLES)
@require_GET
def unenrolled_export(request: HttpRequest) -> HttpResponse:
    qs, _filt = _unenrolled(request)
    user = request.user

    def rows():
        for i in with_feedback(qs[:EXPORT_LIMIT]).iterator(chunk_size=2_000):
            f = next(iter(i.feedback.all()), None)
            p = i.person
            yield (
                i.township.name if i.township else "", p.village.name if p.village else "", p.name,
                mask_id(p.id_no, user), i.group, i.year, f"{i.month:%Y-%m}", i.get_state_display(),
                i.closed_on, i.closed_status, f.finding if f else "", f.note if f else "",
                f.created_at if f else None,
            )  # fmt: skip

    headers = [
        "乡镇", "村", "姓名", "身份证号", "类别", "年度", "推送月份", "状态", "清零日期",
        "清零时状态", "核查情况", "说明", "反馈时间",
    ]  # fmt: skip
    return xlsx_response(
        f"未参保人员名单-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), request=request,
        obj_type="unenrolled_list", summary="导出未参保人员名单", sheet="未参保人员",
    )  # fmt: skip


def _detail_context(request: HttpRequest, item: UnenrolledItem, form: FeedbackForm) -> dict:
    return {
        "item": item,
        "history": item.feedback.select_related("created_by"),
        "form": form,
        "may_write": may_write_items(request.user),
    }


@role_required(*ITEM_ROLES)
@require_GET
def unenrolled_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_unenrolled_for_user(request.user, pk)
    audit.record(request, audit.VIEW, "unenrolled_item", item.pk, "查看未参保核查记录")
    return render(
        request, "enrollment/unenrolled_detail.html", _detail_context(request, item, FeedbackForm())
    )


@role_required(*ITEM_ROLES)
@require_POST
def unenrolled_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """A township's feedback on one item; it is recorded, the item stays as reconciliation left it."""
    item = get_unenrolled_for_user(request.user, pk, write=True)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, item, form)
        return render(request, "enrollment/unenrolled_detail.html", context, status=400)
    fb = form.save(commit=False)
    fb.item, fb.created_by = item, request.user
    fb.save()
    audit.record(
        request, audit.CHANGE, "unenrolled_item", item.pk,
        f"未参保核查反馈：{fb.finding}" + (f"（{fb.note[:100]}）" if fb.note else ""),
    )  # fmt: skip
    messages.success(request, f"已记录 {item.person.name} 的核查情况：{fb.finding}。")
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect("enrollment:unenrolled_item", pk=item.pk)


# --- newborns -----------------------------------------------------------------------------------


def _newborns(request: HttpRequest):
    qs, filt = _item_filter(request, visible_newborns(request.user), with_year=False)
    if filt.value("q"):
        qs = qs.filter(name__contains=filt.value("q").strip())
    return qs.select_related("township").order_by("township__code", "birth_date", "pk"), filt


@role_required(*ITEM_ROLES)
@require_GET
def newborns(request: HttpRequest) -> HttpResponse:
    qs, filt = _newborns(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filt, "page": page, "query": _query(request)}
    return render(request, "enrollment/newborns.html", context)


@role_required(*ITEM_ROLES)
@require_GET
def newborns_export(request: HttpRequest) -> HttpResponse:
    qs, _filt = _newborns(request)
    user = request.user
    rows = (
        (
            n.township.name if n.township else n.township_text, n.name, mask_id(n.id_no, user),
            n.birth_date, n.due_date, f"{n.month:%Y-%m}", n.get_state_display(), n.closed_on,
        )
        for n in qs[:EXPORT_LIMIT].iterator(chunk_size=2_000)
    )  # fmt: skip
    headers = [
        "乡镇",
        "姓名",
        "身份证号/人员编号",
        "出生日期",
        "应参保日期",
        "推送月份",
        "状态",
        "清零日期",
    ]
    return xlsx_response(
        f"未参保新生儿名单-{timezone.localdate():%Y%m%d}.xlsx", headers, rows, request=request,
        obj_type="newborn_list", summary="导出未参保新生儿名单", sheet="未参保新生儿",
    )  # fmt: skip


# --- the person file's panel ----------------------------------------------------------------------


def person_panel(request: HttpRequest, person: Any) -> dict[str, Any] | None:
    """Enrollment records by year with their subsidies, and the person's un-enrolled items, for
    the person file (registered in EnrollmentConfig.ready)."""
    records = (
        visible_enrollments(request.user).filter(person=person).order_by("-year", "paid_date", "pk")
    )
    years: dict[int, dict[str, Any]] = {}
    for r in records:
        y = years.setdefault(r.year, {"year": r.year, "records": [], "subsidy": 0})
        y["records"].append(r)
        y["subsidy"] += r.subsidy
    items = with_feedback(visible_unenrolled(request.user).filter(person=person)).order_by(
        "-year", "-month"
    )
    return {
        "years": list(years.values()),
        "items": [{"item": i, "latest": next(iter(i.feedback.all()), None)} for i in items],
    }
