"""A department list uploaded through the page in a real browser, on the test PostgreSQL server:
the county officer logs in, uploads a list with bad rows, reads the counts and the rejects,
downloads the rejects workbook, opens a person's file and runs the month's reconciliation."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from python_calamine import CalamineWorkbook

from fangpin.audit.models import AuditEntry
from fangpin.people.models import DepartmentUpload, Person
from tests.fixtures_users import TEST_PASSWORD
from tests.people.factories import make_id, write_workbook, wrong_check

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_1 = make_id("19800101", 21, division="642127")
GOOD_2 = make_id("19850303", 22, division="642127")
BAD_ID = wrong_check(make_id("19900909", 23))


def log_in(page, username: str, password: str) -> None:
    page.tab.get_by_label("用户名").fill(username)
    page.tab.get_by_label("密码").fill(password)
    page.tab.get_by_role("button", name="登录").click()
    page.tab.wait_for_load_state()


@pytest.fixture
def department_list(tmp_path):
    """民政's list as an office sends it: a title row, then two good rows and three bad ones."""
    return write_workbook(
        tmp_path / "民政局2025年3月低保特困名单.xlsx",
        ["序号", "乡镇", "村", "姓名", "公民身份号码", "人员类别", "认定日期"],
        [
            [1, "豫海镇", "南关社区", "马一", GOOD_1, "低保对象", "2024-01-01"],
            [2, "豫海镇", "南关社区", "马二", GOOD_2, "特困人员", "2024-06-01"],
            [3, "豫海镇", "南关社区", "马三", BAD_ID, "低保对象", "2024-01-01"],
            [4, "豫海镇", "北关社区", "", make_id("19910101", 24), "低保对象", "2024-01-01"],
            [5, "河西镇", "河西村", "马五", make_id("19920101", 25), "五保户", "2024-01-01"],
        ],
        title="同心县民政局2025年3月低保特困人员名单",
    )


def test_a_county_officer_uploads_a_list_reads_its_rejects_and_downloads_them(
    users, page, department_list, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    page.goto("/people/uploads/")
    log_in(page, "county", TEST_PASSWORD)
    assert page.tab.url.endswith("/people/uploads/")
    tab = page.tab
    tab.get_by_label("推送部门").select_option("民政")
    tab.get_by_label("名单日期").fill("2025-03-31")
    tab.get_by_label("名单文件").set_input_files(str(department_list))
    page.shot("upload-01-form")

    # The upload goes by XMLHttpRequest (the progress bar's script), then on to the result.
    with tab.expect_request(lambda r: r.method == "POST" and "/people/uploads/" in r.url) as sent:
        tab.get_by_test_id("upload-submit").click()
    assert sent.value.headers.get("x-requested-with") == "XMLHttpRequest"
    tab.wait_for_url("**/people/uploads/*/")
    upload = DepartmentUpload.objects.get()
    assert tab.url.endswith(f"/people/uploads/{upload.pk}/")
    assert "名单已导入" in tab.inner_text("main")
    counts = tab.get_by_test_id("upload-counts")
    assert counts.locator("[data-count=rows_total]").inner_text() == "5"
    assert counts.locator("[data-count=rows_new]").inner_text() == "2"
    assert counts.locator("[data-count=rows_rejected]").inner_text() == "3"
    rejects = tab.get_by_test_id("rejects-table").inner_text()
    assert "校验位" in rejects and "五保户" in rejects and BAD_ID in rejects
    page.shot("upload-02-result")

    with tab.expect_download() as download:
        tab.get_by_test_id("rejects-download").click()
    assert download.value.suggested_filename.endswith("问题行.xlsx")
    saved = tmp_path / "rejects.xlsx"
    download.value.save_as(str(saved))
    rows = CalamineWorkbook.from_path(str(saved)).get_sheet_by_index(0).to_python()
    text = json.dumps(rows, ensure_ascii=False)
    assert BAD_ID in text and "五保户" in text and "马三" in text and GOOD_1 not in text
    assert AuditEntry.objects.filter(
        action="export", obj_type="department_upload", obj_id=str(upload.pk), user=users.county
    ).exists()

    # The new people are in the ledger: find one and open the file.
    tab.get_by_role("link", name="人员档案查询").click()
    tab.get_by_label("身份证号或姓名").fill(GOOD_2[-6:])
    tab.get_by_role("button", name="查询").click()
    tab.get_by_role("link", name="马二").click()
    tab.wait_for_url("**/people/*/")
    assert tab.get_by_test_id("person-id").inner_text() == GOOD_2  # 县级经办 sees whole IDs
    assert "特困人员" in tab.get_by_test_id("person-identities").inner_text()
    assert "参保与资助" in tab.inner_text("main")
    ma = Person.objects.get(id_no=GOOD_2)
    assert AuditEntry.objects.filter(action="view", obj_type="person", obj_id=str(ma.pk)).exists()
    page.shot("upload-03-person")

    # The month's reconciliation: both new people are un-enrolled; the charts draw.
    tab.get_by_role("link", name="参保核对").click()
    tab.get_by_label("参保年度").fill("2025")
    tab.get_by_label("核对日期").fill(dt.date(2025, 4, 1).isoformat())
    tab.get_by_role("button", name="运行核对").click()
    tab.wait_for_selector(".fp-chart[data-rendered='1'] svg >> nth=2")
    assert "参保核对完成" in tab.inner_text("main")
    assert tab.get_by_test_id("total-rate").inner_text() == "0.00%"
    page.shot("upload-04-reconciliation")
    tab.get_by_role("link", name="未参保人员").click()
    assert "马一" in tab.get_by_test_id("unenrolled-table").inner_text()
    page.shot("upload-05-unenrolled")

    # No script error and no Content-Security-Policy violation on any page.
    assert page.errors == []
