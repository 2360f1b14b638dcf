"""Golden settlements for ningxia-shizuishan-2025, worked by hand from RULES.md §3 and the pack.

Seed: 000_28945524f016ccdd.txt (宁夏 bulletin, 2025-08; 石嘴山). Baseline basic insurance
(level 1: D 200, r 0.90; level 2: D 500, r 0.80; level 4: D 1,200, r 0.60; r14 0.65; cap1
300,000), CI (D 15,000; 0.60/0.65/0.70 on 0–50,000/50,000–100,000/above) and assistance
(特困 0/80%, 低保 0/75%, 监测对象 3,000/60%). The seed gives: CI tilt for 特困 (incl. 孤儿),
低保 (incl. 高龄低收入老年人), 返贫致贫 — D −70% = 4,500, +5 pp (○ no cap); assistance annual
cap 160,000.
"""

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "ningxia-shizuishan-2025"


def test_an_orphan_gets_the_deductible_cut_by_70_percent_and_five_more_points():
    claim = {
        "setl_date": "2025-03-01",
        "medfee_sumamt": "100000.00",
        "fulamt_ownpay_amt": "10000.00",
    }
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "psn_no": "P1"},
            {**claim, "setl_id": "S2", "psn_no": "P2"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "孤儿", "begndate": "2025-01-01"}],
    )
    # both: inscp 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # 孤儿 → 特困: CI D 15,000 × 0.30 = 4,500; (18,400 − 4,500) × 0.65 = 9,035
    #   maf (18,400 − 9,035) = 9,365 × 0.80 = 7,492
    #   fund 71,600 + 9,035 + 7,492 = 88,127; psn 100,000 − 88,127 = 11,873
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="9035.00", maf="7492.00", fund="88127.00", psn="11873.00"
    )
    assert res["S1"]["group"] == "特困"
    # ordinary: CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S2"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S2"]["group"] is None


def test_a_tekun_patient_reaches_the_basic_cap_then_the_160000_assistance_cap_with_uncapped_ci():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-02-01",
                "hosp_lv": "4",
                "medfee_sumamt": "700000.00",
            },
            {
                "setl_id": "S2",
                "setl_date": "2025-07-01",
                "hosp_lv": "4",
                "medfee_sumamt": "500000.00",
            },
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2024-01-01"}],
    )
    # S1: hifp raw (700,000 − 1,200) × 0.60 = 419,280, capped to cap1 300,000; CI base 400,000
    #   CI 395,500 above 4,500: 50,000 × 0.65 + 50,000 × 0.70 + 295,500 × 0.75
    #   = 32,500 + 35,000 + 221,625 = 289,125
    #   maf (400,000 − 289,125) = 110,875 × 0.80 = 88,700 (more than the baseline's 50,000 cap)
    #   fund 300,000 + 289,125 + 88,700 = 677,825; psn 700,000 − 677,825 = 22,175
    assert money(res["S1"]) == bill(
        hifp="300000.00", hifmi="289125.00", maf="88700.00", fund="677825.00", psn="22175.00"
    )
    # S2: hifp 0 (cap1 used up); CI base 500,000, cum 900,000
    #   CI F(900,000) = 32,500 + 35,000 + 795,500 × 0.75 = 664,125 (above 400,000: no cap when
    #   tilted); − 289,125 = 375,000
    #   maf base 500,000 − 375,000 = 125,000; cum 235,875 × 0.80 = 188,700; − 88,700 = 100,000,
    #   clamped to 160,000 − 88,700 = 71,300
    #   fund 375,000 + 71,300 = 446,300; psn 500,000 − 446,300 = 53,700
    assert money(res["S2"]) == bill(
        hifmi="375000.00", maf="71300.00", fund="446300.00", psn="53700.00"
    )


def test_two_admissions_on_one_day_settle_in_setl_id_order_across_the_tilted_deductible():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "B",
                "setl_date": "2025-08-01",
                "hosp_lv": "2",
                "medfee_sumamt": "30000.00",
            },
            {"setl_id": "A", "setl_date": "2025-08-01", "hosp_lv": "1", "medfee_sumamt": "5200.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2025-01-01"}],
    )
    # A first: hifp (5,200 − 200) × 0.90 = 4,500; CI base 700 < 4,500 → 0
    #   maf 700 × 0.75 = 525; fund 4,500 + 525 = 5,025; psn 5,200 − 5,025 = 175
    assert money(res["A"]) == bill(hifp="4500.00", maf="525.00", fund="5025.00", psn="175.00")
    # B then: hifp (30,000 − 500) × 0.80 = 23,600; CI base 6,400, cum 7,100
    #   CI (7,100 − 4,500) × 0.65 − 0 = 1,690 (B first would give 1,235)
    #   maf (6,400 − 1,690) = 4,710 × 0.75 = 3,532.50
    #   fund 23,600 + 1,690 + 3,532.50 = 28,822.50; psn 30,000 − 28,822.50 = 1,177.50
    assert money(res["B"]) == bill(
        hifp="23600.00", hifmi="1690.00", maf="3532.50", fund="28822.50", psn="1177.50"
    )


