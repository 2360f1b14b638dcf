"""Pages of the claims ledger: the settlement search and the printable bill, the missed-benefit
notices (应享未享) with their workflow, the overpaid review (应退复核) and the claim imports.

Views stay thin: what a user may see comes from `access`, every change goes through `services`,
and every look at a record and every export is audited.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangpin import audit
from fangpin.accounts.access import is_read_only, mask_id, role_required
from fangpin.claims import pages, services
from fangpin.claims.access import (
    CLAIM_ROLES,
    COUNTY_ROLES,
    get_claim_for_user,
    get_import_for_user,
    get_notice_for_user,
    get_overpaid_for_user,
    notice_moves_for,
    require_notice_move,
    townships_for,
    visible_claims,
    visible_imports,
    visible_notices,
    visible_overpaid,
)
from fangpin.claims.bill import explain_settlement, yuan
from fangpin.claims.forms import (
    MED_TYPE_NAME,
    ClaimFilter,
    NoticeFilter,
    NoticeMoveForm,
    OverpaidFilter,
    ReviewForm,
)
from fangpin.claims.models import Claim, ClaimImport, Notice, Overpaid
from fangpin.claims.resettle import BadTransition
from fangpin.engine.explain import KIND_NAME, LEVEL_NAME
from fangpin.site.xlsx import xlsx_response
from fangpin.units import ratio_text

PAGE_SIZE = 50
EXPORT_LIMIT = 1_000_000  # rows of one xlsx sheet, less the header
_LOOKS_LIKE_ID = re.compile(r"^[0-9Xx]{15,}$")
AMOUNT_HEADERS = ["基本医保", "大病保险", "医疗救助", "倾斜救助", "医疗机构承担"]
_d = pages.yuan_decimal


def _query(request: HttpRequest) -> str:
    return urlencode({k: v for k, v in request.GET.items() if k != "page" and v})


def _townships(request: HttpRequest) -> list[tuple[str, str]]:
    return list(townships_for(request.user).values_list("code", "name"))


def _stamp() -> str:
    return f"{timezone.localdate():%Y%m%d}"


# --- the bill ---------------------------------------------------------------------------------


@role_required(*CLAIM_ROLES)
@require_GET
def bill(request: HttpRequest, setl_id: str) -> HttpResponse:
    claim = get_claim_for_user(request.user, setl_id)
    audit.record(request, audit.VIEW, "settlement", setl_id, "查看结算单")
    try:
        o = services.outcome_for(claim)
    except services.NotFound:
        # A claim imported for the monthly batch has no bill until the batch settles it.
        context = {"claim": claim, "id_shown": _shown_id(claim, request.user)}
        return render(request, "claims/bill_pending.html", context)
    e = explain_settlement(claim, o.settlement)
    tiers = []
    for t in e.tiers:
        tiers.append(
            {
                "name": t.name,
                "code": t.fund_code,
                "applies": t.applies,
                "note": t.note,
                "tier1": t.fund_code == "390100",
                "base": yuan(t.base),
                "deductible": yuan(t.deductible),
                "cap": yuan(t.cap) or "无封顶",
                "paid_before": yuan(t.paid_before),
                "result": yuan(t.result),
                "cum_before": yuan(t.cum_before),
                "cum_after": yuan(t.cum_after),
                "f_before": yuan(t.f_before),
                "f_after": yuan(t.f_after),
                "f_diff": yuan(t.f_after - t.f_before),
                "bands": [(yuan(lo), yuan(hi), ratio_text(r)) for lo, hi, r in t.bands],
            }
        )
    person = claim.person
    context = {
        "e": e,
        "claim": claim,
        "o": o,
        "tiers": tiers,
        "kind_name": KIND_NAME[e.kind],
        "level_name": LEVEL_NAME[e.hosp_lv],
        "person_name": person.name if person else "",
        "id_shown": mask_id(person.id_no, request.user)
        if person
        else mask_id(claim.psn_no, request.user),
        "money": {
            "medfee": yuan(e.medfee),
            "fulamt": yuan(e.fulamt),
            "overlmt": yuan(e.overlmt),
            "preselfpay": yuan(e.preselfpay),
            "inscp": yuan(e.inscp),
            "hosp_part": yuan(e.hosp_part),
            "fund": yuan(e.fund),
            "psn_part": yuan(e.psn_part),
        },
        "adjustments": [
            {
                "at": a.created_at,
                "why": a.run.get_kind_display(),
                "fund": yuan(a.fund_pay_sumamt),
                "psn": yuan(a.psn_part_amt),
            }
            for a in claim.adjustments.filter(settlement=o.settlement)
            .select_related("run")
            .order_by("id")
        ],
    }
    return render(request, "claims/bill.html", context)


# --- settlement search ------------------------------------------------------------------------


def _searched(request: HttpRequest) -> tuple[QuerySet[Claim], ClaimFilter]:
    form = ClaimFilter(request.GET or None, townships=_townships(request))
    qs = visible_claims(request.user).select_related("person", "person__township", "institution")
    if form.is_bound:
        qs = pages.filter_claims(qs, form.cleaned_data) if form.is_valid() else qs.none()
    return qs.order_by("-setl_date", "-pk"), form


def _shown_id(claim: Claim, user: Any) -> str:
    return mask_id(claim.person.id_no if claim.person else claim.psn_no, user)


def _search_terms(form: ClaimFilter) -> str:
    """The search as the audit trail keeps it (ID numbers masked)."""
    if not form.is_bound or not form.is_valid():
        return ""
    terms = []
    for name, value in form.cleaned_data.items():
        if value in (None, ""):
            continue
        text = str(value)
        if name in ("person", "psn") and _LOOKS_LIKE_ID.match(text):
            text = mask_id(text)
        terms.append(f"{form.fields[name].label or name}={text}")
    return "，".join(terms)


@role_required(*CLAIM_ROLES)
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """结算查询: the claims of the user's area, filtered, with the totals of the whole search."""
    qs, form = _searched(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"row": r, "id_no": _shown_id(r.claim, request.user), "med": MED_TYPE_NAME.get(r.claim.med_type, r.claim.med_type)}
        for r in pages.claim_rows(page)
    ]  # fmt: skip
    totals = pages.claim_totals(qs)
    terms = _search_terms(form)
    audit.record(
        request, audit.VIEW, "settlement_search", "",
        f"结算查询（第 {page.number} 页，共 {totals['found']} 笔）" + (f"：{terms}" if terms else ""),
    )  # fmt: skip
    context = {"form": form, "page": page, "rows": rows, "totals": totals, "query": _query(request)}
    return render(request, "claims/search.html", context)


