"""Golden settlements for shanxi-linxian-2023, worked by hand from RULES.md §3 and the pack.

Seed: 002_5a0fa63cb808fb03.txt (山西临县 plan, 2023-09). Baseline basic insurance (level 2:
D 500, r 0.80; level 3: D 800, r 0.70; level 4: D 1,200, r 0.60; cap1 300,000), critical
illness (D 15,000; 0.60/0.65/0.70 on 0–50,000/50,000–100,000/above) and assistance (特困 0/80%,
低保 0/75%, 返贫致贫 1,500/70%, 监测对象 3,000/60%, cap 50,000). The seed adds: CI tilt for
特困/低保/返贫致贫 (D 7,500, +5 pp, no cap); tier 4 for 特困/低保/返贫致贫 above 10,000 at
50% capped 30,000, for 监测对象/低保边缘/因病致贫 above 20,000 at 50% capped 20,000, only
in-province referred claims; hospital-borne out-of-catalogue excess for 特困/低保/返贫致贫
inpatients above 30% (level 4), 20% (3), 15% (2, and ○ 1) of the total.
"""

from tests.engine.golden._expect import bill, money
from tests.engine.helpers import settle_rows

PACK = "shanxi-linxian-2023"


def test_a_dibao_patient_gets_the_tilted_critical_illness_and_assistance_an_ordinary_one_does_not():
    claim = {
        "setl_date": "2023-02-01",
        "medfee_sumamt": "100000.00",
        "fulamt_ownpay_amt": "10000.00",
    }
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "psn_no": "P1"},
            {**claim, "setl_id": "S2", "psn_no": "P2"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2023-01-01"}],
    )
    # both: inscp 90,000; hifp (90,000 − 500) × 0.80 = 71,600; CI base 18,400
    # 低保: CI (18,400 − 7,500) × 0.65 = 7,085; maf 11,315 × 0.75 = 8,486.25
    #   tier 4: 11,315 − 8,486.25 = 2,828.75 ≤ 10,000 → 0
    #   hosp: 10,000 − round(0.15 × 100,000) = 10,000 − 15,000 < 0 → 0
    #   fund 71,600 + 7,085 + 8,486.25 = 87,171.25; psn 100,000 − 87,171.25 = 12,828.75
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="7085.00", maf="8486.25", fund="87171.25", psn="12828.75"
    )
    assert res["S1"]["group"] == "低保"
    # ordinary: CI (18,400 − 15,000) × 0.60 = 2,040; fund 73,640; psn 26,360
    assert money(res["S2"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S2"]["group"] is None


def test_the_hospital_bears_a_dibao_inpatients_out_of_catalogue_excess_at_levels_4_3_and_2():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "L4",
                "psn_no": "P4",
                "setl_date": "2023-03-01",
                "hosp_lv": "4",
                "medfee_sumamt": "50000.00",
                "fulamt_ownpay_amt": "20000.00",
            },
            {
                "setl_id": "L3",
                "psn_no": "P3",
                "setl_date": "2023-03-01",
                "hosp_lv": "3",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "30000.00",
            },
            {
                "setl_id": "L2",
                "psn_no": "P2",
                "setl_date": "2023-03-01",
                "hosp_lv": "2",
                "medfee_sumamt": "40000.00",
                "fulamt_ownpay_amt": "8000.00",
            },
        ],
        identities=[
            {"psn_no": p, "psn_idet_type": "低保对象", "begndate": "2023-01-01"}
            for p in ("P2", "P3", "P4")
        ],
    )
    # level 4: hosp 20,000 − round(0.30 × 50,000) = 20,000 − 15,000 = 5,000
    #   inscp 30,000; hifp (30,000 − 1,200) × 0.60 = 17,280; CI base 12,720
    #   CI (12,720 − 7,500) × 0.65 = 3,393; maf (12,720 − 3,393) = 9,327 × 0.75 = 6,995.25
    #   tier 4: 9,327 − 6,995.25 = 2,331.75 ≤ 10,000 → 0
    #   fund 17,280 + 3,393 + 6,995.25 = 27,668.25; psn 50,000 − 27,668.25 − 5,000 = 17,331.75
    assert money(res["L4"]) == bill(
        hifp="17280.00",
        hifmi="3393.00",
        maf="6995.25",
        hosp="5000.00",
        fund="27668.25",
        psn="17331.75",
    )
    # level 3: hosp 30,000 − round(0.20 × 100,000) = 30,000 − 20,000 = 10,000
    #   inscp 70,000; hifp (70,000 − 800) × 0.70 = 48,440; CI base 21,560
    #   CI (21,560 − 7,500) × 0.65 = 9,139; maf (21,560 − 9,139) = 12,421 × 0.75 = 9,315.75
    #   tier 4: 12,421 − 9,315.75 = 3,105.25 → 0
    #   fund 48,440 + 9,139 + 9,315.75 = 66,894.75; psn 100,000 − 66,894.75 − 10,000 = 23,105.25
    assert money(res["L3"]) == bill(
        hifp="48440.00",
        hifmi="9139.00",
        maf="9315.75",
        hosp="10000.00",
        fund="66894.75",
        psn="23105.25",
    )
    # level 2: hosp 8,000 − round(0.15 × 40,000) = 8,000 − 6,000 = 2,000
    #   inscp 32,000; hifp (32,000 − 500) × 0.80 = 25,200; CI base 6,800 < 7,500 → 0
    #   maf 6,800 × 0.75 = 5,100; tier 4: 1,700 → 0
    #   fund 25,200 + 5,100 = 30,300; psn 40,000 − 30,300 − 2,000 = 7,700
    assert money(res["L2"]) == bill(
        hifp="25200.00", maf="5100.00", hosp="2000.00", fund="30300.00", psn="7700.00"
    )


