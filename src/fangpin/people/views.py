"""Pages of the people ledger: department list uploads, person search, the person file and the
household file (一户一档). Which rows a user sees is decided in access.py, never here."""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangpin import audit
from fangpin.accounts.access import mask_id, role_required
from fangpin.people import services
from fangpin.people.access import (
    PERSON_ROLES,
    TAGGING_ROLES,
    UPLOAD_LIST_ROLES,
    UPLOAD_ROLES,
    active_groups,
    get_household_for_user,
    get_person_for_user,
    get_upload_for_user,
    household_members,
    identities_of,
    may_force,
    may_open_uploads,
    may_tag,
    search_persons,
    upload_departments,
    visible_departments,
    visible_uploads,
)
from fangpin.people.forms import SearchForm, UploadFilter, UploadForm
from fangpin.people.models import DepartmentUpload, UploadReject
from fangpin.people.rejects import write_rejects_xlsx
from fangpin.site import panels
from fangpin.site.xlsx import XLSX_TYPE, xlsx_response
from fangpin.tabular.io import TableError

PAGE_SIZE = 50
PROBLEMS_PAGE_SIZE = 100
EXPORT_LIMIT = 1_000_000  # rows of one xlsx sheet, less the header
_LOOKS_LIKE_ID = re.compile(r"^[\s0-9０-９Xx]{15,}$")


def _wants_json(request: HttpRequest) -> bool:
    # The upload page's script posts with this header to draw a progress bar; without the
    # script the same form posts normally and gets a page back.
    return request.headers.get("x-requested-with") == "XMLHttpRequest"


def _query(request: HttpRequest) -> str:
    return urlencode({k: v for k, v in request.GET.items() if k != "page" and v})


# --- department uploads -------------------------------------------------------------------


def upload_state(upload: DepartmentUpload, today: dt.date) -> tuple[str, bool]:
    """(tagging state in words, overdue?) — overdue when untagged past its deadline."""
    if upload.tagged_at is not None:
        return "已标识", False
    if upload.tagging_deadline < today:
        return "逾期未标识", True
    return "待标识", False


def counts_text(u: DepartmentUpload) -> str:
    return (
        f"数据行 {u.rows_total}，新增 {u.rows_new}，变更 {u.rows_changed}，未变 {u.rows_unchanged}，"
        f"退回 {u.rows_rejected}，提示 {u.rows_warned}；身份退出 {u.identities_ended}"
        + (f"（另有 {u.identities_held} 个因所在行被退回暂不退出）" if u.identities_held else "")
        + f"；新建人员 {u.persons_created}；标识时限 {u.tagging_deadline:%Y-%m-%d}。"
    )


def _filtered_uploads(request: HttpRequest) -> tuple[QuerySet[DepartmentUpload], UploadFilter]:
    qs = visible_uploads(request.user)
    filt = UploadFilter(request.GET or None, departments=visible_departments(request.user))
    if filt.is_valid():
        if filt.cleaned_data.get("department"):
            qs = qs.filter(department=filt.cleaned_data["department"])
        if filt.cleaned_data.get("overdue"):
            qs = qs.filter(tagged_at__isnull=True, tagging_deadline__lt=timezone.localdate())
    return qs.order_by("-received_at", "-pk"), filt