@role_required(*CLAIM_ROLES)
@require_GET
def search_export(request: HttpRequest) -> HttpResponse:
    qs, form = _searched(request)
    user = request.user

    def rows():
        for r in pages.iter_claim_rows(qs, EXPORT_LIMIT):
            c, a = r.claim, r.amounts
            money = [_d(a[f]) for f in pages.RESULT_FIELDS] if a else [None] * 7
            yield (
                c.setl_id, c.setl_date, c.person.name if c.person else "", _shown_id(c, user),
                c.person.township.name if c.person and c.person.township else "",
                MED_TYPE_NAME.get(c.med_type, c.med_type), c.institution.name if c.institution else "",
                c.get_source_display(), r.group or ("普通参保人员" if a else ""),
                _d(c.medfee_sumamt), *money, r.state,
            )  # fmt: skip

    headers = [
        "结算号", "结算日期", "姓名", "身份证号/人员编号", "乡镇", "医疗类别", "医疗机构", "来源",
        "适用类别", "医疗费用总额", *AMOUNT_HEADERS, "基金支付合计", "个人负担", "状态",
    ]  # fmt: skip
    terms = _search_terms(form)
    return xlsx_response(
        f"结算查询-{_stamp()}.xlsx", headers, rows(), request=request, obj_type="settlement_search",
        summary="导出结算查询" + (f"（{terms}）" if terms else ""), sheet="结算查询",
    )  # fmt: skip


