"""Screening runs per region pack, worked by hand from RULES.md §3–§4 and the packs.

Each person has no identity (unless said) and inpatient claims at a level-2 hospital with no
self-paid parts, so policy scope = the bill. Shared baseline for such a person:
  basic:  hifp = (bill − 500) × 0.80, annual cap 300,000
  CI:     base = bill − hifp (cumulated over the year), D 15,000, 0.60 up to 50,000 above D,
          0.65 to 100,000, 0.70 beyond
  nothing else (no group: no assistance, no tier 4, no out-of-catalogue control)
  burden (psn_part_amt) = bill − hifp − hifmi
Worked once:
  bill  50,000: hifp 39,600; CI base 10,400 ≤ 15,000 → 0;                burden 10,400
  bill  75,000: hifp 59,600; CI base 15,400 → (400) × 0.60 = 240;         burden 15,160
  bill 150,000: hifp 119,600; CI base 30,400 → 15,400 × 0.60 = 9,240;      burden 21,160
  bill 400,000: hifp min(319,600, cap 300,000) = 300,000; CI base 100,000 →
                50,000 × 0.60 + 35,000 × 0.65 = 52,750;                   burden 47,250
Deadlines count working days after the screening date on the official calendar.
"""

import datetime as dt

import pytest

from fangpin.cli import main
from fangpin.warnings.models import Case, CaseEvent, Change, RunFlag, ScreeningRun, State
from fangpin.warnings.services import close_case, record_visit, run_screening
from tests.warnings.helpers import D, ident_rows, inpatient, person, settled

pytestmark = pytest.mark.django_db


def cases() -> list[tuple]:
    return list(
        Case.objects.order_by("psn_no", "rule").values_list(
            "psn_no", "rule", "year", "level", "amount_opened", "amount_latest", "deadline", "state"
        )
    )


def test_anhui_huaibei_orange_above_10000_with_a_10_working_day_deadline():
    p = person()
    claims = settled("anhui-huaibei-2022", [inpatient(p, "2022-03-01", "50000.00")])
    out = run_screening(D(2022, 6, 30), "anhui-huaibei-2022", claims=claims)
    # burden 10,400 > 10,000 → 橙色; 10 working days after Thursday 30 June 2022 → 14 July
    assert cases() == [
        (p.id_no, "high-cost", 2022, "橙色", 1040000, 1040000, D(2022, 7, 14), "待核查")
    ]
    case = Case.objects.get()
    assert (case.person, case.township, case.village) == (p, p.township, p.village)
    assert (case.level_rank, case.rule_name) == (2, "高额医疗费用预警")
    run = out.run
    assert (run.flagged, run.new_cases, run.escalated, run.unchanged, run.claims) == (1, 1, 0, 0, 1)
    assert run.counts == [
        {
            "rule": "high-cost",
            "name": "高额医疗费用预警",
            "levels": [["黄色", 0], ["橙色", 1], ["红色", 0]],
        }
    ]


def test_shanxi_linxian_everyone_outside_monitoring_is_flagged_above_20000():
    p, q = person(), person()
    claims = settled(
        "shanxi-linxian-2023",
        [inpatient(p, "2023-03-01", "150000.00"), inpatient(q, "2023-03-01", "75000.00")],
    )
    run_screening(D(2023, 6, 30), "shanxi-linxian-2023", claims=claims)
    # p: burden 21,160 > 20,000 (rule "others", not in 监测对象); q: 15,160 is not.
    assert cases() == [
        (p.id_no, "others", 2023, "推送", 2116000, 2116000, D(2023, 7, 14), "待核查")
    ]


def test_sichuan_suining_flags_above_half_of_last_years_income():
    p, q = person(), person()
    claims = settled(
        "sichuan-suining-2022",
        [inpatient(p, "2022-03-01", "75000.00"), inpatient(q, "2022-03-01", "50000.00")],
    )
    run_screening(D(2022, 6, 30), "sichuan-suining-2022", claims=claims)
    # bound 50% × 29,000 (2021) = 14,500: p's 15,160 is above it, q's 10,400 is not
    assert cases() == [
        (p.id_no, "income", 2022, "推送", 1516000, 1516000, D(2022, 7, 14), "待核查")
    ]


