"""High-cost early warning per region pack, worked by hand from RULES.md §3–§4 and the packs.

Most people here have one inpatient claim paid wholly out of catalogue (fulamt_ownpay_amt =
medfee_sumamt): the policy-scope amount is 0, no tier pays, and a person outside the
out-of-catalogue groups bears the whole bill, so the burden is the bill to the fen. Each pack also
has a claim settled through the tiers, its arithmetic in a comment (level 2 hospital: basic D 500,
r 0.80; CI D 15,000 at 0.60 — the shared baseline unless the pack says otherwise).
"""

import datetime as dt
import itertools
import random
import textwrap
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from fangpin.engine.screen import SCREEN_COLUMNS, ScreenError, level_bounds, lowest_bounds, screen
from fangpin.engine.settle import settle_batch
from fangpin.engine.workdays import deadline
from fangpin.policy.groups import GROUP_BIT, groups_mask
from fangpin.policy.registry import PACK_DIR, load_pack
from fangpin.tabular.claims import validate_claims, validate_identities
from fangpin.units import fen_to_yuan
from tests.engine.helpers import claims_frame, identities_frame

D = dt.date
_ids = itertools.count(1)


def own(psn: str, date: str, yuan: str, **extra) -> dict:
    """An inpatient claim wholly out of catalogue: its burden is the bill itself."""
    return {
        "setl_id": f"S{next(_ids)}",
        "psn_no": psn,
        "setl_date": date,
        "medfee_sumamt": yuan,
        "fulamt_ownpay_amt": yuan,
        **extra,
    }


def claim(psn: str, date: str, yuan: str, **extra) -> dict:
    """A claim settled through the tiers (inpatient, level 2 unless given)."""
    return {
        "setl_id": f"S{next(_ids)}",
        "psn_no": psn,
        "setl_date": date,
        "medfee_sumamt": yuan,
        **extra,
    }


def ident(psn: str, identity: str, begin: str, end: str = "") -> dict:
    return {"psn_no": psn, "psn_idet_type": identity, "begndate": begin, "enddate": end}


def screened(
    pack, claims: list[dict], identities: list[dict] = (), *, on: str
) -> list[tuple[str, ...]]:
    """Settle and screen; each flag as (psn_no, rule, level, yuan, deadline)."""
    pack = load_pack(pack) if isinstance(pack, str) else pack
    c = validate_claims(claims_frame(claims))
    i = validate_identities(identities_frame(list(identities)))
    assert c.rejects.height == 0, c.rejects.to_dicts()
    assert i.rejects.height == 0, i.rejects.to_dicts()
    settled = settle_batch(pack, c.good, i.good).claims
    out = screen(pack, settled, i.good, D.fromisoformat(on))
    assert out.columns == list(SCREEN_COLUMNS)
    return [(p, r, lv, fen_to_yuan(a), d.isoformat()) for p, r, lv, a, d in out.iter_rows()]


# --- anhui-huaibei-2022: the baseline's three colours, 5,000 / 10,000 / 20,000 ----------------
# Deadlines from Thursday 30 June 2022 (no holiday in July): 5 working days → 7 July,
# 10 → 14 July, 20 → 28 July.

HB = "anhui-huaibei-2022"


def test_exactly_5000_yuan_is_not_yellow_and_one_fen_more_is():
    flags = screened(
        HB,
        [own("P1", "2022-03-01", "5000.00"), own("P2", "2022-03-01", "5000.01")],
        on="2022-06-30",
    )
    assert flags == [("P2", "high-cost", "黄色", "5000.01", "2022-07-28")]


