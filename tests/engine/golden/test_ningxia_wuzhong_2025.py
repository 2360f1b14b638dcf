"""Golden settlements for ningxia-wuzhong-2025, worked by hand from RULES.md §3 and the pack.

Seed: 000_28945524f016ccdd.txt (宁夏 bulletin, 2025-08; 吴忠: 同心, 盐池). Baseline basic
insurance (level 2: D 500, r 0.80; r14 0.65; r11 0.50), CI (D 15,000, 0.60 on the first 50,000
above D) and assistance (特困 0/80%, 低保 0/75%, 返贫致贫 1,500/70%, cap 50,000). The seed
gives: general-outpatient cap11 380; CI tilt with the deductible lowered to a fixed 3,000 and
+5 pp (○ for 特困/低保/返贫致贫, no cap).
"""

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "ningxia-wuzhong-2025"


def test_general_outpatient_claims_stop_at_the_380_annual_cap():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2025-02-01", "medfee_sumamt": "400.00"},
            {**gp, "setl_id": "G2", "setl_date": "2025-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2025-04-01", "medfee_sumamt": "200.00"},
            {**gp, "setl_id": "G4", "setl_date": "2025-05-01", "medfee_sumamt": "50.00"},
        ],
    )
    # 400 × 0.50 = 200 (paid 200); psn 200
    assert money(res["G1"]) == bill(hifp="200.00", fund="200.00", psn="200.00")
    # 300 × 0.50 = 150 (paid 350); psn 150
    assert money(res["G2"]) == bill(hifp="150.00", fund="150.00", psn="150.00")
    # 200 × 0.50 = 100, capped to 380 − 350 = 30; psn 200 − 30 = 170
    assert money(res["G3"]) == bill(hifp="30.00", fund="30.00", psn="170.00")
    # 50 × 0.50 = 25, capped to 380 − 380 = 0; psn 50
    assert money(res["G4"]) == bill(fund="0.00", psn="50.00")


def test_a_dibao_patient_gets_the_fixed_3000_deductible_and_five_more_points():
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
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2025-01-01"}],
    )
    # both: inscp 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # 低保: CI (18,400 − 3,000) × 0.65 = 10,010; maf (18,400 − 10,010) = 8,390 × 0.75 = 6,292.50
    #   fund 71,600 + 10,010 + 6,292.50 = 87,902.50; psn 100,000 − 87,902.50 = 12,097.50
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="10010.00", maf="6292.50", fund="87902.50", psn="12097.50"
    )
    assert res["S1"]["group"] == "低保"
    # ordinary: CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S2"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S2"]["group"] is None


def test_a_tekun_chronic_patient_is_paid_above_the_fixed_3000_even_below_half_the_deductible():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-02-10",
                "med_type": "14",
                "medfee_sumamt": "20000.00",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2024-01-01"}],
    )
    # hifp 20,000 × 0.65 = 13,000; CI base 7,000 → (7,000 − 3,000) × 0.65 = 2,600
    # maf (7,000 − 2,600) = 4,400 × 0.80 = 3,520
    # fund 13,000 + 2,600 + 3,520 = 19,120; psn 20,000 − 19,120 = 880
    assert money(res["S1"]) == bill(
        hifp="13000.00", hifmi="2600.00", maf="3520.00", fund="19120.00", psn="880.00"
    )


def test_a_person_tagged_fanpin_from_april_settles_january_as_ordinary_and_may_on_the_cumulative_base():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-01-15",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            },
            {"setl_id": "S2", "setl_date": "2025-05-15", "medfee_sumamt": "30000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "返贫致贫人口", "begndate": "2025-04-01"}],
    )
    # S1 (ordinary): hifp 71,600; CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S1"]["group"] is None
    # S2 (返贫致贫): hifp (30,000 − 500) × 0.80 = 23,600; CI base 6,400, cum 24,800
    #   CI F(24,800) − F(18,400) = 21,800 × 0.65 − 15,400 × 0.65 = 14,170 − 10,010 = 4,160
    #   maf base: S1 18,400 − 2,040 = 16,360; S2 6,400 − 4,160 = 2,240; cum 18,600
    #   F(18,600) − F(16,360) = (17,100 − 14,860) × 0.70 = 11,970 − 10,402 = 1,568
    #   fund 23,600 + 4,160 + 1,568 = 29,328; psn 30,000 − 29,328 = 672
    assert money(res["S2"]) == bill(
        hifp="23600.00", hifmi="4160.00", maf="1568.00", fund="29328.00", psn="672.00"
    )
    assert res["S2"]["group"] == "返贫致贫"


def test_a_general_outpatient_claim_rounds_half_a_fen_up():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-06-01",
                "med_type": "11",
                "hosp_lv": "1",
                "medfee_sumamt": "100.01",
            }
        ],
    )
    # hifp 100.01 × 0.50 = 50.005 → 50.01 (half-even would give 50.00); psn 100.01 − 50.01 = 50.00
    assert money(res["S1"]) == bill(hifp="50.01", fund="50.01", psn="50.00")


def test_a_person_whose_only_group_is_in_no_benefit_rule_settles_as_ordinary():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2025-07-01",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "1-2级残疾人", "begndate": "2025-01-01"}],
    )
    # 重度残疾 is neither tilted nor assisted: hifp 71,600; CI (18,400 − 15,000) × 0.60 = 2,040
    # fund 73,640; psn 100,000 − 73,640 = 26,360
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )


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
    # CI (12,560 − 3,000) × 0.65 = 6,214; maf (12,560 − 6,214) = 6,346 × 0.80 = 5,076.80
    # fund 27,440 + 6,214 + 5,076.80 = 38,730.80; psn 100,000 − 38,730.80 = 61,269.20
    assert money(res["S1"]) == bill(
        hifp="27440.00", hifmi="6214.00", maf="5076.80", fund="38730.80", psn="61269.20"
    )


def test_two_admissions_of_a_dibao_patient_on_one_day_settle_in_setl_id_order():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "B", "setl_date": "2025-08-01", "medfee_sumamt": "30000.00"},
            {"setl_id": "A", "setl_date": "2025-08-01", "hosp_lv": "1", "medfee_sumamt": "5200.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2025-01-01"}],
    )
    # A first: hifp (5,200 − 200) × 0.90 = 4,500; CI base 700 < 3,000 → 0; maf 700 × 0.75 = 525
    #   fund 5,025; psn 175
    assert money(res["A"]) == bill(hifp="4500.00", maf="525.00", fund="5025.00", psn="175.00")
    # B: hifp (30,000 − 500) × 0.80 = 23,600; CI base 6,400, cum 7,100
    #   CI (7,100 − 3,000) × 0.65 − 0 = 2,665 (B first would give 2,210)
    #   maf (6,400 − 2,665) = 3,735 × 0.75 = 2,801.25
    #   fund 23,600 + 2,665 + 2,801.25 = 29,066.25; psn 30,000 − 29,066.25 = 933.75
    assert money(res["B"]) == bill(
        hifp="23600.00", hifmi="2665.00", maf="2801.25", fund="29066.25", psn="933.75"
    )
