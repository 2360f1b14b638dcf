"""What a screening run writes for the cases it opens and escalates, now written a table at a
time: each case its 开案 or 升级 event, the run one audit entry naming its counts (none per case),
each flag pointing at the right case, nothing at all for a case a re-run leaves as it is.

Burdens as in test_screening_runs (宁夏吴忠 2025, inpatient at a level-2 hospital, no identity;
黄色 above 5,000, 橙色 above 10,000, 红色 above 20,000):
  bill  25,000 →  5,400 黄色;  bill 50,000 → 10,400 橙色;  bill 150,000 → 21,160 红色;
  25,000 then 150,000: hifp 19,600 + 119,600; CI base 5,400 + 30,400 = 35,800 → 12,480;
      burden 175,000 − 139,200 − 12,480 = 23,320 红色;
  50,000 then 100,000: hifp 39,600 + 79,600; CI base 10,400 + 20,400 = 30,800 → 9,480;
      burden 150,000 − 119,200 − 9,480 = 21,320 红色.
"""

import pytest

from fangpin import audit
from fangpin.audit.models import AuditEntry
from fangpin.units import fen_to_yuan
from fangpin.warnings.models import Case, CaseEvent, Change, RunFlag
from fangpin.warnings.services import SYSTEM_NAME, _yuan, close_case, record_visit, run_screening
from tests.warnings.helpers import D, inpatient, person, settled

pytestmark = pytest.mark.django_db

PACK = "ningxia-wuzhong-2025"
FIELDS = ("user", "username", "role", "action", "obj_type", "ip_address", "user_agent")


def case_entries() -> list[tuple]:
    return list(
        AuditEntry.objects.filter(obj_type="warning_case")
        .order_by("pk")
        .values_list("obj_id", "summary", *FIELDS)
    )


def run_entries() -> list[tuple]:
    return list(
        AuditEntry.objects.filter(obj_type="screening_run")
        .order_by("pk")
        .values_list("obj_id", "summary", *FIELDS)
    )


def test_each_opened_case_gets_its_event_and_the_run_one_audit_entry_with_its_counts(users):
    p, q = person(), person()
    claims = settled(
        PACK, [inpatient(p, "2025-03-01", "25000.00"), inpatient(q, "2025-03-01", "150000.00")]
    )
    out = run_screening(D(2025, 9, 26), PACK, users.county, claims=claims)
    three = {c.psn_no: c for c in Case.objects.filter(rule="three-colour")}
    yellow, red = three[p.id_no], three[q.id_no]
    assert (yellow.level, red.level) == ("黄色", "红色")
    events = list(
        CaseEvent.objects.filter(case__in=[yellow, red])
        .order_by("case_id")
        .values_list("case_id", "run_id", "action", "to_state", "to_level", "username", "user")
    )
    assert events == [
        (yellow.pk, out.run.pk, "开案", "待核查", "黄色", "county", users.county.pk),
        (red.pk, out.run.pk, "开案", "待核查", "红色", "county", users.county.pk),
    ]
    red_event = red.events.get()
    assert red_event.what == "红橙黄三色预警红色预警：年度累计 21160.00 元，2025-10-10 前入户核查"
    assert red_event.at == out.run.started_at
    # One entry for the run, as `audit.record` writes it for the same user; none per case.
    assert case_entries() == []
    model = audit.record(users.county, audit.CHANGE, "screening_run", out.run.pk, "x")
    model_fields = tuple(AuditEntry.objects.filter(pk=model.pk).values_list(*FIELDS).get())
    [entry] = [e for e in run_entries() if e[1] != "x"]
    assert entry[0] == str(out.run.pk) and entry[2:] == model_fields
    n = Case.objects.count()
    assert entry[1] == (
        f"高额费用预警筛查 2025-09-26 {PACK}：预警 {out.run.flagged} 人次，新增 {n}，升级 0，未变 0"
    )
    assert out.run.new_cases == n >= 2


def test_a_scheduled_run_signs_its_events_and_audit_entry_as_the_system():
    p = person()
    run_screening(
        D(2025, 9, 26), PACK, claims=settled(PACK, [inpatient(p, "2025-03-01", "150000.00")])
    )
    assert set(CaseEvent.objects.values_list("username", "user")) == {(SYSTEM_NAME, None)}
    assert {e[2:5] for e in run_entries()} == {(None, SYSTEM_NAME, "")}


