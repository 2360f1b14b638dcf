"""Golden settlements for sichuan-suining-2022, worked by hand from RULES.md §3 and the pack.

Seed: 001_503a9b82bc51cb07.txt (四川遂宁, 2023-10). The seed says nothing about settlement
figures, so every settlement value is the baseline's (○): level 1: D 200, r 0.90; level 2:
D 500, r 0.80; level 3: D 800, r 0.70; cap1 300,000; r14 0.65; r11 0.50, cap11 300; CI D 15,000,
0.60/0.65/0.70 on 0–50,000/50,000–100,000/above, tilt for 特困/低保/返贫致贫 D 7,500 +5 pp
no cap; assistance 特困 0/80%, 低保 0/75%, cap 50,000; no tier 4, no hospital share.
"""

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "sichuan-suining-2022"


def test_general_outpatient_claims_stop_at_the_300_annual_cap_and_get_no_other_tier():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2022-02-01", "medfee_sumamt": "250.00"},
            {**gp, "setl_id": "G2", "setl_date": "2022-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2022-04-01", "medfee_sumamt": "200.00"},
            {**gp, "setl_id": "G4", "setl_date": "2022-05-01", "medfee_sumamt": "80.00"},
            {**gp, "setl_id": "G5", "setl_date": "2023-01-05", "medfee_sumamt": "100.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2021-01-01"}],
    )
    # 250 × 0.50 = 125 (paid 125); a 特困 person still gets no CI / assistance on type 11
    assert money(res["G1"]) == bill(hifp="125.00", fund="125.00", psn="125.00")
    # 300 × 0.50 = 150 (paid 275)
    assert money(res["G2"]) == bill(hifp="150.00", fund="150.00", psn="150.00")
    # 200 × 0.50 = 100, capped to 300 − 275 = 25; psn 200 − 25 = 175
    assert money(res["G3"]) == bill(hifp="25.00", fund="25.00", psn="175.00")
    # 80 × 0.50 = 40, capped to 300 − 300 = 0
    assert money(res["G4"]) == bill(fund="0.00", psn="80.00")
    # a new calendar year starts a new cap: 100 × 0.50 = 50
    assert money(res["G5"]) == bill(hifp="50.00", fund="50.00", psn="50.00")


def test_an_identity_counts_through_its_end_date_and_not_the_day_after():
    claim = {"hosp_lv": "1", "medfee_sumamt": "20000.00"}
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "setl_date": "2022-03-31"},
            {**claim, "setl_id": "S2", "setl_date": "2022-04-01"},
        ],
        identities=[
            {
                "psn_no": "P1",
                "psn_idet_type": "特困人员",
                "begndate": "2022-01-01",
                "enddate": "2022-03-31",
            }
        ],
    )
    # S1 (特困 on its end date): hifp (20,000 − 200) × 0.90 = 17,820; CI base 2,180 < 7,500 → 0
    #   maf 2,180 × 0.80 = 1,744; fund 17,820 + 1,744 = 19,564; psn 20,000 − 19,564 = 436
    assert money(res["S1"]) == bill(hifp="17820.00", maf="1744.00", fund="19564.00", psn="436.00")
    assert res["S1"]["group"] == "特困"
    # S2 (no identity): hifp 17,820 (deductible per admission); CI cum 4,360 < 15,000 → 0; no maf
    #   fund 17,820; psn 20,000 − 17,820 = 2,180
    assert money(res["S2"]) == bill(hifp="17820.00", fund="17820.00", psn="2180.00")
    assert res["S2"]["group"] is None


def test_chronic_outpatient_and_inpatient_claims_share_one_critical_illness_and_assistance_base():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-02-01",
                "med_type": "14",
                "medfee_sumamt": "30000.00",
            },
            {"setl_id": "S2", "setl_date": "2022-06-01", "medfee_sumamt": "20000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"}],
    )
    # S1 (14): hifp 30,000 × 0.65 = 19,500; CI base 10,500 → (10,500 − 7,500) × 0.65 = 1,950
    #   maf (10,500 − 1,950) = 8,550 × 0.75 = 6,412.50
    #   fund 19,500 + 1,950 + 6,412.50 = 27,862.50; psn 30,000 − 27,862.50 = 2,137.50
    assert money(res["S1"]) == bill(
        hifp="19500.00", hifmi="1950.00", maf="6412.50", fund="27862.50", psn="2137.50"
    )
    # S2 (21, level 2): hifp (20,000 − 500) × 0.80 = 15,600; CI base 4,400, cum 14,900
    #   CI 7,400 × 0.65 − 1,950 = 4,810 − 1,950 = 2,860
    #   maf (4,400 − 2,860) = 1,540 × 0.75 = 1,155
    #   fund 15,600 + 2,860 + 1,155 = 19,615; psn 20,000 − 19,615 = 385
    assert money(res["S2"]) == bill(
        hifp="15600.00", hifmi="2860.00", maf="1155.00", fund="19615.00", psn="385.00"
    )


def test_one_large_admission_reaches_the_basic_cap_and_a_tekun_child_gets_the_tilted_bands():
    claim = {"setl_date": "2022-05-01", "medfee_sumamt": "400000.00"}
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "psn_no": "P1"},
            {**claim, "setl_id": "S2", "psn_no": "P2"},
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "事实无人抚养儿童", "begndate": "2022-01-01"}
        ],
    )
    # both: hifp raw (400,000 − 500) × 0.80 = 319,600, capped to cap1 300,000; CI base 100,000
    # 特困: CI 92,500 above 7,500 → 50,000 × 0.65 + 42,500 × 0.70 = 32,500 + 29,750 = 62,250
    #   maf (100,000 − 62,250) = 37,750 × 0.80 = 30,200
    #   fund 300,000 + 62,250 + 30,200 = 392,450; psn 400,000 − 392,450 = 7,550
    assert money(res["S1"]) == bill(
        hifp="300000.00", hifmi="62250.00", maf="30200.00", fund="392450.00", psn="7550.00"
    )
    assert res["S1"]["group"] == "特困"
    # ordinary: CI 85,000 above 15,000 → 50,000 × 0.60 + 35,000 × 0.65 = 30,000 + 22,750 = 52,750
    #   fund 352,750; psn 400,000 − 352,750 = 47,250
    assert money(res["S2"]) == bill(
        hifp="300000.00", hifmi="52750.00", fund="352750.00", psn="47250.00"
    )


def test_a_city_hospital_admission_rounds_half_a_fen_up():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S1", "setl_date": "2022-07-01", "hosp_lv": "3", "medfee_sumamt": "1000.15"}
        ],
    )
    # hifp (1,000.15 − 800) × 0.70 = 200.15 × 0.70 = 140.105 → 140.11 (half-even would give 140.10)
    # CI 0; fund 140.11; psn 1,000.15 − 140.11 = 860.04
    assert money(res["S1"]) == bill(hifp="140.11", fund="140.11", psn="860.04")


def test_no_reassistance_and_no_hospital_share_even_for_a_tekun_inpatient_mostly_out_of_catalogue():
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
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2022-01-01"}],
    )
    # inscp 40,000; hifp (40,000 − 800) × 0.70 = 27,440; CI base 12,560
    # CI (12,560 − 7,500) × 0.65 = 3,289; maf (12,560 − 3,289) = 9,271 × 0.80 = 7,416.80
    # fund 38,145.80; psn 100,000 − 38,145.80 = 61,854.20 (oth and hosp 0)
    assert money(res["S1"]) == bill(
        hifp="27440.00", hifmi="3289.00", maf="7416.80", fund="38145.80", psn="61854.20"
    )


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
