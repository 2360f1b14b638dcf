"""Pages of the warning follow-up: the worklist (overdue first), a case with its forms, the runs.

Views stay thin: what a user may see comes from `access`, every change goes through
`services`, and every view of a full record, photo or list is audited.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from fangpin import audit
from fangpin.accounts.access import is_read_only, mask_id, role_required
from fangpin.accounts.roles import Role
from fangpin.site.xlsx import XLSX_TYPE
from fangpin.warnings import lists, services
from fangpin.warnings.access import (
    CASE_ROLES,
    RUN_ROLES,
    get_case_for_user,
    visible_cases,
    visible_runs,
)
from fangpin.warnings.forms import CloseForm, FeedbackForm, MeasureForm, VisitForm
from fangpin.warnings.models import State

PAGE_SIZE = 50


class WorklistFilter(forms.Form):
    state = forms.ChoiceField(
        label="状态", required=False, choices=[("open", "未办结"), ("", "全部"), *State.choices]
    )
    level = forms.CharField(label="等级", required=False, max_length=16)
    overdue = forms.BooleanField(label="只看超期", required=False)


@role_required(*CASE_ROLES)
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    """The township's cases: overdue first, then by deadline."""
    form = WorklistFilter(request.GET or {"state": "open"})
    today = timezone.localdate()
    qs = visible_cases(request.user).select_related("person", "township", "village")
    if form.is_valid():
        d = form.cleaned_data
        if d["state"] == "open":
            qs = qs.exclude(state=State.CLOSED)
        elif d["state"]:
            qs = qs.filter(state=d["state"])
        if d["level"]:
            qs = qs.filter(level=d["level"].strip())
        if d["overdue"]:
            qs = services.overdue(qs, today)
    qs = services.with_overdue(qs, today)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"case": c, "id_no": mask_id(c.person.id_no if c.person else c.psn_no, request.user)}
        for c in page
    ]
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    audit.record(request, audit.VIEW, "warning_case", "", f"查看预警工作台（第 {page.number} 页）")
    return render(request, "warnings/worklist.html", {"form": form, "page": page, "rows": rows, "query": query,
                                                       "total": page.paginator.count, "today": today})  # fmt: skip


ACTIONS = {"visit": VisitForm, "measure": MeasureForm, "feedback": FeedbackForm, "close": CloseForm}


def _apply(request: HttpRequest, case, action: str, form: forms.Form) -> None:
    d, user = form.cleaned_data, request.user
    if action == "visit":
        services.record_visit(case, date=d["date"], finding=d["finding"], visitor=d["visitor"], note=d["note"],
                              photo=d["photo"], user=user)  # fmt: skip
    elif action == "measure":
        services.add_measure(
            case, kind=d["kind"], date=d["date"], amount=d["amount"], note=d["note"], user=user
        )
    elif action == "feedback":
        services.add_feedback(case, text=d["text"], date=d["date"], user=user)
    elif action == "close":
        services.close_case(case, feedback=d["feedback"] or None, user=user)


@role_required(*CASE_ROLES)
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request.user, pk, write=request.method == "POST")
    bound: dict[str, forms.Form] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            raise Http404("未知操作")
        form = ACTIONS[action](request.POST, request.FILES)
        if form.is_valid():
            try:
                _apply(request, case, action, form)
            except services.CaseError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "已保存")
                return redirect("warnings:case", pk=case.pk)
        bound[action] = form
    forms_ = {name: bound.get(name) or cls() for name, cls in ACTIONS.items()}
    today = timezone.localdate()
    audit.record(
        request, audit.VIEW, "warning_case", case.pk, f"查看预警案件 {mask_id(case.psn_no)}"
    )
    return render(
        request,
        "warnings/case.html",
        {
            "case": case,
            "id_no": mask_id(case.person.id_no if case.person else case.psn_no, request.user),
            "forms": forms_,
            "can_write": not is_read_only(request.user) and case.is_open,
            "overdue_days": services.overdue_working_days(case, today),
            "events": case.events.order_by("at", "id"),
            "visits": case.visits.all(),
            "measures": case.measures.all(),
            "feedback": case.feedback.all(),
            "flags": case.flags.select_related("run").order_by("-run__date", "-run__pk"),
        },
    )


@role_required(*CASE_ROLES)
@require_GET
def visit_photo(request: HttpRequest, pk: int, visit_pk: int) -> HttpResponse:
    case = get_case_for_user(request.user, pk)
    visit = case.visits.filter(pk=visit_pk).first()
    if visit is None or not visit.form_photo:
        raise Http404("未找到")
    audit.record(
        request, audit.VIEW, "warning_case", case.pk, f"查看 {visit.date.isoformat()} 核查表照片"
    )
    kind = "image/png" if visit.form_photo.name.endswith(".png") else "image/jpeg"
    return FileResponse(visit.form_photo.open("rb"), content_type=kind)


@role_required(*RUN_ROLES)
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    page = Paginator(visible_runs(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    full_ids = request.user.profile.role in (Role.COUNTY, Role.ADMIN)
    return render(request, "warnings/runs.html", {"page": page, "departments": lists.DEPARTMENTS,
                                                   "can_export": full_ids, "query": ""})  # fmt: skip


@role_required(Role.COUNTY, Role.ADMIN)
@require_GET
def run_list_xlsx(request: HttpRequest, pk: int, department: str) -> HttpResponse:
    """A run's official list for a department (whole ID numbers: county officers only)."""
    run = visible_runs(request.user).filter(pk=pk).first()
    if run is None or department not in lists.DEPARTMENTS:
        raise Http404("未找到")
    data = lists.department_list(run, department, user=request.user)
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = _attachment(lists.file_name(run, department))
    return response


def _attachment(name: str) -> str:
    from urllib.parse import quote

    # RFC 6266: an ASCII fallback, and the Chinese name for browsers that read filename*.
    return f"attachment; filename=\"warnings.xlsx\"; filename*=UTF-8''{quote(name)}"
