"""The audit page for 系统管理员: filter by user, action and date; page through; export."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangpin import audit
from fangpin.accounts.access import role_required
from fangpin.accounts.roles import Role
from fangpin.audit.models import AuditEntry
from fangpin.site.xlsx import xlsx_response

PAGE_SIZE = 50
# An xlsx sheet holds 1,048,576 rows; one export stays under that with room for the header.
EXPORT_LIMIT = 1_000_000


class AuditFilter(forms.Form):
    user = forms.CharField(label="用户名", required=False, max_length=150)
    action = forms.ChoiceField(
        label="操作", required=False, choices=[("", "全部"), *audit.ACTIONS.items()]
    )
    start = forms.DateField(
        label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered(form: AuditFilter) -> QuerySet:
    """Entries matching the form (all entries while the form is invalid or empty)."""
    qs = AuditEntry.objects.all()
    if not form.is_valid():
        return qs
    data = form.cleaned_data
    if data["user"]:
        qs = qs.filter(username=data["user"].strip())
    if data["action"]:
        qs = qs.filter(action=data["action"])
    # Dates are the bureau's local days; the end date is included whole.
    if data["start"]:
        qs = qs.filter(at__gte=_day_start(data["start"]))
    if data["end"]:
        qs = qs.filter(at__lt=_day_start(data["end"] + dt.timedelta(days=1)))
    return qs


def _describe(form: AuditFilter) -> str:
    if not form.is_valid():
        return "全部"
    d = form.cleaned_data
    parts = [
        f"用户 {d['user']}" if d["user"] else "",
        f"操作 {audit.ACTIONS[d['action']]}" if d["action"] else "",
        f"自 {d['start']}" if d["start"] else "",
        f"至 {d['end']}" if d["end"] else "",
    ]
    return "，".join(p for p in parts if p) or "全部"


@role_required(Role.ADMIN)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    qs = filtered(form)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    # Reading the trail is itself recorded: who looked at whose activity is worth knowing.
    audit.record(
        request, audit.VIEW, "audit", "", f"查看审计日志（{_describe(form)}，第 {page.number} 页）"
    )
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query, "total": page.paginator.count},
    )


@role_required(Role.ADMIN)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    qs = filtered(form)[:EXPORT_LIMIT]
    rows = (
        (
            e.at,
            e.username,
            e.role,
            audit.ACTIONS.get(e.action, e.action),
            e.obj_type,
            e.obj_id,
            e.summary,
            e.ip_address,
            e.user_agent,
        )
        for e in qs.iterator(chunk_size=2000)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return xlsx_response(
        f"审计日志-{stamp}.xlsx",
        ["时间", "用户名", "角色", "操作", "对象类型", "对象编号", "摘要", "IP 地址", "浏览器"],
        rows,
        request=request,
        obj_type="audit",
        summary=f"导出审计日志（{_describe(form)}）",
        sheet="审计日志",
    )