def test_zhejiang_xiangshan_flags_only_people_holding_an_identity():
    # 重度残疾 gets no tilt, no assistance and no tier 4 in this pack: the baseline burden.
    p = person(identities=(("1-2级残疾人", "2020-01-01"),))
    q = person()
    claims = settled(
        "zhejiang-xiangshan-2022",
        [inpatient(p, "2022-03-01", "150000.00"), inpatient(q, "2022-03-01", "150000.00")],
        ident_rows(p),
    )
    run_screening(D(2022, 6, 30), "zhejiang-xiangshan-2022", claims=claims)
    # both bear 21,160 > 20,000, but q holds no identity; the identities come from the ledger
    assert cases() == [
        (p.id_no, "high-cost", 2022, "推送", 2116000, 2116000, D(2022, 7, 14), "待核查")
    ]


def test_ningxia_shizuishan_deadline_crosses_national_day_and_both_adjusted_working_days():
    p = person()
    claims = settled("ningxia-shizuishan-2025", [inpatient(p, "2025-03-01", "150000.00")])
    run_screening(D(2025, 9, 26), "ningxia-shizuishan-2025", claims=claims)
    # 10 working days after Friday 26 Sep 2025: 28 Sep (Sunday, worked) 1, 29 Sep 2, 30 Sep 3,
    # 1–8 Oct holiday, 9 Oct 4, 10 Oct 5, 11 Oct (Saturday, worked) 6, 13–16 Oct 7–10 → 16 Oct
    assert cases() == [
        (p.id_no, "high-cost", 2025, "推送", 2116000, 2116000, D(2025, 10, 16), "待核查")
    ]


def test_ningxia_wuzhong_red_within_5_working_days_across_national_day():
    p = person()
    claims = settled("ningxia-wuzhong-2025", [inpatient(p, "2025-03-01", "400000.00")])
    out = run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    # burden 47,250: 红色 (> 20,000) and the income rule (> 2 × 18,000 = 36,000).
    # Red: 5 working days after Fri 26 Sep: 28 Sep (Sunday, worked) 1, 29 Sep 2, 30 Sep 3,
    # 9 Oct 4, 10 Oct 5 → 10 Oct (counting weekdays naively would give 3 Oct, a holiday).
    # Income rule: 7 calendar days → 3 Oct.
    assert cases() == [
        (p.id_no, "income", 2025, "推送", 4725000, 4725000, D(2025, 10, 3), "待核查"),
        (p.id_no, "three-colour", 2025, "红色", 4725000, 4725000, D(2025, 10, 10), "待核查"),
    ]
    assert [c["levels"] for c in out.run.counts] == [
        [["黄色", 0], ["橙色", 0], ["红色", 1]],
        [["推送", 1]],
    ]


def test_baseline_three_colours_open_cases_with_working_day_deadlines_across_national_day():
    p, q = person(), person(identities=(("低保对象", "2024-01-01"),))
    claims = settled(
        "baseline",
        [inpatient(p, "2025-03-01", "150000.00"), inpatient(q, "2025-03-01", "300000.00")],
        ident_rows(q),
    )
    out = run_screening(D(2025, 9, 30), "baseline", claims=claims)
    # p: burden 21,160 → 红色, 5 working days after Tue 30 Sep: 9, 10, 11 (Saturday, worked),
    #   13, 14 Oct. q (低保), bill 300,000: burden 6,467.50 (see tests/engine/test_screen.py)
    #   → 黄色, 20 working days → 4 Nov.
    assert cases() == [
        (p.id_no, "high-cost", 2025, "红色", 2116000, 2116000, D(2025, 10, 14), "待核查"),
        (q.id_no, "high-cost", 2025, "黄色", 646750, 646750, D(2025, 11, 4), "待核查"),
    ]
    assert out.run.pack_id == "baseline"
    assert out.run.counts[0]["levels"] == [["黄色", 1], ["橙色", 0], ["红色", 1]]


def test_a_screening_run_is_written_to_the_audit_trail_with_its_counts(users):
    from fangpin.audit.models import AuditEntry

    p = person()
    claims = settled("ningxia-shizuishan-2025", [inpatient(p, "2025-03-01", "150000.00")])
    first = run_screening(D(2025, 9, 26), "ningxia-shizuishan-2025", users.county, claims=claims)
    again = run_screening(D(2025, 9, 26), "ningxia-shizuishan-2025", claims=claims)
    entries = list(
        AuditEntry.objects.filter(obj_type="screening_run")
        .order_by("pk")
        .values_list("obj_id", "action", "user", "username", "summary")
    )
    assert [(e[0], e[1], e[2]) for e in entries] == [
        (str(first.run.pk), "change", users.county.pk),
        (str(again.run.pk), "change", None),
    ]
    assert entries[1][3] == "fangpin screen-run"
    assert "新增 1，升级 0，未变 0" in entries[0][4] and "新增 0，升级 0，未变 1" in entries[1][4]
    assert p.id_no not in entries[0][4]