def test_the_highest_level_that_applies_wins_and_each_bound_is_strict():
    flags = screened(
        HB,
        [
            own("P1", "2022-03-01", "10000.00"),  # not above 10,000: yellow
            own("P2", "2022-03-01", "10000.01"),  # orange
            own("P3", "2022-03-01", "20000.00"),  # not above 20,000: orange
            own("P4", "2022-03-01", "20000.01"),  # red, one row only
            own("P5", "2022-03-01", "95000.00"),  # far above red: still red
        ],
        on="2022-06-30",
    )
    assert flags == [
        ("P1", "high-cost", "黄色", "10000.00", "2022-07-28"),
        ("P2", "high-cost", "橙色", "10000.01", "2022-07-14"),
        ("P3", "high-cost", "橙色", "20000.00", "2022-07-14"),
        ("P4", "high-cost", "红色", "20000.01", "2022-07-07"),
        ("P5", "high-cost", "红色", "95000.00", "2022-07-07"),
    ]


def test_a_settled_burden_of_5400_is_yellow_while_the_same_bill_of_a_tekun_person_is_not():
    flags = screened(
        HB,
        [claim("P1", "2022-03-01", "25000.00"), claim("P2", "2022-03-01", "25000.00")],
        [ident("P2", "特困人员", "2022-01-01")],
        on="2022-06-30",
    )
    # P1: hifp (25,000 − 500) × 0.80 = 19,600; CI base 5,400 ≤ 15,000 → 0; burden 5,400
    # P2 (特困): CI tilt D 7,500 > 5,400 → 0; maf 5,400 × 0.80 = 4,320; burden 1,080
    assert flags == [("P1", "high-cost", "黄色", "5400.00", "2022-07-28")]


def test_every_claim_of_the_year_adds_up_and_general_outpatient_counts_by_default():
    flags = screened(
        HB,
        [
            own("P1", "2022-02-01", "2000.00"),
            own("P1", "2022-04-01", "2900.00"),
            # township outpatient 400: hifp 400 × 0.50 = 200 (cap 300); burden 200
            claim("P1", "2022-05-01", "400.00", med_type="11", hosp_lv="1"),
        ],
        on="2022-06-30",
    )
    # 2,000 + 2,900 + 200 = 5,100
    assert flags == [("P1", "high-cost", "黄色", "5100.00", "2022-07-28")]


# --- shanxi-linxian-2023: 监测对象 above 6,000; everyone else above 20,000 -------------------
# Deadlines: 10 working days after Friday 30 June 2023 → 14 July.

LX = "shanxi-linxian-2023"


def test_monitored_people_flag_above_6000_and_everyone_else_above_20000():
    flags = screened(
        LX,
        [
            own("P1", "2023-03-01", "6000.01"),  # 监测对象
            own("P2", "2023-03-01", "6000.01"),  # nobody: below 20,000
            own("P3", "2023-03-01", "20000.00"),  # nobody: not above 20,000
            own("P4", "2023-03-01", "20000.01"),  # nobody → others
            own("P5", "2023-03-01", "25000.00"),  # 监测对象: monitored only, never both
            own("P6", "2023-03-01", "25000.00"),  # 优抚: not 监测对象 → others
        ],
        [
            ident("P1", "脱贫不稳定户", "2023-01-01"),
            ident("P5", "突发严重困难户", "2022-05-01"),
            # 优抚 has no benefit in this pack, so P6 bears the whole bill
            ident("P6", "重点优抚对象", "2022-05-01"),
        ],
        on="2023-06-30",
    )
    assert flags == [
        ("P1", "monitored", "推送", "6000.01", "2023-07-14"),
        ("P5", "monitored", "推送", "25000.00", "2023-07-14"),
        ("P4", "others", "推送", "20000.01", "2023-07-14"),
        ("P6", "others", "推送", "25000.00", "2023-07-14"),
    ]


def test_the_population_is_decided_by_the_identities_active_on_the_screening_date():
    flags = screened(
        LX,
        [own(p, "2023-03-01", "7000.00") for p in ("P1", "P2", "P3")],
        [
            # ended before the date: not monitored
            ident("P1", "边缘易致贫户", "2022-01-01", "2023-05-31"),
            # tagged after the claim, before the date
            ident("P2", "边缘易致贫户", "2023-06-01"),
            # tagged on the date itself
            ident("P3", "边缘易致贫户", "2023-06-30"),
        ],
        on="2023-06-30",
    )
    assert flags == [
        ("P2", "monitored", "推送", "7000.00", "2023-07-14"),
        ("P3", "monitored", "推送", "7000.00", "2023-07-14"),
    ]


