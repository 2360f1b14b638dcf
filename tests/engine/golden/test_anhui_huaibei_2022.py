"""Golden settlements for anhui-huaibei-2022, worked by hand from RULES.md §3 and the pack.

Seed: 004_b5d4c3d7e49b1282.txt (安徽淮北, 2022). The pack keeps the baseline's basic insurance
(level 2: D 500, r 0.80; level 4: D 1,200, r 0.60; r14 0.65; cap1 300,000) and critical-illness
bands (D 15,000; 0–50,000 at 0.60, 50,000–100,000 at 0.65, above at 0.70); the seed gives the
tilt for 特困/低保/返贫致贫 (D −50% = 7,500, +5 pp, no cap) and assistance 特困 0/80%,
低保 0/75%, 返贫致贫 1,500/70%, 监测对象 3,000/60%, annual cap 50,000. No tier 4.
"""

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "anhui-huaibei-2022"


def test_a_dibao_patient_gets_the_tilted_critical_illness_and_assistance_an_ordinary_one_does_not():
    claim = {
        "setl_date": "2022-03-01",
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
    # both: inscp 100,000 − 10,000 = 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # 低保: CI (18,400 − 7,500) × 0.65 = 7,085; maf (18,400 − 7,085) = 11,315 × 0.75 = 8,486.25
    # fund 71,600 + 7,085 + 8,486.25 = 87,171.25; psn 100,000 − 87,171.25 = 12,828.75
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="7085.00", maf="8486.25", fund="87171.25", psn="12828.75"
    )
    assert res["S1"]["group"] == "低保"
    # no identity: CI (18,400 − 15,000) × 0.60 = 2,040; no assistance
    # fund 71,600 + 2,040 = 73,640; psn 100,000 − 73,640 = 26,360
    assert money(res["S2"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S2"]["group"] is None


def test_a_tekun_patients_assistance_stops_at_the_50000_annual_cap_and_basic_at_its_300000_cap():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-02-01",
                "hosp_lv": "4",
                "medfee_sumamt": "200000.00",
            },
            {
                "setl_id": "S2",
                "setl_date": "2022-06-01",
                "hosp_lv": "4",
                "medfee_sumamt": "300000.00",
            },
            {
                "setl_id": "S3",
                "setl_date": "2022-09-01",
                "hosp_lv": "2",
                "medfee_sumamt": "10000.00",
            },
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2021-01-01"}],
    )
    # S1: hifp (200,000 − 1,200) × 0.60 = 119,280; CI base 80,720
    # CI F(80,720): 73,220 above 7,500 → 50,000 × 0.65 + 23,220 × 0.70 = 32,500 + 16,254 = 48,754
    # maf base 80,720 − 48,754 = 31,966 × 0.80 = 25,572.80
    # fund 119,280 + 48,754 + 25,572.80 = 193,606.80; psn 200,000 − 193,606.80 = 6,393.20
    assert money(res["S1"]) == bill(
        hifp="119280.00", hifmi="48754.00", maf="25572.80", fund="193606.80", psn="6393.20"
    )
    # S2: hifp (300,000 − 1,200) × 0.60 = 179,280 (≤ 300,000 − 119,280 = 180,720); CI base 120,720
    # CI cum 201,440: 193,940 above D → 32,500 + 35,000 + 93,940 × 0.75 = 137,955; − 48,754 = 89,201
    # maf base 120,720 − 89,201 = 31,519; cum 63,485 × 0.80 = 50,788; − 25,572.80 = 25,215.20,
    #   clamped to 50,000 − 25,572.80 = 24,427.20
    # fund 179,280 + 89,201 + 24,427.20 = 292,908.20; psn 300,000 − 292,908.20 = 7,091.80
    assert money(res["S2"]) == bill(
        hifp="179280.00", hifmi="89201.00", maf="24427.20", fund="292908.20", psn="7091.80"
    )
    # S3: hifp raw (10,000 − 500) × 0.80 = 7,600, capped to 300,000 − 119,280 − 179,280 = 1,440
    # CI base 8,560; cum 210,000: 202,500 above D → 32,500 + 35,000 + 102,500 × 0.75 = 144,375
    #   − 137,955 = 6,420; maf: assistance cap used up → 0
    # fund 1,440 + 6,420 = 7,860; psn 10,000 − 7,860 = 2,140
    assert money(res["S3"]) == bill(hifp="1440.00", hifmi="6420.00", fund="7860.00", psn="2140.00")


