"""A case's closed loop (RULES §4): 待核查 → 已核查 → 帮扶中 → 已办结, each step checked and recorded.

One person, one red warning of 宁夏吴忠 2025 screened on Friday 26 Sep 2025 (bill 400,000 →
burden 47,250, see test_screening_runs), deadline 5 working days later: 10 Oct 2025.
"""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangpin.audit.models import AuditEntry
from fangpin.warnings.models import Case, CaseEvent, State
from fangpin.warnings.services import (
    CaseError,
    add_feedback,
    add_measure,
    attach_visit_form,
    close_case,
    is_overdue,
    move,
    overdue,
    overdue_working_days,
    record_visit,
    run_screening,
    with_overdue,
)
from tests.warnings.helpers import D, inpatient, person, settled

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


@pytest.fixture
def red(users) -> Case:
    p = person()
    claims = settled("ningxia-wuzhong-2025", [inpatient(p, "2025-03-01", "400000.00")])
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    return Case.objects.get(rule="three-colour")


def trail(case: Case) -> list[tuple[str, str, str, str]]:
    return list(
        case.events.order_by("at", "id").values_list("action", "from_state", "to_state", "username")
    )


def test_the_full_loop_with_risk_records_every_step_with_who_and_when(red, users):
    record_visit(
        red,
        date=D(2025, 9, 29),
        finding="有风险",
        visitor="李专干、村医马某",
        note="化疗中，家庭无收入",
        user=users.cadre,
    )
    red.refresh_from_db()
    assert red.state == State.VERIFIED
    add_measure(red, kind="医疗救助", date=D(2025, 9, 30), amount=500000, user=users.cadre)
    red.refresh_from_db()
    assert red.state == State.ASSISTING
    add_measure(red, kind="纳入监测", date=D(2025, 10, 9), user=users.cadre)
    close_case(
        red, feedback="已纳入监测对象，医疗救助 5000 元到位", date=D(2025, 10, 10), user=users.cadre
    )
    red.refresh_from_db()
    assert red.state == State.CLOSED and red.closed_at is not None
    assert trail(red) == [
        ("开案", "", "待核查", "fangpin screen-run"),
        ("核查", "", "", "yuhai"),
        ("状态变更", "待核查", "已核查", "yuhai"),
        ("帮扶措施", "", "", "yuhai"),
        ("状态变更", "已核查", "帮扶中", "yuhai"),
        ("帮扶措施", "", "", "yuhai"),
        ("反馈", "", "", "yuhai"),
        ("状态变更", "帮扶中", "已办结", "yuhai"),
    ]
    assert "医疗救助 5000.00 元" in red.events.filter(action="帮扶措施").first().what
    assert all(
        e.user == users.cadre and e.at is not None for e in red.events.exclude(action="开案")
    )
    # each verb also leaves an audit entry naming the case
    assert (
        AuditEntry.objects.filter(
            obj_type="warning_case", obj_id=str(red.pk), user=users.cadre
        ).count()
        == 7
    )


def test_a_visit_finding_no_risk_may_close_straight_away_with_feedback(red, users):
    record_visit(red, date=D(2025, 9, 29), finding="无风险", user=users.cadre)
    with pytest.raises(CaseError, match="无风险"):
        add_measure(red, kind="临时救助", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError, match="尚无帮扶反馈"):
        move(red, State.CLOSED, user=users.cadre)
    close_case(
        red, feedback="家中有稳定务工收入，商业保险已理赔", date=D(2025, 9, 30), user=users.cadre
    )
    red.refresh_from_db()
    assert red.state == State.CLOSED
    assert [t[2] for t in trail(red) if t[0] == "状态变更"] == ["已核查", "已办结"]


def test_no_state_is_skipped(red, users):
    before = CaseEvent.objects.count()
    for to in (State.ASSISTING, State.CLOSED):
        with pytest.raises(CaseError, match="逐步办理"):
            move(red, to, user=users.cadre)
    with pytest.raises(CaseError, match="尚无入户核查记录"):
        move(red, State.VERIFIED, user=users.cadre)
    with pytest.raises(CaseError, match="尚未入户核查"):
        add_measure(red, kind="医疗救助", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError, match="尚未入户核查"):
        add_feedback(red, text="已处理", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError):
        close_case(red, feedback="已处理", user=users.cadre)
    red.refresh_from_db()
    assert red.state == State.PENDING
    assert CaseEvent.objects.count() == before
    assert not red.feedback.exists()


def test_risk_needs_a_measure_and_closing_needs_feedback(red, users):
    record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    with pytest.raises(CaseError, match="尚未录入帮扶措施"):
        move(red, State.ASSISTING, user=users.cadre)
    with pytest.raises(CaseError, match="有风险"):
        close_case(red, feedback="已处理", user=users.cadre)
    assert not red.feedback.exists()  # the refused close left no feedback behind
    add_measure(red, kind="慈善帮扶", date=D(2025, 9, 30), amount=200000, user=users.cadre)
    with pytest.raises(CaseError, match="尚无帮扶反馈"):
        close_case(red, user=users.cadre)
    red.refresh_from_db()
    assert red.state == State.ASSISTING


def test_a_closed_case_takes_nothing_more(red, users):
    record_visit(red, date=D(2025, 9, 29), finding="无风险", user=users.cadre)
    close_case(red, feedback="无风险", date=D(2025, 9, 30), user=users.cadre)
    for step in (
        lambda: record_visit(red, date=D(2025, 10, 9), finding="有风险", user=users.cadre),
        lambda: add_feedback(red, text="补充", date=D(2025, 10, 9), user=users.cadre),
        lambda: move(red, State.ASSISTING, user=users.cadre),
    ):
        with pytest.raises(CaseError, match="已办结"):
            step()