def test_an_ordinary_inpatient_pays_the_out_of_catalogue_excess_himself():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2023-03-01",
                "hosp_lv": "3",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "30000.00",
            }
        ],
    )
    # inscp 70,000; hifp (70,000 − 800) × 0.70 = 48,440; CI (21,560 − 15,000) × 0.60 = 3,936
    # no group → no hospital share; fund 48,440 + 3,936 = 52,376; psn 100,000 − 52,376 = 47,624
    assert money(res["S1"]) == bill(
        hifp="48440.00", hifmi="3936.00", fund="52376.00", psn="47624.00"
    )


def test_tilted_reassistance_skips_a_non_referred_claim_and_stops_at_the_20000_cap():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "S1", "setl_date": "2023-03-01", "medfee_sumamt": "300000.00"},
            {
                "setl_id": "S2",
                "setl_date": "2023-05-01",
                "medfee_sumamt": "20000.00",
                "referral": "0",
            },
            {"setl_id": "S3", "setl_date": "2023-08-01", "medfee_sumamt": "200000.00"},
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "低保边缘家庭成员", "begndate": "2023-01-01"}
        ],
    )
    # 低保边缘: no CI tilt, no assistance group; tier 4 above 20,000 at 50%, cap 20,000
    # S1: hifp (300,000 − 500) × 0.80 = 239,600; CI base 60,400 → (60,400 − 15,000) × 0.60 = 27,240
    #   tier 4 base 60,400 − 27,240 = 33,160 → (33,160 − 20,000) × 0.50 = 6,580
    #   fund 239,600 + 27,240 + 6,580 = 273,420; psn 300,000 − 273,420 = 26,580
    assert money(res["S1"]) == bill(
        hifp="239600.00", hifmi="27240.00", oth="6580.00", fund="273420.00", psn="26580.00"
    )
    assert res["S1"]["group"] == "低保边缘"
    # S2 (not referred): hifp (20,000 − 500) × 0.80 = 15,600; CI base 4,400, cum 64,800
    #   CI 49,800 × 0.60 − 27,240 = 29,880 − 27,240 = 2,640; tier 4: not referred → 0, base not counted
    #   fund 15,600 + 2,640 = 18,240; psn 20,000 − 18,240 = 1,760
    assert money(res["S2"]) == bill(
        hifp="15600.00", hifmi="2640.00", fund="18240.00", psn="1760.00"
    )
    # S3: hifp raw (200,000 − 500) × 0.80 = 159,600, capped to 300,000 − 239,600 − 15,600 = 44,800
    #   CI base 155,200, cum 220,000: 205,000 above D → 30,000 + 32,500 + 105,000 × 0.70 = 136,000
    #   − 29,880 = 106,120
    #   tier 4 base 155,200 − 106,120 = 49,080; qualifying cum 33,160 + 49,080 = 82,240
    #   F 62,240 × 0.50 = 31,120 − 6,580 = 24,540, clamped to 20,000 − 6,580 = 13,420
    #   fund 44,800 + 106,120 + 13,420 = 164,340; psn 200,000 − 164,340 = 35,660
    assert money(res["S3"]) == bill(
        hifp="44800.00", hifmi="106120.00", oth="13420.00", fund="164340.00", psn="35660.00"
    )