def test_an_escalation_and_a_re_run_write_exactly_what_changed(users):
    p = person()
    run_screening(
        D(2025, 6, 30), PACK, claims=settled(PACK, [inpatient(p, "2025-03-01", "25000.00")])
    )
    case = Case.objects.get(rule="three-colour")
    record_visit(case, date=D(2025, 7, 1), finding="有风险", user=users.cadre)
    later = settled(
        PACK, [inpatient(p, "2025-03-01", "25000.00"), inpatient(p, "2025-08-01", "150000.00")]
    )
    before = case_entries()
    out = run_screening(D(2025, 9, 26), PACK, claims=later)
    case.refresh_from_db()
    assert (case.level, case.escalations, case.state) == ("红色", 1, "已核查")
    assert case.escalated_at == out.run.started_at and case.level_since == D(2025, 9, 26)
    escalation = case.events.get(action="升级")
    assert (escalation.from_level, escalation.to_level, escalation.run_id) == (
        "黄色",
        "红色",
        out.run.pk,
    )
    # The visit's entries (the visit and the move) are the case's only ones: the escalation
    # is in the run's entry.
    assert case_entries() == before and len(before) == 2
    assert run_entries()[-1][1].endswith("新增 0，升级 1，未变 0")
    flags = RunFlag.objects.filter(run=out.run, rule="three-colour")
    assert list(flags.values_list("case_id", "level", "change")) == [
        (case.pk, "红色", Change.ESCALATED)
    ]
    entries, events = AuditEntry.objects.count(), CaseEvent.objects.count()
    again = run_screening(D(2025, 9, 26), PACK, claims=later)
    case.refresh_from_db()
    assert case.escalations == 1
    # the re-run: its own run entry, and nothing for any case
    assert AuditEntry.objects.count() == entries + 1 and CaseEvent.objects.count() == events
    assert case_entries() == before
    assert set(RunFlag.objects.filter(run=again.run).values_list("change", flat=True)) == {
        Change.UNCHANGED
    }


def test_a_flag_of_a_closed_case_points_at_it_and_a_higher_level_points_back(users):
    p = person()
    first = settled(PACK, [inpatient(p, "2025-03-01", "50000.00")])
    run_screening(D(2025, 6, 30), PACK, claims=first)
    orange = Case.objects.get(rule="three-colour")
    record_visit(orange, date=D(2025, 7, 1), finding="无风险", user=users.cadre)
    close_case(orange, feedback="无需帮扶", date=D(2025, 7, 2), user=users.cadre)
    same = run_screening(D(2025, 7, 31), PACK, claims=first)
    assert list(RunFlag.objects.filter(run=same.run).values_list("case_id", "change")) == [
        (orange.pk, Change.CLOSED)
    ]
    higher = settled(
        PACK, [inpatient(p, "2025-03-01", "50000.00"), inpatient(p, "2025-08-01", "100000.00")]
    )
    out = run_screening(D(2025, 9, 26), PACK, claims=higher)
    red = Case.objects.get(rule="three-colour", level="红色")
    assert red.previous_id == orange.pk and red.pk != orange.pk
    assert list(RunFlag.objects.filter(run=out.run).values_list("case_id", "change")) == [
        (red.pk, Change.NEW)
    ]


def test_many_audit_entries_at_once_are_written_like_one_at_a_time(users):
    ids = list(range(1, 251))
    assert (
        audit.record_many(users.county, audit.CHANGE, "thing", ids, [f"第 {i} 条" for i in ids])
        == 250
    )
    assert audit.record_many(users.county, audit.CHANGE, "thing", [7], ["一条"]) == 1
    one = audit.record(users.county, audit.CHANGE, "thing", 7, "一条")
    rows = AuditEntry.objects.filter(obj_type="thing").order_by("pk")
    assert rows.count() == 252
    want = tuple(AuditEntry.objects.filter(pk=one.pk).values_list(*FIELDS).get())
    assert set(rows.values_list(*FIELDS)) == {want}
    assert list(rows.values_list("obj_id", "summary")[:2]) == [("1", "第 1 条"), ("2", "第 2 条")]
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record_many(None, "rename", "thing", [1], ["x"])


def test_yuan_of_a_column_reads_as_fen_to_yuan():
    import polars as pl

    values = [0, 1, 9, 10, 99, 100, 101, 2116000, 123456789, -5, -100, -123456]
    got = pl.select(_yuan(pl.Series(values, dtype=pl.Int64)))[:, 0].to_list()
    assert got == [fen_to_yuan(v) for v in values]