def test_a_person_tagged_dibao_from_april_settles_january_as_ordinary_and_may_on_the_cumulative_base():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-01-10",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            },
            {"setl_id": "S2", "setl_date": "2022-05-10", "medfee_sumamt": "50000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-04-01"}],
    )
    # S1 (ordinary): hifp (90,000 − 500) × 0.80 = 71,600; CI (18,400 − 15,000) × 0.60 = 2,040
    # fund 73,640; psn 100,000 − 73,640 = 26,360
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S1"]["group"] is None
    # S2 (低保): hifp (50,000 − 500) × 0.80 = 39,600; CI base 10,400; cum 18,400 + 10,400 = 28,800
    # CI: F_低保(28,800) − F_低保(18,400) = 21,300 × 0.65 − 10,900 × 0.65 = 13,845 − 7,085 = 6,760
    # maf base: S1 18,400 − 2,040 = 16,360; S2 10,400 − 6,760 = 3,640; cum 20,000
    #   F(20,000) − F(16,360) = 15,000 − 12,270 = 2,730
    # fund 39,600 + 6,760 + 2,730 = 49,090; psn 50,000 − 49,090 = 910
    assert money(res["S2"]) == bill(
        hifp="39600.00", hifmi="6760.00", maf="2730.00", fund="49090.00", psn="910.00"
    )
    assert res["S2"]["group"] == "低保"


def test_a_person_both_tekun_and_dibao_is_assisted_as_tekun_the_first_group_of_the_order():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-03-01",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            }
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"},
            {"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2022-01-01"},
        ],
    )
    # hifp 71,600; CI (18,400 − 7,500) × 0.65 = 7,085 (both groups tilted alike)
    # maf as 特困: 11,315 × 0.80 = 9,052 (低保 would give 8,486.25)
    # fund 71,600 + 7,085 + 9,052 = 87,737; psn 100,000 − 87,737 = 12,263
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="7085.00", maf="9052.00", fund="87737.00", psn="12263.00"
    )
    assert res["S1"]["group"] == "特困"


def test_two_admissions_on_one_day_settle_in_setl_id_order_not_input_order():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S2", "setl_date": "2022-07-01", "medfee_sumamt": "10000.00"},
            {"setl_id": "S1", "setl_date": "2022-07-01", "medfee_sumamt": "70000.00"},
        ],
    )
    # S1 first: hifp (70,000 − 500) × 0.80 = 55,600; CI base 14,400 → F(14,400) = 0 (D 15,000)
    # fund 55,600; psn 70,000 − 55,600 = 14,400
    assert money(res["S1"]) == bill(hifp="55600.00", fund="55600.00", psn="14400.00")
    # S2 then: hifp (10,000 − 500) × 0.80 = 7,600; CI base 2,400; cum 16,800
    #   F(16,800) − F(14,400) = 1,800 × 0.60 − 0 = 1,080
    # fund 7,600 + 1,080 = 8,680; psn 10,000 − 8,680 = 1,320
    assert money(res["S2"]) == bill(hifp="7600.00", hifmi="1080.00", fund="8680.00", psn="1320.00")


def test_a_chronic_outpatient_claim_rounds_half_a_fen_up():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2022-08-01",
                "med_type": "14",
                "medfee_sumamt": "100.10",
            }
        ],
    )
    # hifp 100.10 × 0.65 = 65.065 → 65.07 (half-up; half-even would give 65.06)
    # CI base 35.03 < 15,000 → 0; fund 65.07; psn 100.10 − 65.07 = 35.03
    assert money(res["S1"]) == bill(hifp="65.07", fund="65.07", psn="35.03")


def test_general_outpatient_claims_stop_at_the_baselines_300_annual_cap():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2022-02-01", "medfee_sumamt": "400.00"},
            {**gp, "setl_id": "G2", "setl_date": "2022-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2022-04-01", "medfee_sumamt": "100.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2022-01-01"}],
    )
    # 400 × 0.50 = 200; 300 × 0.50 = 150 capped to 300 − 200 = 100; 100 × 0.50 = 50 capped to 0
    # a 低保 person gets no other tier on type 11
    assert money(res["G1"]) == bill(hifp="200.00", fund="200.00", psn="200.00")
    assert money(res["G2"]) == bill(hifp="100.00", fund="100.00", psn="200.00")
    assert money(res["G3"]) == bill(fund="0.00", psn="100.00")


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
    # no tier 4 and no out-of-catalogue control in this pack
    # fund 27,440 + 3,289 + 7,416.80 = 38,145.80; psn 100,000 − 38,145.80 = 61,854.20
    assert money(res["S1"]) == bill(
        hifp="27440.00", hifmi="3289.00", maf="7416.80", fund="38145.80", psn="61854.20"
    )