def test_tilted_reassistance_is_for_in_province_claims_only_and_rounds_half_a_fen_up():
    claim = {"setl_date": "2023-04-01", "hosp_lv": "4", "medfee_sumamt": "400000.00"}
    res = settle_rows(
        PACK,
        claims=[
            {**claim, "setl_id": "S1", "psn_no": "P1"},
            {**claim, "setl_id": "S2", "psn_no": "P2", "in_province": "0"},
        ],
        identities=[
            {"psn_no": p, "psn_idet_type": "低保对象", "begndate": "2023-01-01"}
            for p in ("P1", "P2")
        ],
    )
    # hifp (400,000 − 1,200) × 0.60 = 239,280; CI base 160,720
    # CI 153,220 above 7,500: 50,000 × 0.65 + 50,000 × 0.70 + 53,220 × 0.75 = 32,500 + 35,000
    #   + 39,915 = 107,415
    # maf (160,720 − 107,415) = 53,305 × 0.75 = 39,978.75; burden 53,305 − 39,978.75 = 13,326.25
    # in province: tier 4 (13,326.25 − 10,000) × 0.50 = 1,663.125 → 1,663.13 (half-up)
    #   fund 239,280 + 107,415 + 39,978.75 + 1,663.13 = 388,336.88; psn 400,000 − 388,336.88
    #   = 11,663.12
    assert money(res["S1"]) == bill(
        hifp="239280.00",
        hifmi="107415.00",
        maf="39978.75",
        oth="1663.13",
        fund="388336.88",
        psn="11663.12",
    )
    # out of province: tier 4 → 0; fund 386,673.75; psn 400,000 − 386,673.75 = 13,326.25
    assert money(res["S2"]) == bill(
        hifp="239280.00", hifmi="107415.00", maf="39978.75", fund="386673.75", psn="13326.25"
    )


def test_a_person_both_fanpin_and_yinbing_zhipin_settles_as_fanpin_the_first_group_of_the_order():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2023-06-01",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            }
        ],
        identities=[
            {"psn_no": "P1", "psn_idet_type": "因病致贫重病患者", "begndate": "2023-01-01"},
            {"psn_no": "P1", "psn_idet_type": "返贫致贫人口", "begndate": "2023-01-01"},
        ],
    )
    # hifp 71,600; CI tilted (返贫致贫) (18,400 − 7,500) × 0.65 = 7,085
    # maf 返贫致贫: (11,315 − 1,500) × 0.70 = 6,870.50 (因病致贫 has no assistance)
    # tier 4 (返贫致贫, above 10,000): burden 11,315 − 6,870.50 = 4,444.50 → 0
    # hosp 10,000 − 15,000 < 0 → 0
    # fund 71,600 + 7,085 + 6,870.50 = 85,555.50; psn 100,000 − 85,555.50 = 14,444.50
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="7085.00", maf="6870.50", fund="85555.50", psn="14444.50"
    )
    assert res["S1"]["group"] == "返贫致贫"