def test_bad_values_are_refused(red, users):
    with pytest.raises(CaseError, match="核查结论"):
        record_visit(red, date=D(2025, 9, 29), finding="待定", user=users.cadre)
    with pytest.raises(CaseError, match="早于预警筛查日期"):
        record_visit(red, date=D(2025, 9, 1), finding="有风险", user=users.cadre)
    with pytest.raises(CaseError, match="不能晚于今天"):
        record_visit(
            red, date=dt.date.today() + dt.timedelta(days=2), finding="有风险", user=users.cadre
        )
    record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    with pytest.raises(CaseError, match="帮扶措施须为"):
        add_measure(red, kind="发放现金", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError, match="整数"):
        add_measure(red, kind="医疗救助", date=D(2025, 9, 30), amount=12.5, user=users.cadre)
    with pytest.raises(CaseError, match="不能为空"):
        add_feedback(red, text="  ", date=D(2025, 9, 30), user=users.cadre)


def test_overdue_counts_working_days_after_the_deadline_and_a_visit_clears_it(red, users):
    # deadline Friday 10 Oct 2025; Saturday 11 Oct is a working day (National Day make-up)
    assert red.deadline == D(2025, 10, 10)
    assert not is_overdue(red, D(2025, 10, 10))
    assert overdue_working_days(red, D(2025, 10, 11)) == 1
    assert overdue_working_days(red, D(2025, 10, 12)) == 1  # Sunday: no working day added
    assert overdue_working_days(red, D(2025, 10, 13)) == 2
    colour = Case.objects.filter(rule="three-colour")
    assert list(overdue(colour, D(2025, 10, 10))) == []
    assert list(overdue(colour, D(2025, 10, 11))) == [red]
    flagged = {c.rule: c.is_overdue for c in with_overdue(Case.objects.all(), D(2025, 10, 13))}
    # the income rule's 7 calendar days ended Friday 3 Oct, inside the holiday: overdue too
    assert flagged == {"three-colour": True, "income": True}
    record_visit(red, date=D(2025, 10, 13), finding="有风险", user=users.cadre)
    assert not is_overdue(red, D(2025, 10, 14))
    assert list(overdue(Case.objects.filter(pk=red.pk), D(2025, 10, 14))) == []


def test_a_weekend_after_the_deadline_is_not_yet_overdue():
    p = person()
    claims = settled("ningxia-shizuishan-2025", [inpatient(p, "2025-03-01", "150000.00")])
    run_screening(D(2025, 6, 27), "ningxia-shizuishan-2025", claims=claims)
    case = Case.objects.get()
    # 10 working days after Friday 27 June 2025 → Friday 11 July
    assert case.deadline == D(2025, 7, 11)
    assert not is_overdue(case, D(2025, 7, 13))  # Sunday
    assert list(overdue(Case.objects.all(), D(2025, 7, 13))) == []
    assert list(overdue(Case.objects.all(), D(2025, 7, 14))) == [case]


def test_an_escalation_needs_a_visit_of_its_own():
    p = person()
    claims = settled(
        "ningxia-wuzhong-2025",
        [inpatient(p, "2025-08-10", "25000.00"), inpatient(p, "2025-09-20", "120000.00")],
    )
    run_screening(D(2025, 8, 29), "ningxia-wuzhong-2025", claims=claims)
    case = Case.objects.get()
    record_visit(case, date=D(2025, 9, 1), finding="无风险")
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)  # → 红色, 10 Oct
    case.refresh_from_db()
    assert (case.level, case.state) == ("红色", State.VERIFIED)
    assert is_overdue(case, D(2025, 10, 13))  # the September visit predates the red warning


def test_the_signed_form_photo_must_be_a_small_jpeg_or_png(red, users, settings):
    visit = record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre,
                         photo=SimpleUploadedFile("核查表.jpg", JPEG, content_type="image/jpeg"))  # fmt: skip
    assert visit.form_photo.name.endswith(".jpg") and "640324" not in visit.form_photo.name
    assert visit.form_photo.read() == JPEG
    attach_visit_form(visit, SimpleUploadedFile("scan.png", PNG), user=users.cadre)
    visit.refresh_from_db()
    assert visit.form_photo.name.endswith(".png")
    assert red.events.filter(action="核查表照片").count() == 1
    for content, why in (
        (b"%PDF-1.7 not an image", "JPEG 或 PNG"),
        (b"", "为空"),
        (b"GIF89a" + b"\x00" * 20, "JPEG 或 PNG"),
    ):
        with pytest.raises(CaseError, match=why):
            attach_visit_form(
                visit,
                SimpleUploadedFile("x.jpg", content, content_type="image/jpeg"),
                user=users.cadre,
            )
    settings.FANGPIN_VISIT_PHOTO_MAX_BYTES = 50
    with pytest.raises(CaseError, match="照片过大"):
        attach_visit_form(visit, SimpleUploadedFile("big.png", PNG), user=users.cadre)
    # a refused photo changed nothing
    visit.refresh_from_db()
    assert visit.form_photo.name.endswith(".png")


def test_case_events_cannot_be_edited_or_deleted(red):
    event = red.events.get()
    event.what = "改写"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