def test_a_monitored_persons_burden_after_assistance_of_6060_is_flagged():
    flags = screened(
        LX,
        [claim("P1", "2023-03-01", "50100.00", fulamt_ownpay_amt="100.00")],
        [ident("P1", "边缘易致贫户", "2023-01-01")],
        on="2023-06-30",
    )
    # inscp 50,100 − 100 = 50,000; hifp (50,000 − 500) × 0.80 = 39,600; CI base 10,400 ≤ 15,000 → 0
    # assistance 监测对象 (10,400 − 3,000) × 0.60 = 4,440; tier 4 base 5,960 ≤ 20,000 → 0
    # burden 50,100 − 39,600 − 4,440 = 6,060 > 6,000
    assert flags == [("P1", "monitored", "推送", "6060.00", "2023-07-14")]


def test_what_the_hospital_bears_is_not_part_of_the_burden():
    flags = screened(
        LX,
        [own("P1", "2023-03-01", "150000.00")],
        [ident("P1", "低保对象", "2022-01-01")],
        on="2023-06-30",
    )
    # 低保 inpatient, level 2: out-of-catalogue limit 15% of 150,000 = 22,500; the hospital bears
    # 150,000 − 22,500 = 127,500; burden 22,500 > 20,000 (低保 is not 监测对象 → others)
    assert flags == [("P1", "others", "推送", "22500.00", "2023-07-14")]


# --- sichuan-suining-2022: above 50% of 2021's income 29,000 = 14,500 ------------------------
# Deadline: 10 working days after Friday 30 September 2022, across National Day (1–7 October
# off; Saturday 8 and Sunday 9 October worked): 8 (1), 9 (2), 10–14 (3–7), 17–19 (8–10) → 19 Oct.

SN = "sichuan-suining-2022"


def test_the_income_bound_is_half_of_last_years_income_and_strict():
    flags = screened(
        SN,
        [own("P1", "2022-03-01", "14500.00"), own("P2", "2022-03-01", "14500.01")],
        on="2022-09-30",
    )
    assert flags == [("P2", "income", "推送", "14500.01", "2022-10-19")]


def test_settled_burdens_either_side_of_14500():
    flags = screened(
        SN,
        [claim("P1", "2022-03-01", "72000.00"), claim("P2", "2022-03-01", "70000.00")],
        on="2022-09-30",
    )
    # P1: hifp (72,000 − 500) × 0.80 = 57,200; CI base 14,800 ≤ 15,000 → 0; burden 14,800
    # P2: hifp (70,000 − 500) × 0.80 = 55,600; burden 14,400 ≤ 14,500
    assert flags == [("P1", "income", "推送", "14800.00", "2022-10-19")]


def test_screening_a_year_whose_previous_income_the_pack_lacks_names_the_pack_and_the_year():
    with pytest.raises(
        ScreenError, match=r"pack sichuan-suining-2022 has no reference income .* for 2022"
    ):
        screened(SN, [own("P1", "2023-03-01", "30000.00")], on="2023-03-31")


def test_an_income_bound_between_two_fen_keeps_strictly_above_exact():
    pack = load_pack(SN)
    warnings = pack.policy_at(D(2022, 6, 1)).warnings
    odd = type(warnings)(warnings.income_name, {2021: 2_900_001}, warnings.rules)
    # half of 29,000.01 is 14,500.005: 14,500.00 is not above it, 14,500.01 is
    assert level_bounds(pack.id, odd, odd.rules[0], D(2022, 6, 1)) == [1_450_000]


# --- zhejiang-xiangshan-2022: anyone with an identity, above 20,000 -----------------------------
# Deadline: 10 working days after Friday 30 December 2022 (Monday 2 January 2023 off):
# 3–6 January (1–4), 9–13 (5–9), 16 (10) → 16 January 2023.

XS = "zhejiang-xiangshan-2022"


