"""Golden settlements for the shared baseline, worked by hand from RULES.md §3 and §8.

Every value is the baseline's (○): basic inpatient D 200/500/800/1,200 and r 0.90/0.80/0.70/0.60
by level 1/2/3/4, cap1 300,000 shared by 14 and 21, r14 0.65, r11 0.50 with cap11 300; critical
illness D 15,000, 0.60 on 0–50,000, 0.65 on 50,000–100,000, 0.70 above (measured above D),
cap 400,000; tilt for 特困/低保/返贫致贫: D −50% = 7,500, +5 pp, no cap; assistance 特困 0/80%,
低保 0/75%, 返贫致贫 1,500/70%, 监测对象 3,000/60%, one annual cap 50,000; no tier 4; no
out-of-catalogue control.
"""

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "baseline"


def test_a_dibao_patient_gets_the_tilted_critical_illness_and_assistance_an_ordinary_one_does_not():
    claim = {
        "setl_date": "2024-03-01",
        "medfee_sumamt": "100000.00",
        "fulamt_ownpay_amt": "10000.00",
    }
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "psn_no": "P1"},
            {**claim, "setl_id": "S2", "psn_no": "P2"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2024-01-01"}],
    )
    # both: inscp 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # 低保: CI (18,400 − 7,500) × 0.65 = 7,085; maf (18,400 − 7,085) = 11,315 × 0.75 = 8,486.25
    #   fund 87,171.25; psn 100,000 − 87,171.25 = 12,828.75
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="7085.00", maf="8486.25", fund="87171.25", psn="12828.75"
    )
    assert res["S1"]["group"] == "低保"
    # ordinary: CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S2"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S2"]["group"] is None


def test_an_ordinary_patient_reaches_the_basic_cap_and_the_400000_critical_illness_cap():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2024-02-01",
                "hosp_lv": "4",
                "medfee_sumamt": "1000000.00",
            },
            {"setl_id": "S2", "setl_date": "2024-09-01", "medfee_sumamt": "10000.00"},
        ],
    )
    # S1: hifp raw (1,000,000 − 1,200) × 0.60 = 599,280, capped to cap1 300,000; CI base 700,000
    #   CI 685,000 above D: 50,000 × 0.60 + 50,000 × 0.65 + 585,000 × 0.70 = 30,000 + 32,500
    #   + 409,500 = 472,000, capped to 400,000; no assistance group
    #   fund 300,000 + 400,000 = 700,000; psn 1,000,000 − 700,000 = 300,000
    assert money(res["S1"]) == bill(
        hifp="300000.00", hifmi="400000.00", fund="700000.00", psn="300000.00"
    )
    # S2: cap1 used up → hifp 0; CI increment positive but the cap has no room → 0
    assert money(res["S2"]) == bill(fund="0.00", psn="10000.00")


def test_a_person_monitored_from_july_is_assisted_in_august_on_the_years_whole_base():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S1", "setl_date": "2024-03-01", "medfee_sumamt": "50000.00"},
            {"setl_id": "S2", "setl_date": "2024-08-01", "medfee_sumamt": "40000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "边缘易致贫户", "begndate": "2024-07-01"}],
    )
    # S1 (ordinary): hifp (50,000 − 500) × 0.80 = 39,600; CI base 10,400 < 15,000 → 0
    #   fund 39,600; psn 10,400
    assert money(res["S1"]) == bill(hifp="39600.00", fund="39600.00", psn="10400.00")
    assert res["S1"]["group"] is None
    # S2 (监测对象, not tilted): hifp (40,000 − 500) × 0.80 = 31,600; CI base 8,400, cum 18,800
    #   CI F(18,800) − F(10,400) = 3,800 × 0.60 − 0 = 2,280
    #   maf base: S1 10,400, S2 8,400 − 2,280 = 6,120; cum 16,520
    #   F(16,520) − F(10,400) = 13,520 × 0.60 − 7,400 × 0.60 = 8,112 − 4,440 = 3,672
    #   fund 31,600 + 2,280 + 3,672 = 37,552; psn 40,000 − 37,552 = 2,448
    assert money(res["S2"]) == bill(
        hifp="31600.00", hifmi="2280.00", maf="3672.00", fund="37552.00", psn="2448.00"
    )
    assert res["S2"]["group"] == "监测对象"


def test_there_is_no_reassistance_and_the_patient_pays_the_out_of_catalogue_share_himself():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2024-05-01",
                "hosp_lv": "3",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "60000.00",
            }
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2024-01-01"}],
    )
    # inscp 40,000; hifp (40,000 − 800) × 0.70 = 27,440; CI base 12,560
    # CI (12,560 − 7,500) × 0.65 = 3,289; maf (12,560 − 3,289) = 9,271 × 0.80 = 7,416.80
    # no tier 4, no hospital share even with 60% out of catalogue
    # fund 27,440 + 3,289 + 7,416.80 = 38,145.80; psn 100,000 − 38,145.80 = 61,854.20
    assert money(res["S1"]) == bill(
        hifp="27440.00", hifmi="3289.00", maf="7416.80", fund="38145.80", psn="61854.20"
    )


def test_general_outpatient_claims_stop_at_the_300_annual_cap():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2024-02-01", "medfee_sumamt": "400.00"},
            {**gp, "setl_id": "G2", "setl_date": "2024-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2024-04-01", "medfee_sumamt": "100.00"},
        ],
    )
    # 400 × 0.50 = 200 (paid 200); 300 × 0.50 = 150, capped to 100; 100 × 0.50 = 50, capped to 0
    assert money(res["G1"]) == bill(hifp="200.00", fund="200.00", psn="200.00")
    assert money(res["G2"]) == bill(hifp="100.00", fund="100.00", psn="200.00")
    assert money(res["G3"]) == bill(fund="0.00", psn="100.00")


def test_two_admissions_on_one_day_settle_in_setl_id_order_not_input_order():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S2", "setl_date": "2024-07-01", "medfee_sumamt": "10000.00"},
            {"setl_id": "S1", "setl_date": "2024-07-01", "medfee_sumamt": "70000.00"},
        ],
    )
    # S1 first: hifp (70,000 − 500) × 0.80 = 55,600; CI base 14,400 < 15,000 → 0; psn 14,400
    assert money(res["S1"]) == bill(hifp="55600.00", fund="55600.00", psn="14400.00")
    # S2: hifp 7,600; CI base 2,400, cum 16,800 → 1,800 × 0.60 = 1,080; fund 8,680; psn 1,320
    assert money(res["S2"]) == bill(hifp="7600.00", hifmi="1080.00", fund="8680.00", psn="1320.00")
