"""How many SQL statements each step of a case costs, so the closed loop stays cheap.

A township works hundreds of cases a month, and the demo works them all through the same
services; each step reads the case once (locked), writes what it records, and writes its
events and their audit entries with one insert each. The counts include the savepoint and
its release that every service's atomic block costs inside the test's transaction.

One red warning of 宁夏吴忠 2025 screened on Friday 26 Sep 2025, as in test_cases.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangpin.audit.models import AuditEntry
from fangpin.warnings.models import Case, CaseEvent, State
from fangpin.warnings.services import (
    CaseError,
    add_feedback,
    add_measure,
    close_case,
    move,
    record_visit,
    run_screening,
)
from tests.warnings.helpers import D, inpatient, person, settled

pytestmark = pytest.mark.django_db


@pytest.fixture
def red(users) -> Case:
    p = person()
    claims = settled("ningxia-wuzhong-2025", [inpatient(p, "2025-03-01", "400000.00")])
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    case = Case.objects.get(rule="three-colour")
    users.cadre.profile  # noqa: B018 - the role is read once per user object, as in a request
    return case


class Counted:
    """The statements run inside the block: `n`, and their SQL for the failure message."""

    def __enter__(self):
        self.ctx = CaptureQueriesContext(connection)
        self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)
        self.n = len(self.ctx.captured_queries)
        self.statements = [q["sql"] for q in self.ctx.captured_queries]
        self.sql = "\n".join(q["sql"][:160] for q in self.ctx.captured_queries)


def audit_rows(case: Case) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(obj_type="warning_case", obj_id=str(case.pk))
        .exclude(username="fangpin screen-run")
        .order_by("pk")
        .values_list("username", "role", "summary")
    )


def test_a_first_visit_costs_seven_statements_and_still_records_both_steps(red, users):
    with Counted() as q:
        record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    # savepoint, the locked case with its run, the visit, the state, the two events in one
    # insert, their two audit entries in one insert, release
    assert q.n <= 7, q.sql
    # the case row (and only it, not its run) is locked while the step runs
    assert q.statements[1].endswith('FOR UPDATE OF "warnings_case"'), q.statements[1]
    red.refresh_from_db()
    assert red.state == State.VERIFIED
    events = list(red.events.order_by("at", "id").values_list("action", "from_state", "to_state"))
    assert events == [("开案", "", "待核查"), ("核查", "", ""), ("状态变更", "待核查", "已核查")]
    rows = audit_rows(red)
    assert [r[:2] for r in rows] == [("yuhai", users.cadre.profile.role)] * 2
    assert rows[0][2].startswith("核查：2025-09-29 入户核查：有风险")
    assert rows[1][2] == "状态变更：待核查→已核查"


def test_a_first_measure_costs_eight_statements_and_moves_the_case_to_assisting(red, users):
    record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    with Counted() as q:
        add_measure(red, kind="医疗救助", date=D(2025, 9, 30), amount=500000, user=users.cadre)
    # savepoint, locked case, the latest visit's finding, the measure, the state, events,
    # audit entries, release
    assert q.n <= 8, q.sql
    red.refresh_from_db()
    assert red.state == State.ASSISTING
    with Counted() as q:
        add_measure(red, kind="纳入监测", date=D(2025, 10, 9), user=users.cadre)
    assert q.n <= 6, q.sql  # no move: no finding to read, no state to write
    assert [s for *_, s in audit_rows(red)][-3:] == [
        "帮扶措施：2025-09-30 医疗救助 5000.00 元",
        "状态变更：已核查→帮扶中",
        "帮扶措施：2025-10-09 纳入监测",
    ]


def test_feedback_and_closing_cost_six_and_seven_statements(red, users):
    record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    add_measure(red, kind="医疗救助", date=D(2025, 9, 30), amount=500000, user=users.cadre)
    with Counted() as q:
        add_feedback(red, text="医疗救助已到位", date=D(2025, 10, 9), user=users.cadre)
    assert q.n <= 6, q.sql
    with Counted() as q:
        close_case(red, feedback="已纳入监测对象", date=D(2025, 10, 10), user=users.cadre)
    # savepoint, locked case, the feedback, the state, events, audit entries, release
    assert q.n <= 7, q.sql
    assert q.statements[1].endswith("FOR UPDATE"), q.statements[1]
    red.refresh_from_db()
    assert red.state == State.CLOSED and red.closed_at is not None
    assert [a for a, *_ in red.events.order_by("at", "id").values_list("action")][-3:] == [
        "反馈",
        "反馈",
        "状态变更",
    ]
    assert [s for *_, s in audit_rows(red)][-2:] == [
        "反馈：2025-10-10 反馈：已纳入监测对象",
        "状态变更：帮扶中→已办结",
    ]


def test_closing_after_no_risk_reads_the_finding_and_the_feedback_once(red, users):
    record_visit(red, date=D(2025, 9, 29), finding="无风险", user=users.cadre)
    add_feedback(red, text="家中有稳定务工收入", date=D(2025, 9, 30), user=users.cadre)
    with Counted() as q:
        move(red, State.CLOSED, user=users.cadre)
    # savepoint, locked case, latest visit, feedback exists, the state, event, audit, release
    assert q.n <= 8, q.sql
    red.refresh_from_db()
    assert red.state == State.CLOSED


def test_cheaper_steps_still_refuse_what_rules_4_refuses(red, users):
    with pytest.raises(CaseError, match="尚未入户核查"):
        add_measure(red, kind="医疗救助", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError, match="尚无入户核查记录|逐步办理"):
        close_case(red, feedback="未核查就想办结", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError, match="逐步办理"):
        move(red, State.ASSISTING, user=users.cadre)
    record_visit(red, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    with pytest.raises(CaseError, match="须落实帮扶措施"):
        close_case(red, feedback="有风险却直接办结", date=D(2025, 9, 30), user=users.cadre)
    with pytest.raises(CaseError, match="尚未录入帮扶措施"):
        move(red, State.ASSISTING, user=users.cadre)
    add_measure(red, kind="临时救助", date=D(2025, 9, 30), amount=100000, user=users.cadre)
    with pytest.raises(CaseError, match="尚无帮扶反馈"):
        close_case(red, user=users.cadre)
    red.refresh_from_db()
    assert red.state == State.ASSISTING
    # a refused step wrote nothing: no feedback, no event, no audit entry of its own
    assert not red.feedback.exists()
    assert CaseEvent.objects.filter(case=red).count() == 1 + 2 + 2
    assert len(audit_rows(red)) == 4