def test_only_people_holding_an_identity_on_the_date_are_screened():
    flags = screened(
        XS,
        [
            # 稳定脱贫: any identity counts, even one with no benefit
            own("P1", "2022-03-01", "20000.01"),
            own("P2", "2022-03-01", "30000.00"),  # no identity
            own("P3", "2022-03-01", "30000.00"),  # identity ended before the date
            own("P4", "2022-03-01", "30000.00"),  # identity begins after the date
        ],
        [
            ident("P1", "稳定脱贫人口", "2021-01-01"),
            ident("P3", "重点优抚对象", "2021-01-01", "2022-06-30"),
            ident("P4", "重点优抚对象", "2023-01-01"),
        ],
        on="2022-12-30",
    )
    assert flags == [("P1", "high-cost", "推送", "20000.01", "2023-01-16")]


def test_a_severely_disabled_persons_burden_of_21160_is_flagged():
    flags = screened(
        XS,
        [claim("P1", "2022-03-01", "150000.00")],
        [ident("P1", "1-2级残疾人", "2020-01-01")],
        on="2022-12-30",
    )
    # 重度残疾 has no tilt, assistance or re-assistance in this pack:
    # hifp (150,000 − 500) × 0.80 = 119,600; CI (30,400 − 15,000) × 0.60 = 9,240; burden 21,160
    assert flags == [("P1", "high-cost", "推送", "21160.00", "2023-01-16")]


# --- ningxia-wuzhong-2025: 红橙黄 (同心) and 2 × 2024's rural income 18,000 = 36,000 (盐池) -------
# From Tuesday 30 September 2025 (1–8 October off, Saturday 11 October worked):
# red 5 working days → 9, 10, 11, 13, 14 October; orange 10 → 21 October; yellow 20 → 4 November;
# the income rule: 7 calendar days → 7 October, holiday or not.

WZ = "ningxia-wuzhong-2025"


def test_three_colour_deadlines_cross_the_national_day_holiday():
    flags = screened(
        WZ,
        [
            own("P1", "2025-03-01", "5000.01"),
            own("P2", "2025-03-01", "10000.01"),
            own("P3", "2025-03-01", "20000.01"),
        ],
        on="2025-09-30",
    )
    assert flags == [
        ("P1", "three-colour", "黄色", "5000.01", "2025-11-04"),
        ("P2", "three-colour", "橙色", "10000.01", "2025-10-21"),
        ("P3", "three-colour", "红色", "20000.01", "2025-10-14"),
    ]


def test_red_five_working_days_after_friday_26_september_count_the_adjusted_sunday():
    # Sunday 28 September (1, worked), 29 (2), 30 (3), [1–8 October off], 9 (4), 10 (5)
    flags = screened(WZ, [own("P1", "2025-03-01", "20000.01")], on="2025-09-26")
    assert flags == [("P1", "three-colour", "红色", "20000.01", "2025-10-10")]


def test_the_second_rule_flags_above_36000_with_a_deadline_in_calendar_days():
    flags = screened(
        WZ,
        [own("P1", "2025-03-01", "36000.00"), own("P2", "2025-03-01", "36000.01")],
        on="2025-09-30",
    )
    assert flags == [
        ("P1", "three-colour", "红色", "36000.00", "2025-10-14"),
        ("P2", "three-colour", "红色", "36000.01", "2025-10-14"),
        ("P2", "income", "推送", "36000.01", "2025-10-07"),
    ]


def test_claims_after_the_date_and_claims_of_the_previous_year_are_not_counted():
    claims = [
        own("P1", "2024-12-31", "30000.00"),  # last year
        own("P1", "2025-01-01", "1000.00"),
        own("P1", "2025-09-30", "4000.00"),  # on the date: counted
        own("P1", "2025-10-01", "30000.00"),  # after the date
    ]
    assert screened(WZ, claims, on="2025-09-30") == []  # 1,000 + 4,000 = 5,000, not above
    # a day later the 1 October claim counts: 35,000 → red; 5 working days after 1 October
    # → 9, 10, 11, 13, 14 October
    assert screened(WZ, claims, on="2025-10-01") == [
        ("P1", "three-colour", "红色", "35000.00", "2025-10-14")
    ]