# --- missed-benefit notices -------------------------------------------------------------------


def _notices(request: HttpRequest) -> tuple[QuerySet[Notice], NoticeFilter]:
    qs = visible_notices(request.user)
    years = sorted(set(qs.values_list("year", flat=True)), reverse=True)
    form = NoticeFilter(request.GET or None, townships=_townships(request), years=years)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        if d.get("state"):
            qs = qs.filter(state=d["state"])
        if d.get("year"):
            qs = qs.filter(year=d["year"])
        if d.get("township"):
            qs = qs.filter(township__code=d["township"])
    qs = qs.select_related("person", "township", "run")
    return qs.order_by("-year", "township__code", "person_key", "pk"), form


def _notice_id(n: Notice, user: Any) -> str:
    return mask_id(n.person.id_no if n.person else n.person_key, user)


@role_required(*CLAIM_ROLES)
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    """应享未享通知: the township's list (the county's, for county roles)."""
    qs, form = _notices(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    dues = pages.notice_dues(page)
    last = pages.last_events(page)
    rows = [
        {"n": n, "id_no": _notice_id(n, request.user), "due": dues[n.pk], "last": last.get(n.pk)}
        for n in page
    ]
    audit.record(
        request, audit.VIEW, "missed_notice", "", f"查看应享未享通知（第 {page.number} 页）"
    )
    context = {"form": form, "page": page, "rows": rows, "query": _query(request)}
    return render(request, "claims/notices.html", context)


@role_required(*CLAIM_ROLES)
@require_GET
def notices_export(request: HttpRequest) -> HttpResponse:
    qs, _form = _notices(request)
    user = request.user

    def rows():
        for n, due in pages.iter_notices(qs, EXPORT_LIMIT):
            yield (
                n.township.name if n.township else "", n.person.name if n.person else "",
                _notice_id(n, user), n.year, _d(n.amount), *(_d(due[f]) for f in pages.DUE_FIELDS),
                n.state, n.created_at,
            )  # fmt: skip

    headers = ["乡镇", "姓名", "身份证号/人员编号", "年度", "应补金额", *AMOUNT_HEADERS, "状态", "生成时间"]  # fmt: skip
    return xlsx_response(
        f"应享未享通知-{_stamp()}.xlsx", headers, rows(), request=request, obj_type="missed_notice",
        summary="导出应享未享通知", sheet="应享未享通知",
    )  # fmt: skip


# The workflow's steps as the buttons say them.
MOVE_LABELS: dict[tuple[str, str], str] = {
    (Notice.State.PENDING, Notice.State.DISPATCHED): "下放到乡镇",
    (Notice.State.DISPATCHED, Notice.State.PENDING): "撤回下放",
    (Notice.State.DISPATCHED, Notice.State.RECEIVED): "确认接收",
    (Notice.State.RECEIVED, Notice.State.NOTIFIED): "已通知本人",
    (Notice.State.NOTIFIED, Notice.State.PAID): "已支付到位",
}


def refused_text(state: str, to_state: str) -> str:
    """Why the workflow refuses a move, in the words of RULES §7."""
    if state == Notice.State.PAID:
        return "该通知已支付，流程已结束，不能再更改。"
    if state == to_state:
        return f"该通知已是“{state}”状态，无需重复办理。"
    if to_state == Notice.State.PENDING:
        return f"该通知已是“{state}”状态：只有乡镇接收之前（已下放时）才能撤回。"
    return (
        f"该通知当前为“{state}”，不能直接改为“{to_state}”："
        "须按 待下放 → 已下放 → 已接收 → 已通知 → 已支付 逐步办理。"
    )


def _notice_page(request: HttpRequest, n: Notice, form: NoticeMoveForm, status: int = 200):
    adjustments = (
        n.run.adjustment_rows.filter(claim__person_key=n.person_key, claim__setl_date__year=n.year)
        .select_related("claim")
        .order_by("claim__setl_date", "claim__setl_id")
    )
    moves = [
        {"to": to, "label": MOVE_LABELS.get((n.state, to), to)}
        for to in notice_moves_for(request.user, n)
    ]
    context = {
        "n": n,
        "id_no": _notice_id(n, request.user),
        "due": pages.notice_dues([n])[n.pk],
        "events": n.events.order_by("at", "id"),
        "adjustments": adjustments,
        "moves": moves,
        "form": form,
        "read_only": is_read_only(request.user),
    }
    return render(request, "claims/notice.html", context, status=status)


@role_required(*CLAIM_ROLES)
@require_http_methods(["GET", "POST"])
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    n = get_notice_for_user(request.user, pk, write=request.method == "POST")
    if request.method == "GET":
        audit.record(
            request, audit.VIEW, "missed_notice", n.pk,
            f"查看应享未享通知 {mask_id(n.person_key)} {n.year} 年度",
        )  # fmt: skip
        return _notice_page(request, n, NoticeMoveForm())
    form = NoticeMoveForm(request.POST)
    if not form.is_valid():
        return _notice_page(request, n, form, status=400)
    to_state = form.cleaned_data["to_state"]
    require_notice_move(request.user, n, to_state)
    try:
        services.change_notice(n, to_state, request, form.cleaned_data["note"])
    except BadTransition:
        n.refresh_from_db()
        form.add_error(None, refused_text(n.state, to_state))
        return _notice_page(request, n, form, status=400)
    messages.success(request, f"已办理：{to_state}。")
    return redirect("claims:notice", pk=n.pk)


# --- overpaid review --------------------------------------------------------------------------


def _overpaid(request: HttpRequest) -> tuple[QuerySet[Overpaid], OverpaidFilter]:
    qs = visible_overpaid(request.user)
    years = sorted(set(qs.values_list("year", flat=True)), reverse=True)
    form = OverpaidFilter(request.GET or None, years=years)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        if d.get("year"):
            qs = qs.filter(year=d["year"])
        if d.get("reviewed") == "yes":
            qs = qs.filter(reviewed_at__isnull=False)
        elif d.get("reviewed") == "no":
            qs = qs.filter(reviewed_at__isnull=True)
    return qs.select_related("run").order_by("reviewed_at", "-year", "person_key", "pk"), form


def _overpaid_person(row: Overpaid, persons: dict, user: Any) -> tuple[str, str, str]:
    p = persons.get(row.person_key)
    if p is None:
        return "", mask_id(row.person_key, user), ""
    return p.name, mask_id(p.id_no, user), p.township.name if p.township else ""


@role_required(*COUNTY_ROLES)
@require_GET
def overpaid(request: HttpRequest) -> HttpResponse:
    """应退复核: person-years paid more than re-settlement gives; listed, never clawed back."""
    qs, form = _overpaid(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    persons = pages.persons_by_key(o.person_key for o in page)
    rows = [{"o": o, "who": _overpaid_person(o, persons, request.user)} for o in page]
    audit.record(request, audit.VIEW, "overpaid", "", f"查看应退复核（第 {page.number} 页）")
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": _query(request),
        "may_review": not is_read_only(request.user),
        "review_form": ReviewForm(),
        "here": request.get_full_path(),
    }
    return render(request, "claims/overpaid.html", context)


@role_required(*COUNTY_ROLES)
@require_GET
def overpaid_export(request: HttpRequest) -> HttpResponse:
    qs, _form = _overpaid(request)
    user = request.user

    def rows():
        chunk: list[Overpaid] = []
        for o in qs[:EXPORT_LIMIT].iterator(chunk_size=pages.CHUNK):
            chunk.append(o)
            if len(chunk) == pages.CHUNK:
                yield from _overpaid_rows(chunk, user)
                chunk = []
        yield from _overpaid_rows(chunk, user)

    headers = ["姓名", "身份证号/人员编号", "乡镇", "年度", "应退金额", "核查时间", "复核时间", "复核人", "复核意见"]  # fmt: skip
    return xlsx_response(
        f"应退复核-{_stamp()}.xlsx", headers, rows(), request=request, obj_type="overpaid",
        summary="导出应退复核清单", sheet="应退复核",
    )  # fmt: skip


def _overpaid_rows(chunk: list[Overpaid], user: Any):
    persons = pages.persons_by_key(o.person_key for o in chunk)
    for o in chunk:
        name, id_no, township = _overpaid_person(o, persons, user)
        yield (name, id_no, township, o.year, _d(o.amount), o.run.started_at, o.reviewed_at,
               o.reviewed_by, o.note)  # fmt: skip


@role_required(*COUNTY_ROLES)
@require_POST
def overpaid_review(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_overpaid_for_user(request.user, pk, write=True)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "复核意见不能超过 200 字。")
    else:
        try:
            services.review_overpaid(row, request, form.cleaned_data["note"])
        except services.ReviewError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"已复核：{row.year} 年度应退 {yuan(row.amount)} 元。")
    nxt = request.POST.get("next", "")
    if nxt.startswith("/claims/overpaid/") and "//" not in nxt:
        return redirect(nxt)
    return redirect("claims:overpaid")