def test_a_low_income_elder_also_monitored_settles_as_dibao_the_first_group_of_the_order():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-04-01",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            }
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "边缘易致贫户", "begndate": "2025-01-01"},
            {"psn_no": "P1", "psn_idet_type": "高龄低收入老年人", "begndate": "2025-01-01"},
        ],
    )
    # 低保 before 监测对象: hifp 71,600; CI (18,400 − 4,500) × 0.65 = 9,035
    # maf (18,400 − 9,035) = 9,365 × 0.75 = 7,023.75 (as 监测对象: no tilt, 3,000/60%)
    # fund 71,600 + 9,035 + 7,023.75 = 87,658.75; psn 100,000 − 87,658.75 = 12,341.25
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="9035.00", maf="7023.75", fund="87658.75", psn="12341.25"
    )
    assert res["S1"]["group"] == "低保"


def test_a_monitored_persons_assistance_deductible_is_met_once_a_year_across_chronic_claims():
    chronic = {"med_type": "14"}
    res = settle_rows(
        PACK,
        claims=[
            {**chronic, "setl_id": "S1", "setl_date": "2025-03-01", "medfee_sumamt": "20000.00"},
            {**chronic, "setl_id": "S2", "setl_date": "2025-04-01", "medfee_sumamt": "10000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "突发严重困难户", "begndate": "2025-01-01"}],
    )
    # S1: hifp 20,000 × 0.65 = 13,000; CI base 7,000 < 15,000 (监测对象 not tilted) → 0
    #   maf (7,000 − 3,000) × 0.60 = 2,400; fund 15,400; psn 20,000 − 15,400 = 4,600
    assert money(res["S1"]) == bill(hifp="13000.00", maf="2400.00", fund="15400.00", psn="4600.00")
    assert res["S1"]["group"] == "监测对象"
    # S2: hifp 10,000 × 0.65 = 6,500; CI cum 10,500 → 0
    #   maf cum 10,500: (10,500 − 3,000) × 0.60 = 4,500 − 2,400 = 2,100
    #   fund 6,500 + 2,100 = 8,600; psn 10,000 − 8,600 = 1,400
    assert money(res["S2"]) == bill(hifp="6500.00", maf="2100.00", fund="8600.00", psn="1400.00")


def test_a_person_tagged_dibao_from_april_settles_january_as_ordinary_and_may_on_the_cumulative_base():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-01-10",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            },
            {"setl_id": "S2", "setl_date": "2025-05-10", "medfee_sumamt": "50000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2025-04-01"}],
    )
    # S1 (ordinary): hifp 71,600; CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S1"]["group"] is None
    # S2 (低保): hifp (50,000 − 500) × 0.80 = 39,600; CI base 10,400, cum 28,800
    #   CI F(28,800) − F(18,400) = 24,300 × 0.65 − 13,900 × 0.65 = 15,795 − 9,035 = 6,760
    #   maf base 10,400 − 6,760 = 3,640; cum 16,360 + 3,640 = 20,000 → 15,000 − 12,270 = 2,730
    #   fund 39,600 + 6,760 + 2,730 = 49,090; psn 50,000 − 49,090 = 910
    assert money(res["S2"]) == bill(
        hifp="39600.00", hifmi="6760.00", maf="2730.00", fund="49090.00", psn="910.00"
    )
    assert res["S2"]["group"] == "低保"


def test_no_reassistance_and_no_hospital_share_even_for_a_tekun_inpatient_mostly_out_of_catalogue():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-05-01",
                "hosp_lv": "3",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "60000.00",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2025-01-01"}],
    )
    # inscp 40,000; hifp (40,000 − 800) × 0.70 = 27,440; CI base 12,560
    # CI (12,560 − 4,500) × 0.65 = 5,239; maf (12,560 − 5,239) = 7,321 × 0.80 = 5,856.80
    # fund 27,440 + 5,239 + 5,856.80 = 38,535.80; psn 100,000 − 38,535.80 = 61,464.20
    assert money(res["S1"]) == bill(
        hifp="27440.00", hifmi="5239.00", maf="5856.80", fund="38535.80", psn="61464.20"
    )


def test_general_outpatient_claims_stop_at_the_baselines_300_annual_cap():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2025-02-01", "medfee_sumamt": "400.00"},
            {**gp, "setl_id": "G2", "setl_date": "2025-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2025-04-01", "medfee_sumamt": "100.00"},
        ],
    )
    # 400 × 0.50 = 200; 300 × 0.50 = 150 capped to 100; 100 × 0.50 = 50 capped to 0
    assert money(res["G1"]) == bill(hifp="200.00", fund="200.00", psn="200.00")
    assert money(res["G2"]) == bill(hifp="100.00", fund="100.00", psn="200.00")
    assert money(res["G3"]) == bill(fund="0.00", psn="100.00")