def _wuzhong_year(p):
    # 10 Aug, bill 25,000: hifp (25,000 − 500) × 0.80 = 19,600; CI base 5,400 → 0; burden 5,400
    # 20 Sep, bill 120,000: hifp 119,500 × 0.80 = 95,600; CI base 24,400, year 29,800 →
    #   (29,800 − 15,000) × 0.60 = 8,880; burden 120,000 − 95,600 − 8,880 = 15,520
    # year to date after 20 Sep: 5,400 + 15,520 = 20,920 → 红色
    return settled(
        "ningxia-wuzhong-2025",
        [inpatient(p, "2025-08-10", "25000.00"), inpatient(p, "2025-09-20", "120000.00")],
    )


def test_yellow_then_red_escalates_the_same_case_with_a_new_level_and_deadline():
    p = person()
    claims = _wuzhong_year(p)
    first = run_screening(D(2025, 8, 29), "ningxia-wuzhong-2025", claims=claims)
    # 29 Aug: 5,400 → 黄色, 20 working days (no holiday in September) → 26 Sep
    assert cases() == [
        (p.id_no, "three-colour", 2025, "黄色", 540000, 540000, D(2025, 9, 26), "待核查")
    ]
    case = Case.objects.get()
    second = run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    # 26 Sep: 20,920 → 红色, 5 working days across National Day → 10 Oct; still one case
    assert cases() == [
        (p.id_no, "three-colour", 2025, "红色", 540000, 2092000, D(2025, 10, 10), "待核查")
    ]
    case.refresh_from_db()
    assert (case.level_rank, case.level_since, case.escalations) == (3, D(2025, 9, 26), 1)
    assert (second.run.new_cases, second.run.escalated, second.run.unchanged) == (0, 1, 0)
    events = list(case.events.values_list("action", "from_level", "to_level", "run", "username"))
    assert events == [
        ("开案", "", "黄色", first.run.pk, "fangpin screen-run"),
        ("升级", "黄色", "红色", second.run.pk, "fangpin screen-run"),
    ]
    assert "20920.00" in case.events.last().what and "2025-10-10" in case.events.last().what


def test_a_case_is_never_downgraded_by_an_earlier_or_lower_screening():
    p = person()
    claims = _wuzhong_year(p)
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    before = cases()
    # On 29 Aug the same person was only yellow: the red case stays red, amount untouched.
    out = run_screening(D(2025, 8, 29), "ningxia-wuzhong-2025", claims=claims)
    assert cases() == before
    assert (out.run.new_cases, out.run.escalated, out.run.unchanged) == (0, 0, 1)
    assert CaseEvent.objects.count() == 1


def test_re_running_the_same_screening_changes_nothing():
    p, q = person(), person()
    claims = settled(
        "ningxia-wuzhong-2025",
        [inpatient(p, "2025-03-01", "400000.00"), inpatient(q, "2025-03-01", "50000.00")],
    )
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    state = (cases(), list(CaseEvent.objects.values_list("pk", flat=True)))
    case_rows = list(Case.objects.order_by("pk").values())
    again = run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    assert (cases(), list(CaseEvent.objects.values_list("pk", flat=True))) == state
    assert list(Case.objects.order_by("pk").values()) == case_rows
    assert (again.run.new_cases, again.run.escalated, again.run.unchanged) == (0, 0, 3)
    assert ScreeningRun.objects.count() == 2
    assert sorted(again.run.flags.values_list("change", flat=True)) == [Change.UNCHANGED] * 3


def test_a_later_run_at_the_same_level_updates_the_amount_without_an_event():
    p = person()
    first = settled("ningxia-wuzhong-2025", [inpatient(p, "2025-03-01", "50000.00")])
    run_screening(D(2025, 6, 30), "ningxia-wuzhong-2025", claims=first)
    # a second bill of 10,000 on 1 July: hifp 7,600; CI base 2,400, year 12,800 → 0;
    # burden 2,400; year to date 12,800 → still 橙色
    more = settled(
        "ningxia-wuzhong-2025",
        [inpatient(p, "2025-03-01", "50000.00"), inpatient(p, "2025-07-01", "10000.00")],
    )
    run_screening(D(2025, 7, 31), "ningxia-wuzhong-2025", claims=more)
    case = Case.objects.get()
    assert (case.level, case.amount_opened, case.amount_latest, case.amount_date) == (
        "橙色",
        1040000,
        1280000,
        D(2025, 7, 31),
    )
    assert case.events.count() == 1


