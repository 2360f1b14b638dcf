"""Case steps for many cases at once (`warnings.steps`): the same checks, rows, events and audit
entries as the one-case verbs, a table at a time, and nothing written when any step is refused.

Four people with red warnings of 宁夏吴忠 2025, screened on Friday 26 Sep 2025 as in test_cases.
"""

import pytest

from fangpin.audit.models import AuditEntry
from fangpin.warnings.models import Case, CaseEvent, Feedback, Measure, State, Visit
from fangpin.warnings.services import (
    CaseError,
    add_feedback,
    add_measure,
    close_case,
    record_visit,
    run_screening,
)
from fangpin.warnings.steps import (
    CloseStep,
    FeedbackStep,
    MeasureStep,
    VisitStep,
    add_feedbacks,
    add_measures,
    close_cases,
    record_visits,
)
from tests.warnings.helpers import D, inpatient, person, settled
from tests.warnings.test_case_queries import Counted

pytestmark = pytest.mark.django_db


@pytest.fixture
def reds(users) -> list[Case]:
    people = [person(f"马{i}") for i in range(4)]
    claims = settled(
        "ningxia-wuzhong-2025", [inpatient(p, "2025-03-01", "400000.00") for p in people]
    )
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    cases = list(Case.objects.filter(rule="three-colour").order_by("pk"))
    assert len(cases) == 4
    return cases


def _steps_of(case: Case) -> list[tuple]:
    """What a case holds after its steps, without ids and moments: events (with their audit
    entries' summaries), visits, measures, feedback and its state."""
    case.refresh_from_db()
    events = list(
        case.events.order_by("at", "id").values_list(
            "action", "from_state", "to_state", "username", "what"
        )
    )
    audit = list(
        AuditEntry.objects.filter(obj_type="warning_case", obj_id=str(case.pk))
        .order_by("pk")
        .values_list("username", "role", "summary")
    )
    return [
        case.state,
        case.closed_at is not None,
        events,
        audit,
        list(case.visits.order_by("id").values_list("date", "visitor", "finding", "note")),
        list(case.measures.order_by("id").values_list("kind", "amount", "date", "note")),
        list(case.feedback.order_by("id").values_list("text", "date")),
    ]


def _work_one_by_one(case: Case, user, risk: bool) -> None:
    record_visit(case, date=D(2025, 9, 29), finding="有风险" if risk else "无风险",
                 visitor="王", note="入户", user=user)  # fmt: skip
    if risk:
        add_measure(case, kind="医疗救助", date=D(2025, 9, 30), amount=500000, user=user)
        add_feedback(case, text="救助已到位", date=D(2025, 10, 8), user=user)
    close_case(case, feedback="已办结", date=D(2025, 10, 9), user=user)


def test_a_batch_records_what_the_one_case_verbs_record(reds, users):
    user = users.cadre
    _work_one_by_one(reds[0], user, risk=True)
    _work_one_by_one(reds[1], user, risk=False)
    batch, risky = reds[2:], reds[2]
    record_visits(
        [VisitStep(c, D(2025, 9, 29), "有风险" if c == risky else "无风险", "王", "入户")
         for c in batch],
        user=user,
    )  # fmt: skip
    add_measures([MeasureStep(risky.pk, "医疗救助", D(2025, 9, 30), 500000)], user=user)
    add_feedbacks([FeedbackStep(risky, "救助已到位", D(2025, 10, 8))], user=user)
    closed = close_cases([CloseStep(c, "已办结", D(2025, 10, 9)) for c in batch], user=user)
    assert [c.state for c in closed] == [State.CLOSED, State.CLOSED]
    assert _steps_of(reds[2]) == _steps_of(reds[0])
    assert _steps_of(reds[3]) == _steps_of(reds[1])
    # and what they record is the loop of RULES §4, step by step, by the officer
    state, closed, events, audit, visits, measures, feedback = _steps_of(reds[2])
    assert state == State.CLOSED and closed
    assert [e[:3] for e in events] == [
        ("开案", "", "待核查"),
        ("核查", "", ""),
        ("状态变更", "待核查", "已核查"),
        ("帮扶措施", "", ""),
        ("状态变更", "已核查", "帮扶中"),
        ("反馈", "", ""),
        ("反馈", "", ""),
        ("状态变更", "帮扶中", "已办结"),
    ]
    assert {e[3] for e in events[1:]} == {"yuhai"}
    assert [s for name, _role, s in audit if name == "yuhai"] == [
        "核查：2025-09-29 入户核查：有风险（入户）",
        "状态变更：待核查→已核查",
        "帮扶措施：2025-09-30 医疗救助 5000.00 元",
        "状态变更：已核查→帮扶中",
        "反馈：2025-10-08 反馈：救助已到位",
        "反馈：2025-10-09 反馈：已办结",
        "状态变更：帮扶中→已办结",
    ]
    assert visits == [(D(2025, 9, 29), "王", "有风险", "入户")]
    assert measures == [("医疗救助", 500000, D(2025, 9, 30), "")]
    assert feedback == [("救助已到位", D(2025, 10, 8)), ("已办结", D(2025, 10, 9))]
    assert [e[:3] for e in _steps_of(reds[3])[2]][1:] == [
        ("核查", "", ""),
        ("状态变更", "待核查", "已核查"),
        ("反馈", "", ""),
        ("状态变更", "已核查", "已办结"),
    ]