def test_a_dibao_patients_burden_of_12097_50_is_orange_and_the_same_bill_without_identity_red():
    bill = {"yuan": "100000.00", "fulamt_ownpay_amt": "10000.00"}
    flags = screened(
        WZ,
        [claim("P1", "2025-03-01", **bill), claim("P2", "2025-03-01", **bill)],
        [ident("P1", "低保对象", "2025-01-01")],
        on="2025-09-30",
    )
    # both: inscp 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # P1 (低保): CI (18,400 − 3,000) × 0.65 = 10,010; maf 8,390 × 0.75 = 6,292.50;
    #   burden 100,000 − 71,600 − 10,010 − 6,292.50 = 12,097.50 → orange
    # P2: CI (18,400 − 15,000) × 0.60 = 2,040; burden 100,000 − 73,640 = 26,360 → red
    assert flags == [
        ("P1", "three-colour", "橙色", "12097.50", "2025-10-21"),
        ("P2", "three-colour", "红色", "26360.00", "2025-10-14"),
    ]


def test_screening_in_2026_needs_the_2025_income_which_the_pack_does_not_have():
    with pytest.raises(
        ScreenError, match=r"pack ningxia-wuzhong-2025 .* for 2025, which rule income needs"
    ):
        screened(WZ, [own("P1", "2026-03-01", "1000.00")], on="2026-03-31")


def test_each_rules_lowest_bound_works_out_income_multiples_and_needs_the_income_too():
    assert lowest_bounds(load_pack(WZ), D(2025, 10, 31)) == [
        ("psn_part_amt", frozenset({0, 1, 2}), 500_000),
        ("psn_part_amt", frozenset({0, 1, 2}), 3_600_000),
    ]
    with pytest.raises(ScreenError, match=r"for 2025, which rule income needs"):
        lowest_bounds(load_pack(WZ), D(2026, 3, 31))


# --- ningxia-shizuishan-2025: everyone above 20,000 ------------------------------------------
# Deadline: 10 working days after Wednesday 31 December 2025 (1–3 January 2026 off, Sunday 4
# January worked): 4 (1), 5–9 (2–6), 12–15 (7–10) → 15 January 2026.

SZS = "ningxia-shizuishan-2025"


def test_the_same_bill_flags_an_ordinary_person_but_not_an_orphan_after_the_tilt_and_assistance():
    flags = screened(
        SZS,
        [claim("P1", "2025-03-01", "150000.00"), claim("P2", "2025-03-01", "150000.00")],
        [ident("P2", "孤儿", "2020-01-01")],
        on="2025-12-31",
    )
    # both: hifp (150,000 − 500) × 0.80 = 119,600; CI base 30,400
    # P1: CI (30,400 − 15,000) × 0.60 = 9,240; burden 21,160 > 20,000
    # P2 (孤儿 → 特困): CI D 15,000 × 0.30 = 4,500, 0.65: 25,900 × 0.65 = 16,835;
    #   maf (30,400 − 16,835) × 0.80 = 10,852; burden 2,713
    assert flags == [("P1", "high-cost", "推送", "21160.00", "2026-01-15")]


def test_exactly_20000_yuan_is_not_flagged_in_shizuishan():
    flags = screened(
        SZS,
        [own("P1", "2025-06-01", "20000.00"), own("P2", "2025-06-01", "20000.01")],
        on="2025-12-31",
    )
    assert flags == [("P2", "high-cost", "推送", "20000.01", "2026-01-15")]


# --- baseline: the shared rule every pack without its own uses ---------------------------------
# One rule on psn_part_amt, everyone, 黄 5,000 / 橙 10,000 / 红 20,000 in 20 / 10 / 5 working days.
# From Tuesday 30 September 2025 the deadlines are those of 吴忠's three colours above:
# red 14 October, orange 21 October, yellow 4 November.

BL = "baseline"


