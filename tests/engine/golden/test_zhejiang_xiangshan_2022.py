"""Golden settlements for zhejiang-xiangshan-2022, worked by hand from RULES.md §3 and the pack.

Seed: 003_f9ce34d41e3d46b3.txt (浙江象山, 2022). Baseline basic insurance (level 2: D 500,
r 0.80; level 4: D 1,200, r 0.60; r14 0.65; cap1 300,000), CI (D 15,000, 0.60 on the first
50,000 above D) and assistance (低保 0/75%, 返贫致贫 1,500/70%, cap 50,000; 低保边缘 has none).
The seed gives: CI tilt for 特困/低保/低保边缘 — D −50% = 7,500, every band at 80%, no cap;
tier 4 for 特困/低保/低保边缘 — the year's burden after assistance above 30,000 covered at 100%,
no cap (○ no in-province or referral condition).
"""

from decimal import Decimal

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "zhejiang-xiangshan-2022"


def test_the_seed_003_dibao_patient_with_50000_left_after_assistance_ends_up_paying_30000():
    # 低保户张某: 278万 total, burden after the three tiers 5万余元, finally 3万 of the policy scope
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-06-01",
                "hosp_lv": "4",
                "medfee_sumamt": "2780000.00",
                "fulamt_ownpay_amt": "1980000.00",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"}],
    )
    # inscp 2,780,000 − 1,980,000 = 800,000
    # hifp raw (800,000 − 1,200) × 0.60 = 479,280, capped to cap1 300,000; CI base 500,000
    # CI (500,000 − 7,500) × 0.80 = 394,000 (no cap for the tilted group)
    # maf (500,000 − 394,000) = 106,000 × 0.75 = 79,500, capped to 50,000
    # burden 106,000 − 50,000 = 56,000 ("5万余元"); tier 4 (56,000 − 30,000) × 1.00 = 26,000
    # fund 300,000 + 394,000 + 50,000 + 26,000 = 770,000; psn 2,780,000 − 770,000 = 2,010,000
    assert money(res["S1"]) == bill(
        hifp="300000.00",
        hifmi="394000.00",
        maf="50000.00",
        oth="26000.00",
        fund="770000.00",
        psn="2010000.00",
    )
    # policy-scope self-pay after all tiers: 800,000 − 770,000 = 30,000
    assert Decimal("800000.00") - Decimal(res["S1"]["fund_pay_sumamt"]) == Decimal("30000.00")


def test_a_dibao_bianyuan_persons_policy_scope_burden_stops_at_30000_over_the_year():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S1", "setl_date": "2022-03-01", "medfee_sumamt": "200000.00"},
            {"setl_id": "S2", "setl_date": "2022-09-01", "medfee_sumamt": "300000.00"},
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "低保边缘家庭成员", "begndate": "2022-01-01"}
        ],
    )
    # S1: hifp (200,000 − 500) × 0.80 = 159,600; CI base 40,400 → (40,400 − 7,500) × 0.80 = 26,320
    #   no assistance group; burden 40,400 − 26,320 = 14,080 ≤ 30,000 → tier 4 0
    #   fund 159,600 + 26,320 = 185,920; psn 200,000 − 185,920 = 14,080
    assert money(res["S1"]) == bill(
        hifp="159600.00", hifmi="26320.00", fund="185920.00", psn="14080.00"
    )
    # S2: hifp raw (300,000 − 500) × 0.80 = 239,600, capped to 300,000 − 159,600 = 140,400
    #   CI base 159,600, cum 200,000: 192,500 × 0.80 = 154,000 − 26,320 = 127,680
    #   burden 159,600 − 127,680 = 31,920; cum 46,000 → (46,000 − 30,000) × 1.00 − 0 = 16,000
    #   fund 140,400 + 127,680 + 16,000 = 284,080; psn 300,000 − 284,080 = 15,920 (year: 30,000)
    assert money(res["S2"]) == bill(
        hifp="140400.00", hifmi="127680.00", oth="16000.00", fund="284080.00", psn="15920.00"
    )


def test_a_dibao_patient_gets_critical_illness_at_a_flat_80_percent_an_ordinary_one_at_60():
    claim = {
        "setl_date": "2022-04-01",
        "medfee_sumamt": "100000.00",
        "fulamt_ownpay_amt": "10000.00",
    }
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "psn_no": "P1"},
            {**claim, "setl_id": "S2", "psn_no": "P2"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"}],
    )
    # both: inscp 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # 低保: CI (18,400 − 7,500) × 0.80 = 8,720; maf (18,400 − 8,720) = 9,680 × 0.75 = 7,260
    #   burden 2,420 → tier 4 0; fund 71,600 + 8,720 + 7,260 = 87,580; psn 12,420
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="8720.00", maf="7260.00", fund="87580.00", psn="12420.00"
    )
    assert res["S1"]["group"] == "低保"
    # ordinary: CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S2"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S2"]["group"] is None