# --- claim imports ----------------------------------------------------------------------------


@role_required(*COUNTY_ROLES)
@require_GET
def imports(request: HttpRequest) -> HttpResponse:
    """结算导入: the monthly files `fangpin import-claims` took in, newest first."""
    qs = visible_imports(request.user).select_related("institution").order_by("-received_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "claims/imports.html", {"page": page, "query": ""})


@role_required(*COUNTY_ROLES)
@require_GET
def imports_export(request: HttpRequest) -> HttpResponse:
    qs = visible_imports(request.user).select_related("institution").order_by("-received_at", "-pk")
    rows = (
        (ci.pk, ci.file_name, ci.received_at, ci.institution.name if ci.institution else "",
         ci.with_payments, ci.rows_total, ci.rows_new, ci.rows_known, ci.rows_rejected)
        for ci in qs[:EXPORT_LIMIT].iterator(chunk_size=pages.CHUNK)
    )  # fmt: skip
    headers = ["编号", "文件名", "导入时间", "医疗机构", "含已结算金额", "数据行", "新增", "已有(跳过)", "退回"]  # fmt: skip
    return xlsx_response(
        f"结算数据导入-{_stamp()}.xlsx", headers, rows, request=request, obj_type="claim_import",
        summary="导出结算数据导入记录", sheet="结算数据导入",
    )  # fmt: skip


@role_required(*COUNTY_ROLES)
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ci = get_import_for_user(request.user, pk)
    page = Paginator(ci.rejects.order_by("row", "pk"), 100).get_page(request.GET.get("page"))
    rows = [{"r": r, "fields": pages.reject_fields(r.reason)} for r in page]
    context = {"ci": ci, "page": page, "rows": rows, "query": ""}
    return render(request, "claims/import_detail.html", context)


@role_required(*COUNTY_ROLES)
@require_GET
def import_rejects_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's rejected rows (file row, settlement id, fields, reason), to correct and resend."""
    ci: ClaimImport = get_import_for_user(request.user, pk)
    rows = (
        (r.row, r.setl_id, pages.reject_fields(r.reason), r.reason)
        for r in ci.rejects.order_by("row", "pk").iterator(chunk_size=pages.CHUNK)
    )
    stem = ci.file_name.rsplit(".", 1)[0] or f"导入{ci.pk}"
    return xlsx_response(
        f"{stem}-退回行.xlsx", ["行号", "结算号", "字段", "原因"], rows, request=request,
        obj_type="claim_import", obj_id=ci.pk, summary=f"导出第 {ci.pk} 次结算导入的退回行",
        sheet="退回行",
    )  # fmt: skip