@role_required(*UPLOAD_LIST_ROLES)
@require_http_methods(["GET", "POST"])
def uploads(request: HttpRequest) -> HttpResponse:
    """The upload form (for those who may upload) above the list of uploads."""
    user = request.user
    departments = upload_departments(user)
    form = None
    if departments:
        form = UploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            departments=departments,
            allow_force=may_force(user),
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("无权上传名单")
        if form.is_valid():
            outcome = _import(request, form)
            if outcome.url:
                return (
                    JsonResponse({"redirect": outcome.url})
                    if _wants_json(request)
                    else redirect(outcome.url)
                )
            form.add_error(None, outcome.error)
        if _wants_json(request):
            return JsonResponse({"errors": _form_errors(form)}, status=400)
    qs, filt = _filtered_uploads(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [{"upload": u, "state": upload_state(u, today)} for u in page]
    context = {
        "form": form,
        "filter": filt,
        "page": page,
        "rows": rows,
        "query": _query(request),
        "may_open": may_open_uploads(user),
        "fixed_department": form.fixed_department if form is not None else None,
    }
    return render(
        request, "people/uploads.html", context, status=400 if form and form.errors else 200
    )


def _form_errors(form: UploadForm) -> list[str]:
    out = [str(e) for e in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name != "__all__":
            out += [f"{form.fields[name].label}：{e}" for e in errors]
    return out


@dataclass
class _Outcome:
    url: str = ""
    error: str = ""


def _safe_name(name: str) -> str:
    """The uploaded file's own name, kept because the upload record shows it, cut to what a
    file system takes (255 bytes; Chinese characters are three bytes each in UTF-8)."""
    p = Path(Path(name.replace("\x00", "")).name)
    suffix = p.suffix.lower()
    stem = p.stem.strip().lstrip(".") or "名单"
    while len((stem + suffix).encode()) > 200:
        stem = stem[:-1]
    return stem + suffix


def _import(request: HttpRequest, form: UploadForm) -> _Outcome:
    f = form.cleaned_data["file"]
    dept = form.department_value
    # import_list reads a path and keeps its own copy of the file, so the upload only needs to
    # live on disk while it runs.
    with tempfile.TemporaryDirectory(prefix="fangpin-upload-") as tmp:
        path = Path(tmp) / _safe_name(f.name)
        with open(path, "wb") as out:
            for chunk in f.chunks():
                out.write(chunk)
        try:
            result = services.import_list(
                dept,
                path,
                form.cleaned_data["list_date"],
                request.user,
                force=form.cleaned_data.get("force", False),
            )
        except services.ImportRefused as exc:
            return _Outcome(error=refusal_text(str(exc), may_force(request.user)))
        except TableError as exc:
            return _Outcome(error=table_error_text(exc))
    up = result.upload
    if result.duplicate:
        when = timezone.localtime(up.received_at)
        messages.warning(
            request,
            f"该文件与第 {up.pk} 号名单（{up.department}，{up.original_name}，{when:%Y-%m-%d %H:%M} 导入）"
            "完全相同，未作任何改动。",
        )
        if visible_uploads(request.user).filter(pk=up.pk).exists():
            return _Outcome(url=reverse("people:upload", args=[up.pk]))
        return _Outcome(url=reverse("people:uploads"))
    messages.success(
        request, f"{up.department} {up.list_date:%Y-%m-%d} 名单已导入：{counts_text(up)}"
    )
    return _Outcome(url=reverse("people:upload", args=[up.pk]))


# The import service explains a refusal in English for the command line; the page says it in
# Chinese. An unforeseen message is still shown, after a Chinese lead.
_REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"a newer (?P<dept>\S+) list \(of (?P<date>[\d-]+), upload #(?P<pk>\d+)\)"),
        "已导入{dept}更新的名单（{date}，第 {pk} 号）；再导入较早的名单会撤销其变动，未导入。",
    ),
    (
        re.compile(r"no usable row and would end all (?P<n>\d+) of (?P<dept>\S+?)'s"),
        "名单中没有可用的行，导入会使{dept}全部 {n} 个在册身份退出，未导入。",
    ),
    (
        re.compile(r"would end (?P<n>\d+) of (?P<dept>\S+?)'s (?P<total>\d+) open identities"),
        "该名单会使{dept} {total} 个在册身份中的 {n} 个退出，请核实是否为该部门的当期名单，未导入。",
    ),
    (re.compile(r"unknown department"), "未知的推送部门，未导入。"),
)
_TABLE_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "no header row",
        "前 10 行中找不到表头：名单需有“身份证号”（或公民身份号码、证件号码）、“姓名”和"
        "“人员类别”（或身份类别、人员身份）列。",
    ),
    ("cannot be read as a workbook", "文件无法作为 Excel 工作簿读取，请确认文件未损坏。"),
    ("neither UTF-8 nor GB18030", "CSV 文件的编码无法识别（应为 UTF-8 或 GB18030）。"),
    ("has no sheet", "工作簿中没有工作表。"),
    ("unknown file type", "只能上传 .xlsx、.xls 或 .csv 文件。"),
)


def refusal_text(message: str, can_force: bool) -> str:
    for pattern, text in _REFUSALS:
        m = pattern.search(message)
        if m:
            out = text.format(**m.groupdict())
            break
    else:
        out = f"名单未导入（{message}）。"
    if "force" in message:
        out += (
            "核实无误后，请勾选“确认导入”重新上传。"
            if can_force
            else "如确需导入，请联系县医保局经办人员。"
        )
    return out


