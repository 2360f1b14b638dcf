"""The people ledger's pages over HTTP: department uploads, person search, person and
household files — who sees what, what is refused, and what is written to the audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from python_calamine import CalamineWorkbook

from fangpin.accounts.roles import Role
from fangpin.accounts.services import create_user
from fangpin.audit.models import AuditEntry
from fangpin.people.models import DepartmentUpload, Person
from fangpin.people.services import import_list
from fangpin.site import panels
from fangpin.site.templatetags.fangpin_tags import percent, yuan
from tests.fixtures_users import TEST_PASSWORD
from tests.people.factories import make_id, write_workbook, wrong_check

pytestmark = pytest.mark.django_db

HEADER = ["序号", "乡镇", "村", "姓名", "身份证号", "人员类别", "认定日期", "户编号", "与户主关系"]
ZHANG = make_id("19800101", 11)  # 豫海镇, household H-1
LI = make_id("19820202", 12)  # 豫海镇, household H-1
WANG = make_id("19750505", 13)  # 河西镇
BAD = wrong_check(make_id("19900909", 14))
MARCH = dt.date(2025, 3, 31)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def minzheng_rows() -> list[list]:
    return [
        [1, "豫海镇", "南关社区", "张三", ZHANG, "低保对象", "2024-01-01", "H-1", "户主"],
        [2, "豫海镇", "南关社区", "李四", LI, "特困人员", "2024-01-01", "H-1", "配偶"],
        [3, "河西镇", "河西村", "王五", WANG, "低保对象", "2024-01-01", "H-2", "户主"],
        [4, "豫海镇", "南关社区", "赵六", BAD, "低保对象", "2024-01-01", "", ""],
        [5, "豫海镇", "南关社区", "", make_id("19910101", 15), "低保对象", "2024-01-01", "", ""],
        [6, "豫海镇", "南关社区", "孙七", make_id("19920101", 16), "五保户", "2024-01-01", "", ""],
    ]


def list_file(tmp_path, name="民政_202503.xlsx", rows=None):
    return write_workbook(tmp_path / name, HEADER, rows if rows is not None else minzheng_rows())


@pytest.fixture
def upload(users, tmp_path) -> DepartmentUpload:
    """民政's March list, imported by the county officer: 3 good rows, 3 rejected."""
    return import_list("民政", list_file(tmp_path), MARCH, users.county).upload


@pytest.fixture
def disabled_upload(users, tmp_path) -> DepartmentUpload:
    """残联's list: another department's upload, which a 民政 liaison must not see."""
    path = write_workbook(
        tmp_path / "残联.xlsx", ["身份证号", "姓名", "人员类别"], [[ZHANG, "张三", "1-2级残疾人"]]
    )
    return import_list("残联", path, MARCH, users.county).upload


def entries(action: str, obj_type: str, obj_id=None):
    qs = AuditEntry.objects.filter(action=action, obj_type=obj_type)
    return qs.filter(obj_id=str(obj_id)) if obj_id is not None else qs


def post_list(client: Client, tmp_path, *, name="民政_202503.xlsx", rows=None, xhr=False, **extra):
    # Written once per name: a workbook carries its creation time, so writing it again a second
    # later would make another file rather than the same one uploaded twice.
    path = tmp_path / name
    if not path.exists():
        list_file(tmp_path, name=name, rows=rows)
    data = {"department": "民政", "list_date": "2025-03-31", **extra}
    data["file"] = SimpleUploadedFile(path.name, path.read_bytes(), content_type=XLSX)
    headers = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"} if xhr else {}
    return client.post("/people/uploads/", data, **headers)


# --- every page asks for a login --------------------------------------------------------------