def test_a_batch_costs_the_same_statements_whatever_its_size(reds, users):
    with Counted() as q:
        visits = record_visits(
            [VisitStep(c, D(2025, 9, 29), "有风险") for c in reds], user=users.cadre
        )
    # as for one case: savepoint, the locked cases, the visits, the states, events, audit
    # entries, release
    assert q.n <= 7, q.sql
    assert len({v.pk for v in visits}) == 4 and all(v.pk for v in visits)
    with Counted() as q:
        add_measures([MeasureStep(c, "临时救助", D(2025, 9, 30), 1000) for c in reds],
                     user=users.cadre)  # fmt: skip
    assert q.n <= 8, q.sql
    with Counted() as q:
        close_cases([CloseStep(c, "已落实", D(2025, 10, 9)) for c in reds], user=users.cadre)
    assert q.n <= 7, q.sql
    assert set(Case.objects.filter(rule="three-colour").values_list("state", flat=True)) == {
        State.CLOSED
    }
    # each case: 开案, then 核查 + move, 措施 + move, 反馈 + move
    assert CaseEvent.objects.filter(case__in=reds).count() == 4 * 7


def test_one_refused_step_refuses_the_batch_and_names_its_case(reds, users):
    record_visit(reds[1], date=D(2025, 9, 29), finding="无风险", user=users.cadre)
    before = (Visit.objects.count(), CaseEvent.objects.count(), AuditEntry.objects.count())
    with pytest.raises(CaseError, match=f"案件 #{reds[3].pk}：核查日期早于预警筛查日期"):
        record_visits(
            [VisitStep(c, D(2025, 9, 29), "有风险") for c in reds[2:3]]
            + [VisitStep(reds[3], D(2025, 9, 1), "有风险")],
            user=users.cadre,
        )
    # a measure after a visit that found no risk is refused, as for one case
    with pytest.raises(CaseError, match=f"案件 #{reds[1].pk}：核查结论为无风险"):
        record_visits([VisitStep(reds[0], D(2025, 9, 29), "有风险")], user=users.cadre)
        add_measures(
            [MeasureStep(c, "医疗救助", D(2025, 9, 30)) for c in reds[:2]], user=users.cadre
        )
    # closing without feedback, and from 待核查
    with pytest.raises(CaseError, match=f"案件 #{reds[1].pk}：尚无帮扶反馈"):
        close_cases([CloseStep(reds[1]), CloseStep(reds[0], "已办结")], user=users.cadre)
    with pytest.raises(CaseError, match=f"案件 #{reds[2].pk}：不能从“待核查”直接转为"):
        close_cases([CloseStep(reds[1], "已办结"), CloseStep(reds[2], "x")], user=users.cadre)
    with pytest.raises(CaseError, match=f"案件 #{reds[2].pk}：尚未入户核查，不能反馈"):
        add_feedbacks(
            [
                FeedbackStep(reds[1], "好", D(2025, 9, 30)),
                FeedbackStep(reds[2], "好", D(2025, 9, 30)),
            ],
            user=users.cadre,
        )
    with pytest.raises(CaseError, match="只能出现一次"):
        add_feedbacks(
            [
                FeedbackStep(reds[1], "好", D(2025, 9, 30)),
                FeedbackStep(reds[1].pk, "又", D(2025, 9, 30)),
            ],
            user=users.cadre,
        )
    # the visit of reds[0] went in (its own batch); nothing else did
    assert Visit.objects.count() == before[0] + 1
    assert not Measure.objects.exists() and not Feedback.objects.exists()
    assert CaseEvent.objects.count() == before[1] + 2
    assert AuditEntry.objects.count() == before[2] + 2
    states = dict(Case.objects.filter(pk__in=[c.pk for c in reds]).values_list("pk", "state"))
    assert [states[c.pk] for c in reds] == [
        State.VERIFIED,
        State.VERIFIED,
        State.PENDING,
        State.PENDING,
    ]


def test_an_empty_batch_does_nothing(users):
    with Counted() as q:
        assert record_visits([], user=users.cadre) == []
        assert close_cases([], user=users.cadre) == []
    assert q.n == 0


def test_a_batch_larger_than_one_query_chunk_takes_every_case(reds, users, monkeypatch):
    from fangpin.warnings import steps

    monkeypatch.setattr(steps, "CHUNK", 3)  # four cases: two chunks for every IN list
    backwards = list(reversed(reds))
    record_visits([VisitStep(c, D(2025, 9, 29), "无风险") for c in backwards], user=users.cadre)
    add_feedbacks([FeedbackStep(c, "已告知", D(2025, 9, 30)) for c in reds], user=users.cadre)
    closed = close_cases([CloseStep(c) for c in backwards], user=users.cadre)
    assert [c.pk for c in closed] == [c.pk for c in backwards]
    assert set(
        Case.objects.filter(pk__in=[c.pk for c in reds]).values_list("state", flat=True)
    ) == {State.CLOSED}
    assert Visit.objects.filter(case__in=reds).count() == 4
    assert CaseEvent.objects.filter(case__in=reds, to_state=State.CLOSED).count() == 4