def test_a_person_tagged_dibao_in_april_gets_reassistance_in_may_on_the_years_qualifying_base():
    res = settle_rows(
        PACK,
        claims=[
            {
                "setl_id": "S1",
                "setl_date": "2023-01-10",
                "medfee_sumamt": "100000.00",
                "fulamt_ownpay_amt": "10000.00",
            },
            {"setl_id": "S2", "setl_date": "2023-05-10", "medfee_sumamt": "50000.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2023-04-01"}],
    )
    # S1 (ordinary): hifp 71,600; CI (18,400 − 15,000) × 0.60 = 2,040; no maf, no tier 4, no hosp
    #   tier-4 base counted all the same (in province, referred): 18,400 − 2,040 = 16,360
    assert money(res["S1"]) == bill(
        hifp="71600.00", hifmi="2040.00", fund="73640.00", psn="26360.00"
    )
    assert res["S1"]["group"] is None
    # S2 (低保): hifp (50,000 − 500) × 0.80 = 39,600; CI base 10,400, cum 28,800
    #   CI F(28,800) − F(18,400) = 21,300 × 0.65 − 10,900 × 0.65 = 13,845 − 7,085 = 6,760
    #   maf base 3,640, cum 16,360 + 3,640 = 20,000 → 15,000 − 12,270 = 2,730
    #   tier 4 base 10,400 − 6,760 − 2,730 = 910; cum 17,270
    #   F(17,270) − F(16,360) = 7,270 × 0.50 − 6,360 × 0.50 = 3,635 − 3,180 = 455
    #   fund 39,600 + 6,760 + 2,730 + 455 = 49,545; psn 50,000 − 49,545 = 455
    assert money(res["S2"]) == bill(
        hifp="39600.00", hifmi="6760.00", maf="2730.00", oth="455.00", fund="49545.00", psn="455.00"
    )
    assert res["S2"]["group"] == "低保"


def test_general_outpatient_claims_stop_at_the_baselines_300_annual_cap():
    gp = {"med_type": "11", "hosp_lv": "1"}
    res = settle_rows(
        PACK,
        claims=[
            {**gp, "setl_id": "G1", "setl_date": "2023-02-01", "medfee_sumamt": "400.00"},
            {**gp, "setl_id": "G2", "setl_date": "2023-03-01", "medfee_sumamt": "300.00"},
            {**gp, "setl_id": "G3", "setl_date": "2023-04-01", "medfee_sumamt": "100.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2023-01-01"}],
    )
    # 400 × 0.50 = 200; 300 × 0.50 = 150 capped to 100; 100 × 0.50 = 50 capped to 0
    # no CI, assistance, tier 4 or hospital share on type 11, even for 特困
    assert money(res["G1"]) == bill(hifp="200.00", fund="200.00", psn="200.00")
    assert money(res["G2"]) == bill(hifp="100.00", fund="100.00", psn="200.00")
    assert money(res["G3"]) == bill(fund="0.00", psn="100.00")


def test_two_admissions_of_a_dibao_patient_on_one_day_settle_in_setl_id_order():
    res = settle_rows(
        PACK,
        claims=[
            {"setl_id": "B", "setl_date": "2023-08-01", "medfee_sumamt": "30000.00"},
            {"setl_id": "A", "setl_date": "2023-08-01", "hosp_lv": "1", "medfee_sumamt": "5200.00"},
        ],
        identities=[{"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2023-01-01"}],
    )
    # A first: hifp (5,200 − 200) × 0.90 = 4,500; CI base 700 < 7,500 → 0; maf 700 × 0.75 = 525
    #   tier 4 base 175 < 10,000 → 0; fund 5,025; psn 175
    assert money(res["A"]) == bill(hifp="4500.00", maf="525.00", fund="5025.00", psn="175.00")
    # B: hifp (30,000 − 500) × 0.80 = 23,600; CI base 6,400, cum 7,100 < 7,500 → 0
    #   maf 6,400 × 0.75 = 4,800; tier 4 cum 175 + 1,600 = 1,775 → 0
    #   fund 23,600 + 4,800 = 28,400; psn 30,000 − 28,400 = 1,600
    assert money(res["B"]) == bill(hifp="23600.00", maf="4800.00", fund="28400.00", psn="1600.00")