def test_anonymous_users_are_sent_to_login_from_every_people_page(upload):
    person = Person.objects.get(id_no=ZHANG)
    urls = [
        "/people/", "/people/export.xlsx", f"/people/{person.pk}/",
        f"/people/households/{person.household_id}/", "/people/uploads/",
        "/people/uploads/export.xlsx", f"/people/uploads/{upload.pk}/",
        f"/people/uploads/{upload.pk}/rejects.xlsx", f"/people/uploads/{upload.pk}/original",
    ]  # fmt: skip
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    response = Client().post(f"/people/uploads/{upload.pk}/tagged/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- department uploads -----------------------------------------------------------------------


def test_the_county_chooses_the_department_and_a_liaison_uploads_only_for_their_own(
    users, client_for
):
    county = client_for(users.county).get("/people/uploads/").content.decode()
    assert 'name="department"' in county and "残联" in county and 'name="force"' in county
    liaison = client_for(users.liaison).get("/people/uploads/").content.decode()
    assert 'name="department"' not in liaison and 'data-testid="fixed-department">民政' in liaison
    assert 'name="force"' not in liaison
    leader = client_for(users.leader).get("/people/uploads/").content.decode()
    assert "upload-form" not in leader and "部门推送名单" in leader
    assert client_for(users.cadre).get("/people/uploads/").status_code == 403


def test_a_county_officer_uploads_a_list_and_lands_on_its_counts_and_rejects(
    users, client_for, tmp_path
):
    client = client_for(users.county)
    response = post_list(client, tmp_path)
    up = DepartmentUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/people/uploads/{up.pk}/"
    assert (up.department, up.list_date, up.original_name) == ("民政", MARCH, "民政_202503.xlsx")
    assert (up.rows_total, up.rows_new, up.rows_rejected, up.uploaded_by) == (6, 3, 3, users.county)
    page = client.get(response["Location"]).content.decode()
    assert "名单已导入" in page and "数据行 6，新增 3" in page
    assert "校验位" in page and "五保户" in page
    # The import itself is a change, recorded by the service under the officer's name.
    assert entries("change", "department_upload", up.pk).get().user == users.county
    assert entries("view", "department_upload", up.pk).count() == 1


def test_the_progress_bar_script_gets_json_back_and_errors_in_chinese(users, client_for, tmp_path):
    client = client_for(users.county)
    response = post_list(client, tmp_path, xhr=True)
    up = DepartmentUpload.objects.get()
    assert response.status_code == 200
    assert json.loads(response.content) == {"redirect": f"/people/uploads/{up.pk}/"}
    again = post_list(client, tmp_path, xhr=True)
    assert json.loads(again.content) == {"redirect": f"/people/uploads/{up.pk}/"}
    assert DepartmentUpload.objects.count() == 1
    assert "完全相同，未作任何改动" in client.get(f"/people/uploads/{up.pk}/").content.decode()

    no_header = write_workbook(tmp_path / "x.xlsx", ["甲", "乙"], [["1", "2"]])
    bad = client.post(
        "/people/uploads/",
        {"department": "民政", "list_date": "2025-04-30",
         "file": SimpleUploadedFile("x.xlsx", no_header.read_bytes(), content_type=XLSX)},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "找不到表头" in json.loads(bad.content)["errors"][0]
    wrong_type = client.post(
        "/people/uploads/",
        {"department": "民政", "list_date": "2025-04-30",
         "file": SimpleUploadedFile("x.pdf", b"%PDF", content_type="application/pdf")},
    )  # fmt: skip
    assert wrong_type.status_code == 400 and "只能上传" in wrong_type.content.decode()


def test_an_older_list_after_a_newer_one_is_refused_with_the_reason(users, client_for, tmp_path):
    client = client_for(users.county)
    post_list(client, tmp_path)
    older = post_list(
        client, tmp_path, name="older.xlsx", rows=minzheng_rows()[:2], list_date="2025-02-28"
    )
    assert older.status_code == 400
    assert "已导入民政更新的名单" in older.content.decode()
    assert DepartmentUpload.objects.count() == 1


def test_a_list_that_would_end_everyones_identity_needs_the_countys_confirmation(
    users, client_for, tmp_path, upload
):
    only_bad = minzheng_rows()[3:]
    liaison = post_list(client_for(users.liaison), tmp_path, name="bad.xlsx", rows=only_bad)
    assert liaison.status_code == 400
    text = liaison.content.decode()
    assert "名单中没有可用的行" in text and "全部 3 个在册身份" in text and "请联系县医保局" in text
    county = client_for(users.county)
    refused = post_list(county, tmp_path, name="bad.xlsx", rows=only_bad, list_date="2025-04-30")
    assert "勾选“确认导入”" in refused.content.decode()
    assert DepartmentUpload.objects.count() == 1
    forced = post_list(
        county, tmp_path, name="bad.xlsx", rows=only_bad, list_date="2025-04-30", force="on"
    )
    assert forced.status_code == 302
    assert DepartmentUpload.objects.get(list_date=dt.date(2025, 4, 30)).identities_ended == 3


def test_a_liaisons_upload_is_always_their_own_departments(users, client_for, tmp_path):
    response = post_list(client_for(users.liaison), tmp_path, department="残联")
    up = DepartmentUpload.objects.get()
    assert (
        response.status_code == 302 and up.department == "民政" and up.uploaded_by == users.liaison
    )


def test_a_liaison_sees_only_their_departments_uploads(users, client_for, upload, disabled_upload):
    client = client_for(users.liaison)
    listing = client.get("/people/uploads/").content.decode()
    assert f'data-upload="{upload.pk}"' in listing
    assert f'data-upload="{disabled_upload.pk}"' not in listing
    assert client.get(f"/people/uploads/{upload.pk}/").status_code == 200
    for suffix in ("", "rejects.xlsx", "original"):
        assert client.get(f"/people/uploads/{disabled_upload.pk}/{suffix}").status_code == 404
    exported = client.get("/people/uploads/export.xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(exported.getvalue())).get_sheet_by_index(0)
    assert [r[1] for r in rows.to_python()[1:]] == ["民政"]
    # The 残联 liaison sees theirs and not 民政's.
    canlian = create_user("canlian", TEST_PASSWORD, Role.LIAISON, department="残联")
    other = client_for(canlian)
    assert other.get(f"/people/uploads/{disabled_upload.pk}/").status_code == 200
    assert other.get(f"/people/uploads/{upload.pk}/").status_code == 404
    # The county sees both.
    both = client_for(users.county).get("/people/uploads/").content.decode()
    assert f'data-upload="{upload.pk}"' in both and f'data-upload="{disabled_upload.pk}"' in both


def test_read_only_users_and_other_roles_cannot_upload_or_tag(users, client_for, tmp_path, upload):
    for user in (users.leader, users.colleague):
        assert post_list(client_for(user), tmp_path, name="again.xlsx").status_code == 403
    assert DepartmentUpload.objects.count() == 1
    for user in (users.leader, users.liaison, users.colleague, users.cadre):
        assert client_for(user).post(f"/people/uploads/{upload.pk}/tagged/").status_code == 403
    # Leaders see the list with its counts but not an upload's rows.
    assert client_for(users.leader).get(f"/people/uploads/{upload.pk}/").status_code == 403
    upload.refresh_from_db()
    assert upload.tagged_at is None


def test_the_county_marks_an_upload_tagged_and_the_change_is_audited(users, client_for, upload):
    response = client_for(users.county).post(f"/people/uploads/{upload.pk}/tagged/")
    assert response.status_code == 302
    upload.refresh_from_db()
    assert upload.tagged_at is not None and upload.tagged_by == users.county
    assert (
        entries("change", "department_upload", upload.pk)
        .filter(summary__contains="已标识")
        .exists()
    )


def test_an_upload_past_its_deadline_untagged_is_flagged_overdue(users, client_for, upload):
    DepartmentUpload.objects.filter(pk=upload.pk).update(
        tagging_deadline=timezone.localdate() - dt.timedelta(days=1)
    )
    page = client_for(users.county).get("/people/uploads/").content.decode()
    assert "逾期未标识" in page
    only = client_for(users.county).get("/people/uploads/?overdue=on").content.decode()
    assert f'data-upload="{upload.pk}"' in only


def test_rejects_download_as_xlsx_and_the_original_file_both_audited(users, client_for, upload):
    client = client_for(users.liaison)
    response = client.get(f"/people/uploads/{upload.pk}/rejects.xlsx")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.getvalue())).get_sheet_by_index(0)
    text = json.dumps(sheet.to_python(), ensure_ascii=False)
    assert BAD in text and "五保户" in text and "孙七" in text
    assert entries("export", "department_upload", upload.pk).filter(user=users.liaison).count() == 1
    original = client.get(f"/people/uploads/{upload.pk}/original")
    # Byte for byte the file the department sent (the upload keeps its digest).
    assert hashlib.sha256(b"".join(original.streaming_content)).hexdigest() == upload.sha256
    assert entries("export", "department_upload", upload.pk).count() == 2


def test_a_rejected_id_is_masked_on_the_page_for_roles_without_whole_ids(users, client_for, upload):
    liaison = client_for(users.liaison).get(f"/people/uploads/{upload.pk}/").content.decode()
    assert BAD not in liaison and BAD[:6] + "********" + BAD[-4:] in liaison
    assert BAD in client_for(users.county).get(f"/people/uploads/{upload.pk}/").content.decode()


def test_the_upload_list_export_is_audited(users, client_for, upload):
    response = client_for(users.county).get("/people/uploads/export.xlsx")
    assert response.status_code == 200
    assert entries("export", "department_upload_list").get().user == users.county


# --- persons and households ---------------------------------------------------------------------


def test_a_township_cadre_finds_only_their_townships_people_with_masked_ids(
    users, client_for, upload
):
    page = client_for(users.cadre).get("/people/").content.decode()
    assert "张三" in page and "李四" in page and "王五" not in page
    assert ZHANG not in page and ZHANG[:6] + "********" + ZHANG[-4:] in page
    by_tail = client_for(users.cadre).get(f"/people/?q={ZHANG[-4:]}").content.decode()
    assert "张三" in by_tail and "李四" not in by_tail
    assert "王五" not in client_for(users.cadre).get(f"/people/?q={WANG}").content.decode()
    county = client_for(users.county).get("/people/?q=王").content.decode()
    assert "王五" in county and WANG in county
    assert client_for(users.liaison).get("/people/").status_code == 403
    assert client_for(users.leader).get("/people/").status_code == 403


def test_the_person_file_is_scoped_to_the_township_and_every_view_is_audited(
    users, client_for, upload
):
    zhang = Person.objects.get(id_no=ZHANG)
    page = client_for(users.cadre).get(f"/people/{zhang.pk}/").content.decode()
    assert "张三" in page and "低保对象" in page and "2024-01-01" in page and "民政" in page
    assert ZHANG not in page and "显示完整号码" in page
    assert entries("view", "person", zhang.pk).get().user == users.cadre
    assert client_for(users.outsider).get(f"/people/{zhang.pk}/").status_code == 404
    assert client_for(users.liaison).get(f"/people/{zhang.pk}/").status_code == 403
    assert client_for(users.leader).get(f"/people/{zhang.pk}/").status_code == 403
    assert client_for(users.colleague).post(f"/people/{zhang.pk}/").status_code == 403
    assert client_for(users.cadre).get("/people/999999/").status_code == 404
    # The whole number, when asked for, is shown and that view is recorded as such.
    full = client_for(users.cadre).get(f"/people/{zhang.pk}/?full_id=1").content.decode()
    assert ZHANG in full
    assert entries("view", "person", zhang.pk).filter(summary__contains="完整身份证号").count() == 1


def test_the_household_file_lists_its_members_and_is_scoped_and_audited(users, client_for, upload):
    zhang = Person.objects.get(id_no=ZHANG)
    hh = zhang.household
    page = client_for(users.cadre).get(f"/people/households/{hh.pk}/").content.decode()
    assert "H-1" in page and "张三" in page and "李四" in page and "户主" in page and "配偶" in page
    assert entries("view", "household", hh.pk).get().user == users.cadre
    assert client_for(users.outsider).get(f"/people/households/{hh.pk}/").status_code == 404
    assert client_for(users.colleague).post(f"/people/households/{hh.pk}/").status_code == 403
    assert (
        f"/people/households/{hh.pk}/"
        in client_for(users.cadre).get(f"/people/{zhang.pk}/").content.decode()
    )


def test_other_apps_add_panels_to_the_person_file(users, client_for, upload):
    zhang = Person.objects.get(id_no=ZHANG)
    seen = []

    def context(request, person):
        seen.append((request.user, person.pk))
        return {"years": [], "items": []}

    panels.register(
        "person", "test", "测试面板", "enrollment/_person_panel.html", context, order=99
    )
    try:
        page = client_for(users.cadre).get(f"/people/{zhang.pk}/").content.decode()
    finally:
        panels.unregister("person", "test")
    assert seen == [(users.cadre, zhang.pk)]
    assert 'data-testid="panel-test"' in page and "测试面板" in page
    # Enrollment registers its own panel, before the others.
    assert page.index('data-testid="panel-enrollment"') < page.index('data-testid="panel-test"')


def test_a_panel_returning_none_is_left_out_and_roles_limit_panels(users, client_for, upload):
    zhang = Person.objects.get(id_no=ZHANG)
    panels.register(
        "person", "hidden", "不显示", "enrollment/_person_panel.html", lambda r, p: None
    )
    panels.register(
        "person", "county-only", "县级面板", "enrollment/_person_panel.html",
        lambda r, p: {"years": [], "items": []}, roles={Role.COUNTY},
    )  # fmt: skip
    try:
        cadre = client_for(users.cadre).get(f"/people/{zhang.pk}/").content.decode()
        county = client_for(users.county).get(f"/people/{zhang.pk}/").content.decode()
    finally:
        panels.unregister("person", "hidden")
        panels.unregister("person", "county-only")
    assert "不显示" not in cadre and "县级面板" not in cadre and "县级面板" in county
    with pytest.raises(ValueError):
        panels.register("claim", "x", "x", "x.html", lambda r, p: {})


def test_the_persons_export_masks_ids_for_a_cadre_and_is_audited(users, client_for, upload):
    response = client_for(users.cadre).get("/people/export.xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.getvalue())).get_sheet_by_index(0)
    body = rows.to_python()
    assert body[0][:2] == ["姓名", "身份证号"]
    assert {r[0] for r in body[1:]} == {"张三", "李四"}
    assert all("*" in r[1] for r in body[1:])
    assert entries("export", "person_list").get().user == users.cadre


# --- template filters ---------------------------------------------------------------------------


def test_money_in_fen_shows_as_yuan_with_two_decimals_and_rates_as_percentages():
    assert yuan(0) == "0.00" and yuan(5) == "0.05" and yuan(123456789) == "1,234,567.89"
    assert yuan(-150) == "-1.50" and yuan(None) == "" and yuan("x") == ""
    assert percent(0.98765) == "98.77%" and percent(1) == "100.00%" and percent(None) == "—"
    assert percent(0.5, 0) == "50%"