def test_a_closed_case_is_not_reopened_at_its_level_but_a_higher_level_opens_a_new_one(users):
    p = person()
    claims = _wuzhong_year(p)
    run_screening(D(2025, 8, 29), "ningxia-wuzhong-2025", claims=claims)
    yellow = Case.objects.get()
    record_visit(yellow, date=D(2025, 9, 1), finding="无风险", user=users.cadre)
    close_case(yellow, feedback="家庭收入稳定，无返贫风险", date=D(2025, 9, 2), user=users.cadre)
    # still yellow on 31 Aug: the closed case covers it
    again = run_screening(D(2025, 8, 31), "ningxia-wuzhong-2025", claims=claims)
    assert (again.run.new_cases, again.run.unchanged, Case.objects.count()) == (0, 1, 1)
    assert again.run.flags.get().change == Change.CLOSED
    # red on 26 Sep: a new case, pointing back at the closed one
    run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    red = Case.objects.exclude(pk=yellow.pk).get()
    assert (red.level, red.state, red.previous, red.deadline) == (
        "红色",
        State.PENDING,
        yellow,
        D(2025, 10, 10),
    )


def test_a_flagged_person_missing_from_the_people_ledger_still_gets_a_case():
    claims = settled(
        "ningxia-shizuishan-2025", [inpatient("640324197001019999", "2025-03-01", "150000.00")]
    )
    out = run_screening(D(2025, 9, 26), "ningxia-shizuishan-2025", claims=claims)
    case = Case.objects.get()
    assert (case.psn_no, case.person, case.township) == ("640324197001019999", None, None)
    assert out.run.unmatched == 1
    assert "不在人员台账中" in "\n".join(out.lines())


def test_the_database_refuses_a_second_open_case_for_the_same_person_rule_and_year():
    from django.db import IntegrityError, transaction

    p = person()
    run_screening(
        D(2025, 9, 26),
        "ningxia-shizuishan-2025",
        claims=settled("ningxia-shizuishan-2025", [inpatient(p, "2025-03-01", "150000.00")]),
    )
    case = Case.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(
            **{
                f.attname: getattr(case, f.attname)
                for f in Case._meta.concrete_fields
                if f.name != "id"
            }
        )


def test_a_person_filed_under_a_platform_number_is_matched_by_it():
    p = person()
    p.psn_no = "64000000000000123456"
    p.save()
    claims = settled(
        "ningxia-shizuishan-2025", [inpatient("64000000000000123456", "2025-03-01", "150000.00")]
    )
    run_screening(D(2025, 9, 26), "ningxia-shizuishan-2025", claims=claims)
    assert Case.objects.get().person == p


def test_the_screen_run_command_prints_the_counts_and_writes_the_lists(
    tmp_path, capsys, monkeypatch
):
    from fangpin.warnings import services

    p = person()
    claims = settled("ningxia-wuzhong-2025", [inpatient(p, "2025-03-01", "400000.00")])
    real = services.run_screening
    # The command reads the claims ledger; here the settled frame stands in for it.
    monkeypatch.setattr(
        services,
        "run_screening",
        lambda date, pack_id, user=None, **kw: real(date, pack_id, user, claims=claims),
    )
    code = main(
        [
            "screen-run",
            "--date",
            "2025-09-26",
            "--policy",
            "ningxia-wuzhong-2025",
            "--lists",
            str(tmp_path / "lists"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "预警 2 人次（新增 2，升级 0，未变 0）" in out
    assert "红橙黄三色预警（three-colour）：黄色 0，橙色 0，红色 1" in out
    names = sorted(f.name for f in (tmp_path / "lists").iterdir())
    assert (
        len(names) == 2 and any("民政" in n for n in names) and any("乡村振兴" in n for n in names)
    )
    # re-run: nothing new
    assert main(["screen-run", "--date", "2025-09-26", "--policy", "ningxia-wuzhong-2025"]) == 0
    assert "新增 0，升级 0，未变 2" in capsys.readouterr().out
    assert RunFlag.objects.count() == 4


def test_the_screen_run_command_rejects_a_bad_date(capsys):
    assert main(["screen-run", "--date", "2025-13-01"]) == 2
    assert "--date" in capsys.readouterr().err


def test_screening_dates_are_dates_not_datetimes():
    p = person()
    claims = settled("ningxia-shizuishan-2025", [inpatient(p, "2025-03-01", "150000.00")])
    run_screening(dt.date(2025, 9, 26), "ningxia-shizuishan-2025", claims=claims)
    assert ScreeningRun.objects.get().date == D(2025, 9, 26)