def test_each_tier_takes_the_first_of_its_own_groups_for_a_fanpin_and_dibao_bianyuan_person():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-05-01",
                "hosp_lv": "4",
                "medfee_sumamt": "720000.00",
            }
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "返贫致贫人口", "begndate": "2022-01-01"},
            {"psn_no": "P1", "psn_idet_type": "低保边缘家庭成员", "begndate": "2022-01-01"},
        ],
    )
    # hifp raw (720,000 − 1,200) × 0.60 = 431,280, capped to 300,000; CI base 420,000
    # CI tilt (低保边缘 is named, 返贫致贫 is not): (420,000 − 7,500) × 0.80 = 330,000
    # assistance (order 特困, 低保, 返贫致贫, 监测对象 → 返贫致贫): (90,000 − 1,500) × 0.70
    #   = 61,950, capped to 50,000
    # tier 4 (order 特困, 低保, 低保边缘 → 低保边缘): burden 90,000 − 50,000 = 40,000
    #   → (40,000 − 30,000) × 1.00 = 10,000
    # fund 300,000 + 330,000 + 50,000 + 10,000 = 690,000; psn 720,000 − 690,000 = 30,000
    assert money(res["S1"]) == bill(
        hifp="300000.00",
        hifmi="330000.00",
        maf="50000.00",
        oth="10000.00",
        fund="690000.00",
        psn="30000.00",
    )


def test_a_dibao_chronic_claims_assistance_rounds_half_a_fen_up():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-07-01",
                "med_type": "14",
                "medfee_sumamt": "100.30",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"}],
    )
    # hifp 100.30 × 0.65 = 65.195 → 65.20; CI base 35.10 < 7,500 → 0
    # maf 35.10 × 0.75 = 26.325 → 26.33 (half-up; half-even would give 26.32)
    # fund 65.20 + 26.33 = 91.53; psn 100.30 − 91.53 = 8.77
    assert money(res["S1"]) == bill(hifp="65.20", maf="26.33", fund="91.53", psn="8.77")


def test_a_person_tagged_dibao_bianyuan_in_june_is_covered_above_30000_on_the_years_whole_burden():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-02-01",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            },
            {"setl_id": "S2", "setl_date": "2022-07-01", "medfee_sumamt": "400000.00"},
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "低保边缘家庭成员", "begndate": "2022-06-01"}
        ],
    )
    # S1 (ordinary): hifp 71,600; CI (18,400 − 15,000) × 0.60 = 2,040; burden 16,360 (counted)
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S1"]["group"] is None
    # S2 (低保边缘): hifp raw (400,000 − 500) × 0.80 = 319,600, capped to 300,000 − 71,600 = 228,400
    #   CI base 171,600, cum 190,000: tilted F(190,000) − F(18,400) = 182,500 × 0.80 − 10,900 × 0.80
    #   = 146,000 − 8,720 = 137,280; no assistance group
    #   tier 4 base 171,600 − 137,280 = 34,320; cum 16,360 + 34,320 = 50,680
    #   F(50,680) − F(16,360) = 20,680 × 1.00 − 0 = 20,680
    #   fund 228,400 + 137,280 + 20,680 = 386,360; psn 400,000 − 386,360 = 13,640
    #   (the year's policy-scope burden: 16,360 + 13,640 = 30,000)
    assert money(res["S2"]) == bill(
        hifp="228400.00", hifmi="137280.00", oth="20680.00", fund="386360.00", psn="13640.00"
    )
    assert res["S2"]["group"] == "低保边缘"


def test_a_dibao_inpatient_mostly_out_of_catalogue_pays_it_himself_the_hospital_bears_nothing():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-05-01",
                "hosp_lv": "3",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "60000.00",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"}],
    )
    # inscp 40,000; hifp (40,000 − 800) × 0.70 = 27,440; CI base 12,560
    # CI (12,560 − 7,500) × 0.80 = 4,048; maf (12,560 − 4,048) = 8,512 × 0.75 = 6,384
    # tier 4: burden 2,128 ≤ 30,000 → 0; no out-of-catalogue control in this pack
    # fund 27,440 + 4,048 + 6,384 = 37,872; psn 100,000 − 37,872 = 62,128
    assert money(res["S1"]) == bill(
        hifp="27440.00", hifmi="4048.00", maf="6384.00", fund="37872.00", psn="62128.00"
    )


def test_general_outpatient_claims_stop_at_the_baselines_300_annual_cap():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2022-02-01", "medfee_sumamt": "400.00"},
            {**gp, "setl_id": "G2", "setl_date": "2022-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2022-04-01", "medfee_sumamt": "100.00"},
        ],
    )
    # 400 × 0.50 = 200; 300 × 0.50 = 150 capped to 100; 100 × 0.50 = 50 capped to 0
    assert money(res["G1"]) == bill(hifp="200.00", fund="200.00", psn="200.00")
    assert money(res["G2"]) == bill(hifp="100.00", fund="100.00", psn="200.00")
    assert money(res["G3"]) == bill(fund="0.00", psn="100.00")


def test_two_admissions_on_one_day_settle_in_setl_id_order_not_input_order():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S2", "setl_date": "2022-07-01", "medfee_sumamt": "10000.00"},
            {"setl_id": "S1", "setl_date": "2022-07-01", "medfee_sumamt": "70000.00"},
        ],
    )
    # S1 first: hifp (70,000 − 500) × 0.80 = 55,600; CI base 14,400 < 15,000 → 0; psn 14,400
    assert money(res["S1"]) == bill(hifp="55600.00", fund="55600.00", psn="14400.00")
    # S2: hifp 7,600; CI cum 16,800 → 1,800 × 0.60 = 1,080; fund 8,680; psn 1,320
    assert money(res["S2"]) == bill(hifp="7600.00", hifmi="1080.00", fund="8680.00", psn="1320.00")