def test_the_baseline_flags_three_colours_by_the_settled_burden_across_national_day():
    flags = screened(
        BL,
        [
            own("P1", "2025-03-01", "5000.00"),  # not above 5,000
            own("P2", "2025-03-01", "10000.01"),
            claim("P3", "2025-03-01", "150000.00"),
            claim("P4", "2025-03-01", "300000.00"),
            claim("P5", "2025-03-01", "150000.00"),
        ],
        [ident("P4", "低保对象", "2024-01-01"), ident("P5", "低保对象", "2024-01-01")],
        on="2025-09-30",
    )
    # P3, no identity: burden 21,160 (see test_screening_runs) → 红色
    # P4 (低保), bill 300,000: hifp 299,500 × 0.80 = 239,600; CI base 60,400, tilted D 7,500:
    #   50,000 × 0.65 + 2,900 × 0.70 = 34,530; assistance (60,400 − 34,530) × 0.75 = 19,402.50;
    #   burden 25,870 − 19,402.50 = 6,467.50 → 黄色
    # P5 (低保), bill 150,000: CI (30,400 − 7,500) × 0.65 = 14,885; assistance 15,515 × 0.75 =
    #   11,636.25; burden 3,878.75 → nothing
    assert flags == [
        ("P2", "high-cost", "橙色", "10000.01", "2025-10-21"),
        ("P3", "high-cost", "红色", "21160.00", "2025-10-14"),
        ("P4", "high-cost", "黄色", "6467.50", "2025-11-04"),
    ]


# --- a pack's own rule: policy-scope self-pay, chosen med types, named groups --------------------