def table_error_text(exc: TableError) -> str:
    message = str(exc)
    for needle, text in _TABLE_ERRORS:
        if needle in message:
            return text
    return f"文件无法读取（{message}）。"


def _shown_value(value: str, user: Any) -> str:
    # A rejected ID cell is still someone's ID number (often off by one character).
    return mask_id(value, user) if value and _LOOKS_LIKE_ID.match(value) else value


@role_required(*UPLOAD_ROLES)
@require_GET
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One upload: its counts, deadline and the rows rejected or warned about."""
    upload = get_upload_for_user(request.user, pk)
    problems = upload.rejects.all()
    level = request.GET.get("level", "")
    if level in UploadReject.Level.values:
        problems = problems.filter(level=level)
    page = Paginator(problems, PROBLEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "row": p.row,
            "level": p.get_level_display(),
            "is_reject": p.level == UploadReject.Level.REJECT,
            "column": p.column,
            "value": _shown_value(p.value, request.user),
            "reason": p.reason,
        }
        for p in page
    ]
    audit.record(
        request,
        audit.VIEW,
        "department_upload",
        upload.pk,
        f"查看名单导入结果（{upload.department} {upload.list_date}，问题行第 {page.number} 页）",
    )
    context = {
        "upload": upload,
        "state": upload_state(upload, timezone.localdate()),
        "page": page,
        "rows": rows,
        "level": level,
        "query": _query(request),
        "may_tag": may_tag(request.user),
        "counts": counts_text(upload),
    }
    return render(request, "people/upload_detail.html", context)


@role_required(*UPLOAD_ROLES)
@require_GET
def upload_rejects_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected and warned rows as the department wrote them, to correct and send back."""
    upload = get_upload_for_user(request.user, pk)
    if not upload.file or not upload.file.storage.exists(upload.file.name):
        raise Http404("原始文件已不存在，无法生成问题行")
    with tempfile.TemporaryDirectory(prefix="fangpin-rejects-") as tmp:
        path = Path(tmp) / "rejects.xlsx"
        # write_rejects_xlsx records the export in the audit trail itself.
        write_rejects_xlsx(upload, path, request.user)
        data = path.read_bytes()
    name = f"{upload.department}-{upload.list_date:%Y%m%d}-问题行.xlsx"
    return FileResponse(io.BytesIO(data), as_attachment=True, filename=name, content_type=XLSX_TYPE)


@role_required(*UPLOAD_ROLES)
@require_GET
def upload_original(request: HttpRequest, pk: int) -> HttpResponse:
    """The file exactly as the department sent it."""
    upload = get_upload_for_user(request.user, pk)
    if not upload.file or not upload.file.storage.exists(upload.file.name):
        raise Http404("原始文件已不存在")
    audit.record(
        request,
        audit.EXPORT,
        "department_upload",
        upload.pk,
        f"下载原始名单文件（{upload.department} {upload.list_date}，{upload.original_name}）",
    )
    return FileResponse(upload.file.open("rb"), as_attachment=True, filename=upload.original_name)


@role_required(*TAGGING_ROLES)
@require_POST
def upload_tagged(request: HttpRequest, pk: int) -> HttpResponse:
    """The bureau has tagged the upload's people in the insurance system (RULES §6)."""
    upload = get_upload_for_user(request.user, pk, write=True)
    if upload.tagged_at is None:
        services.mark_tagged(upload, request.user)  # audited by the service
        messages.success(request, f"第 {upload.pk} 号名单已标记为标识完成。")
    return redirect("people:upload", pk=upload.pk)


@role_required(*UPLOAD_LIST_ROLES)
@require_GET
def uploads_export(request: HttpRequest) -> HttpResponse:
    qs, _filt = _filtered_uploads(request)
    today = timezone.localdate()

    def rows():
        for u in qs[:EXPORT_LIMIT].iterator(chunk_size=2_000):
            yield (
                u.pk, u.department, u.list_date, u.original_name, u.received_at,
                u.uploaded_by.get_full_name() or u.uploaded_by.get_username() if u.uploaded_by else "",
                u.rows_total, u.rows_new, u.rows_changed, u.rows_unchanged, u.rows_rejected,
                u.rows_warned, u.identities_ended, u.persons_created, u.tagging_deadline,
                upload_state(u, today)[0], u.tagged_at,
            )  # fmt: skip

    headers = [
        "编号", "部门", "名单日期", "文件名", "接收时间", "上传人", "数据行", "新增", "变更",
        "未变", "退回", "提示", "身份退出", "新建人员", "标识时限", "标识状态", "标识完成时间",
    ]  # fmt: skip
    return xlsx_response(
        f"部门推送名单-{today:%Y%m%d}.xlsx", headers, rows(), request=request,
        obj_type="department_upload_list", summary="导出部门推送名单列表", sheet="部门推送名单",
    )  # fmt: skip


