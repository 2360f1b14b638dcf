"""A month's work end to end in a real headless Chromium, on the test PostgreSQL server.

The county officer uploads 民政's list (one bad row) and reads its rejects; a hospital settles
a large claim for one of the listed people and the screening run opens a red case in 豫海镇;
the leader's dashboard shows it open; the township cadre opens it from the worklist, records
the visit (risk found), a measure and feedback, and closes it through the page's forms; the
leader's dashboard then shows no open red case and one closed."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fangpin.audit.models import AuditEntry
from fangpin.warnings.models import Case
from tests.fixtures_users import TEST_PASSWORD
from tests.people.factories import make_id, write_workbook, wrong_check

pytestmark = pytest.mark.django_db(transaction=True)

MA_YI = make_id("19800101", 31, division="642127")
MA_ER = make_id("19850303", 32, division="642127")
BAD_ID = wrong_check(make_id("19900909", 33))


def log_in(page, username: str) -> None:
    page.tab.get_by_label("用户名").fill(username)
    page.tab.get_by_label("密码").fill(TEST_PASSWORD)
    page.tab.get_by_role("button", name="登录").click()
    page.tab.wait_for_load_state()


def log_out(page) -> None:
    with page.tab.expect_navigation():
        page.tab.get_by_role("button", name="退出").click()


def submit(page, form, button: str) -> None:
    """Click the form's button and wait for the page the server answers with."""
    with page.tab.expect_navigation():
        form.get_by_role("button", name=button).click()


def card(page, key: str) -> str:
    return page.tab.get_by_test_id(f"fig-{key}").locator("[data-value]").inner_text()


@pytest.fixture
def department_list(tmp_path):
    return write_workbook(
        tmp_path / "民政局低保名单.xlsx",
        ["序号", "乡镇", "村", "姓名", "公民身份号码", "人员类别", "认定日期"],
        [
            [1, "豫海镇", "南关社区", "马一", MA_YI, "低保对象", "2024-01-01"],
            [2, "豫海镇", "南关社区", "马二", MA_ER, "低保对象", "2024-01-01"],
            [3, "豫海镇", "北关社区", "马三", BAD_ID, "低保对象", "2024-01-01"],
        ],
        title="同心县民政局低保对象名单",
    )


def settle_large_claim(psn_no: str) -> None:
    """A hospital's online settlement: 100,000 yuan, 60,000 of it outside the catalogue, so
    the person's part is far above the red line (20,000 yuan in the baseline pack)."""
    from fangpin.claims.models import Institution
    from fangpin.claims.services import ClaimInput, settle_online

    hospital = Institution.objects.create(code="H640324001", name="同心县人民医院")
    outcome = settle_online(
        hospital,
        ClaimInput(
            setl_id="ZY-0001",
            psn_no=psn_no,
            setl_date=timezone.localdate(),
            med_type=21,
            hosp_lv=2,
            in_province=True,
            referral=True,
            medfee_sumamt=10_000_000,
            fulamt_ownpay_amt=6_000_000,
        ),
    )
    assert outcome.created and outcome.settlement.psn_part_amt > 2_000_000