def _pack(tmp_path: Path, body: str, name: str = "test-screen-2025"):
    (tmp_path / "baseline.yaml").write_text(
        (PACK_DIR / "baseline.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    head = (
        f"id: {name}\nname: 测试\nseed: 000_x.txt\nextends: baseline\neffective_from: 2025-01-01\n"
    )
    (tmp_path / f"{name}.yaml").write_text(head + textwrap.dedent(body), encoding="utf-8")
    return load_pack.__wrapped__(name, tmp_path)


SELF_PAY = """\
values:
  warnings:
    rules:
      - id: !assumed selfpay
        name: !assumed 政策范围内自付预警
        measure: !assumed inscp_selfpay
        med_types: !assumed [14, 21]
        population: !assumed {in: [特困, 低保]}
        levels:
          - {name: !assumed 推送, above: !assumed 1000, deadline: !assumed {calendar_days: 3}}
"""


def test_inscp_selfpay_sums_policy_scope_self_pay_over_the_rules_med_types_only(tmp_path):
    pack = _pack(tmp_path, SELF_PAY)
    flags = screened(
        pack,
        [
            claim("P1", "2025-03-01", "26000.00", fulamt_ownpay_amt="1000.00"),
            # general outpatient: not one of the rule's med types
            claim("P1", "2025-04-01", "400.00", med_type="11", hosp_lv="1"),
            claim("P2", "2025-03-01", "26000.00", fulamt_ownpay_amt="1000.00"),  # not in the groups
        ],
        [ident("P1", "低保对象", "2025-01-01")],
        on="2025-09-30",
    )
    # P1 inpatient: inscp 25,000; hifp 19,600; CI base 5,400 ≤ tilted D 7,500 → 0;
    # maf 5,400 × 0.75 = 4,050; policy-scope self-pay 25,000 − 19,600 − 4,050 = 1,350
    # (the burden would be 2,350 with the 1,000 out of catalogue); the outpatient claim is left out
    assert flags == [("P1", "selfpay", "推送", "1350.00", "2025-10-03")]


def test_the_rules_in_force_on_the_screening_date_are_used(tmp_path):
    body = """\
    values: {}
    changes:
      - from: 2025-07-01
        values:
          warnings:
            rules:
              - id: !assumed later
                name: !assumed 下半年预警
                measure: !assumed psn_part_amt
                population: !assumed all
                levels:
                  - {name: !assumed 推送, above: !assumed 8000, deadline: !assumed {calendar_days: 10}}
    """
    pack = _pack(tmp_path, body)
    claims = [own("P1", "2025-03-01", "6000.00")]
    assert screened(pack, claims, on="2025-06-30") == [
        ("P1", "high-cost", "黄色", "6000.00", "2025-07-28")
    ]
    assert screened(pack, claims, on="2025-07-01") == []


# --- the engine against a plain reference, on random data -------------------------------------


def _reference(pack, claims: list[dict], ids: list[dict], date: dt.date) -> list[tuple]:
    """RULES §4 written the slow way: loops, dicts, and exact fractions for income bounds."""
    w = pack.policy_at(date).warnings
    masks: dict[str, int] = defaultdict(int)
    for r in ids:
        if r["begndate"] <= date and (r["enddate"] is None or date <= r["enddate"]):
            masks[r["psn_no"]] |= r["group_bit"]
    out = []
    for rule in w.rules:
        kinds = {{11: 0, 14: 1, 21: 2}[m] for m in rule.med_types}
        bounds = [
            Fraction(lv.above)
            if lv.above is not None
            else Fraction(w.reference_income[date.year - 1] * lv.income_multiple, 10_000)
            for lv in rule.levels
        ]
        sums: dict[str, int] = defaultdict(int)
        for c in claims:
            if c["setl_date"].year == date.year and c["setl_date"] <= date and c["kind"] in kinds:
                if rule.measure == "psn_part_amt":
                    sums[c["psn_no"]] += c["psn_part_amt"]
                else:
                    sums[c["psn_no"]] += (
                        c["inscp_scp_amt"]
                        - c["hifp_pay"]
                        - c["hifmi_pay"]
                        - c["maf_pay"]
                        - c["oth_pay"]
                    )
        wanted = groups_mask(rule.groups)
        for psn in sorted(sums):
            m = masks.get(psn, 0)
            member = {
                "all": True,
                "any_identity": m != 0,
                "in": m & wanted != 0,
                "not_in": m & wanted == 0,
            }
            reached = [lv for lv, b in zip(rule.levels, bounds, strict=True) if sums[psn] > b]
            if member[rule.population] and reached:
                out.append((psn, rule.id, reached[-1].name, sums[psn], deadline(date, reached[-1])))
    return out


@pytest.mark.parametrize(
    ("pack_id", "on"),
    [
        (HB, "2022-08-15"),
        (LX, "2023-08-15"),
        (SN, "2022-08-15"),
        (XS, "2022-08-15"),
        (WZ, "2025-08-15"),
        (SZS, "2025-08-15"),
        (BL, "2025-08-15"),
    ],
)
def test_screening_agrees_with_a_plain_reference_on_random_claims(pack_id, on):
    rng = random.Random(pack_id)
    date = D.fromisoformat(on)
    people = [f"P{i:03d}" for i in range(120)]
    bits = list(GROUP_BIT.values())
    claims = []
    for _ in range(1500):
        day = D(date.year - 1, 12, 1) + dt.timedelta(days=rng.randrange(0, 400))
        inscp = rng.randrange(0, 800_000)
        hifp, hifmi, maf, oth = (rng.randrange(0, inscp // 4 + 1) for _ in range(4))
        claims.append(
            {
                "psn_no": rng.choice(people),
                "setl_date": day,
                "kind": rng.randrange(0, 3),
                "psn_part_amt": rng.randrange(0, 900_000),
                "inscp_scp_amt": inscp,
                "hifp_pay": hifp,
                "hifmi_pay": hifmi,
                "maf_pay": maf,
                "oth_pay": oth,
            }
        )
    ids = []
    for psn in rng.sample(people, 60):
        begin = date + dt.timedelta(days=rng.randrange(-300, 30))
        end = rng.choice([None, begin + dt.timedelta(days=rng.randrange(0, 200))])
        ids.append(
            {"psn_no": psn, "group_bit": rng.choice(bits), "begndate": begin, "enddate": end}
        )
    claims_df = pl.DataFrame(claims).with_columns(pl.col("kind").cast(pl.Int16))
    ids_df = pl.DataFrame(
        ids,
        schema={
            "psn_no": pl.String,
            "group_bit": pl.Int64,
            "begndate": pl.Date,
            "enddate": pl.Date,
        },
    )
    pack = load_pack(pack_id)
    got = screen(pack, claims_df, ids_df, date)
    expected = _reference(pack, claims, ids, date)
    assert expected, "the random data should flag someone"
    assert got.rows() == expected


def test_nobody_flagged_gives_an_empty_frame_with_the_columns():
    out = screen(
        load_pack(LX),
        pl.DataFrame(
            schema={
                "psn_no": pl.String,
                "setl_date": pl.Date,
                "kind": pl.Int16,
                "psn_part_amt": pl.Int64,
            }
        ),
        pl.DataFrame(
            schema={
                "psn_no": pl.String,
                "group_bit": pl.Int64,
                "begndate": pl.Date,
                "enddate": pl.Date,
            }
        ),
        D(2023, 6, 30),
    )
    assert out.height == 0
    assert out.schema == pl.Schema(
        {
            "psn_no": pl.String,
            "rule": pl.String,
            "level": pl.String,
            "amount": pl.Int64,
            "deadline": pl.Date,
        }
    )


def test_a_claims_frame_without_the_settled_columns_is_refused():
    with pytest.raises(ScreenError, match="claims frame lacks column"):
        screen(load_pack(HB), pl.DataFrame({"psn_no": ["P1"]}), pl.DataFrame(), D(2022, 6, 30))


# --- grouping on a hash of the person number, and the exact fallback when two people clash -----


@pytest.fixture
def clashing_hash(monkeypatch):
    """Make the first person hash the text's length, so every same-length person number clashes."""
    import fangpin.engine.screen as screen_module

    real = screen_module._person_hash
    exact_calls = []

    def by_length(seed: int) -> pl.Expr:
        if seed == screen_module._SEED_A:
            return pl.col("psn_no").str.len_bytes().cast(pl.UInt64)
        return real(seed)

    def exact(*args, **kwargs):
        exact_calls.append(1)
        return real_exact(*args, **kwargs)

    real_exact = screen_module._per_person_exact
    monkeypatch.setattr(screen_module, "_person_hash", by_length)
    monkeypatch.setattr(screen_module, "_per_person_exact", exact)
    return exact_calls


def test_two_people_sharing_a_hash_are_still_screened_apart(clashing_hash):
    claims = [own("P1", "2025-03-01", "6000.00"), own("P2", "2025-03-01", "25000.00")]
    assert screened(WZ, claims, on="2025-09-30") == [
        ("P1", "three-colour", "黄色", "6000.00", "2025-11-04"),
        ("P2", "three-colour", "红色", "25000.00", "2025-10-14"),
    ]
    assert clashing_hash, "the clash should send screening to the exact grouping"


def test_an_identity_of_someone_else_sharing_the_hash_is_not_given_to_a_claimant(clashing_hash):
    # Q1 holds the identity, P1 has the claims: any_identity must not flag P1
    flags = screened(
        XS,
        [own("P1", "2022-03-01", "30000.00")],
        [ident("Q1", "低保对象", "2022-01-01")],
        on="2022-12-30",
    )
    assert flags == []
    assert clashing_hash, "the clash should send screening to the exact grouping"


def test_without_a_clash_the_exact_grouping_is_not_needed(monkeypatch):
    import fangpin.engine.screen as screen_module

    def refuse(*args, **kwargs):
        raise AssertionError("exact grouping used without a clash")

    monkeypatch.setattr(screen_module, "_per_person_exact", refuse)
    flags = screened(
        XS,
        [own("P1", "2022-03-01", "30000.00")],
        [ident("P1", "低保对象", "2022-01-01")],
        on="2022-12-30",
    )
    # 低保 has no out-of-catalogue control in xiangshan: the whole 30,000 is P1's
    assert flags == [("P1", "high-cost", "推送", "30000.00", "2023-01-16")]