# --- persons and households ---------------------------------------------------------------


@role_required(*PERSON_ROLES)
@require_GET
def person_search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    qs = (
        search_persons(request.user, q)
        .select_related("township", "village")
        .order_by("township__name", "village__name", "name", "pk")
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    groups = active_groups([p.pk for p in page], timezone.localdate())
    rows = [{"person": p, "groups": groups.get(p.pk, [])} for p in page]
    context = {"form": form, "q": q, "page": page, "rows": rows, "query": _query(request)}
    return render(request, "people/search.html", context)


@role_required(*PERSON_ROLES)
@require_GET
def persons_export(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    qs = (
        search_persons(request.user, q)
        .select_related("township", "village", "household")
        .order_by("township__name", "village__name", "name", "pk")[:EXPORT_LIMIT]
    )
    today = timezone.localdate()
    user = request.user

    def rows():
        batch: list = []
        for p in qs.iterator(chunk_size=2_000):
            batch.append(p)
            if len(batch) == 2_000:
                yield from _person_rows(batch, user, today)
                batch = []
        yield from _person_rows(batch, user, today)

    headers = [
        "姓名",
        "身份证号",
        "性别",
        "出生日期",
        "乡镇",
        "村",
        "户编号",
        "与户主关系",
        "当前类别",
    ]
    return xlsx_response(
        f"人员名单-{today:%Y%m%d}.xlsx", headers, rows(), request=request, obj_type="person_list",
        summary="导出人员名单" + ("（按条件查询）" if q else ""), sheet="人员名单",
    )  # fmt: skip


def _person_rows(batch: list, user: Any, today: dt.date):
    groups = active_groups([p.pk for p in batch], today)
    for p in batch:
        yield (
            p.name, mask_id(p.id_no, user), p.sex, p.birth_date,
            p.township.name if p.township else "", p.village.name if p.village else "",
            p.household.number if p.household else "", p.relation, "、".join(groups.get(p.pk, [])),
        )  # fmt: skip


@role_required(*PERSON_ROLES)
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The person file: who, where, which household, identities; then the panels other apps add
    (enrollment and subsidies, claims, warnings)."""
    person = get_person_for_user(request.user, pk)
    full_id = request.GET.get("full_id") == "1"
    masked = mask_id(person.id_no, request.user)
    # The whole number is one click away for anyone who may open the file, and that click is
    # recorded on its own, so the trail shows who needed it.
    audit.record(
        request,
        audit.VIEW,
        "person",
        person.pk,
        "查看人员档案（含完整身份证号）" if full_id and masked != person.id_no else "查看人员档案",
    )
    today = timezone.localdate()
    identities = [
        {"i": i, "active": i.begin <= today and (i.end is None or i.end >= today)}
        for i in identities_of(person)
    ]
    context = {
        "person": person,
        "id_shown": person.id_no if full_id else masked,
        "id_masked": not full_id and masked != person.id_no,
        "identities": identities,
        "may_open_uploads": may_open_uploads(request.user),
        "panels": panels.for_page("person", request, person),
    }
    return render(request, "people/person.html", context)


@role_required(*PERSON_ROLES)
@require_GET
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The household file (一户一档): its members and what each holds today."""
    household = get_household_for_user(request.user, pk)
    members = list(
        household_members(request.user, household)
        .select_related("township", "village")
        .order_by("birth_date", "pk")
    )
    groups = active_groups([m.pk for m in members], timezone.localdate())
    audit.record(
        request, audit.VIEW, "household", household.pk, f"查看家庭户档案 {household.number}"
    )
    context = {
        "household": household,
        "members": [{"person": m, "groups": groups.get(m.pk, [])} for m in members],
        "panels": panels.for_page("household", request, household),
    }
    return render(request, "people/household.html", context)