def test_a_months_flow_from_the_department_list_to_the_leaders_dashboard(
    users, page, department_list, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FANGPIN_POLICY = "baseline"
    tab = page.tab

    # 1. The county officer uploads the list and reads its rejects.
    page.goto("/people/uploads/")
    log_in(page, "county")
    tab.get_by_label("推送部门").select_option("民政")
    tab.get_by_label("名单日期").fill(timezone.localdate().isoformat())
    tab.get_by_label("名单文件").set_input_files(str(department_list))
    tab.get_by_test_id("upload-submit").click()
    tab.wait_for_url("**/people/uploads/*/")
    counts = tab.get_by_test_id("upload-counts")
    assert counts.locator("[data-count=rows_new]").inner_text() == "2"
    assert counts.locator("[data-count=rows_rejected]").inner_text() == "1"
    assert BAD_ID in tab.get_by_test_id("rejects-table").inner_text()
    page.shot("monthly-01-upload-rejects")
    log_out(page)

    # 2. A large claim for 马一, then the screening run: a red case in 豫海镇.
    from fangpin.warnings.services import run_screening

    settle_large_claim(MA_YI)
    outcome = run_screening(timezone.localdate(), "baseline")
    assert outcome.run.new_cases == 1
    case = Case.objects.get()
    assert (case.level, case.township.name, case.state) == ("红色", "豫海镇", "待核查")

    # 3. The leader sees it on the dashboard.
    page.goto("/")
    log_in(page, "leader")
    assert card(page, "warn-red") == "1" and card(page, "closed") == "0"
    assert card(page, "fund") != "0.00"
    tab.wait_for_selector(".fp-chart[data-chart='chart-warnings-township'][data-rendered='1'] svg")
    page.shot("monthly-02-leader-dashboard-open")
    log_out(page)

    # 4. The township cadre works the case through the page's forms.
    page.goto("/warnings/")
    log_in(page, "yuhai")
    worklist = tab.get_by_test_id("worklist")
    assert "马一" in worklist.inner_text() and "红色" in worklist.inner_text()
    page.shot("monthly-03-worklist")
    worklist.get_by_role("link", name="办理").click()
    tab.wait_for_url(f"**/warnings/cases/{case.pk}/")
    assert tab.get_by_test_id("state").inner_text() == "待核查"

    # The date fields are typed in as a cadre would: the forms' own initial dates are rendered
    # as 2026/12/02, which a date input does not take.
    today = timezone.localdate().isoformat()
    visit = tab.get_by_test_id("form-visit")
    visit.locator("[name=date]").fill(today)
    visit.locator("[name=finding]").select_option("有风险")
    visit.locator("[name=visitor]").fill("李专干")
    visit.locator("[name=note]").fill("住院费用高，家庭收入低")
    submit(page, visit, "保存核查")
    assert tab.get_by_test_id("state").inner_text() == "已核查"
    page.shot("monthly-04-visit")

    measure = tab.get_by_test_id("form-measure")
    measure.locator("[name=date]").fill(today)
    measure.locator("[name=kind]").select_option("临时救助")
    measure.locator("[name=amount]").fill("3000.00")
    measure.locator("[name=note]").fill("乡镇临时救助")
    submit(page, measure, "保存措施")
    assert tab.get_by_test_id("state").inner_text() == "帮扶中"

    feedback = tab.get_by_test_id("form-feedback")
    feedback.locator("[name=date]").fill(today)
    feedback.locator("[name=text]").fill("已落实临时救助，家庭生活基本稳定")
    submit(page, feedback, "保存反馈")
    page.shot("monthly-05-measure-feedback")

    submit(page, tab.get_by_test_id("form-close"), "办结")
    assert tab.get_by_test_id("state").inner_text() == "已办结"
    events = tab.get_by_test_id("events").inner_text()
    assert "核查" in events and "临时救助" in events and "已办结" in events
    page.shot("monthly-06-closed")
    log_out(page)
    case.refresh_from_db()
    assert case.state == "已办结" and case.closed_at is not None

    # 5. The leader's dashboard changes: no open red case, one closed; so does the statistics page.
    page.goto("/")
    log_in(page, "leader")
    assert card(page, "warn-red") == "0" and card(page, "closed") == "1"
    page.shot("monthly-07-leader-dashboard-closed")
    tab.get_by_role("link", name="统计报表").click()
    tab.wait_for_url("**/reports/")
    warnings = tab.get_by_test_id("table-warnings-township")
    row = warnings.locator("tr[data-township='640324100']")
    assert row.locator("[data-col=open]").inner_text() == "0"
    assert row.locator("[data-col=closed]").inner_text() == "1"
    page.shot("monthly-08-statistics")

    assert AuditEntry.objects.filter(
        action="change", obj_type="warning_case", user=users.cadre
    ).exists()
    # No script error and no Content-Security-Policy violation on any page.
    assert page.errors == []
