"""Engine behaviour beyond the golden cases: versions by date, input order, rounding."""

import numpy as np
import polars as pl

from fangpin.engine.settle import settle_batch
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import validate_claims, validate_identities
from fangpin.units import mul_ratio, yuan_to_fen
from tests.engine.helpers import claims_frame, identities_frame, settle_rows


def test_results_come_back_in_input_order_whatever_the_settlement_order():
    rows = [
        {"setl_id": "B", "psn_no": "P2", "setl_date": "2023-05-01", "medfee_sumamt": "1000"},
        {"setl_id": "A", "psn_no": "P1", "setl_date": "2023-09-01", "medfee_sumamt": "2000"},
        {"setl_id": "C", "psn_no": "P1", "setl_date": "2023-01-01", "medfee_sumamt": "3000"},
    ]
    c = validate_claims(claims_frame(rows))
    out = settle_batch(load_pack("shanxi-linxian-2023"), c.good, validate_identities(identities_frame([])).good)
    assert out.claims["setl_id"].to_list() == ["B", "A", "C"]


def test_half_a_fen_rounds_up():
    assert mul_ratio(1, 5000) == 1  # 0.5 fen -> 1 fen
    assert mul_ratio(3, 5000) == 2  # 1.5 fen -> 2 fen
    assert mul_ratio(yuan_to_fen("100.01"), 6500) == 6501  # 65.0065 -> 65.01


def test_an_identity_ending_on_a_date_still_counts_that_day_and_not_the_next():
    idents = [{"psn_no": "P1", "psn_idet_type": "特困人员", "begndate": "2023-01-01", "enddate": "2023-03-31"}]
    res = settle_rows(
        "shanxi-linxian-2023",
        [
            {"setl_id": "S1", "setl_date": "2023-03-31", "med_type": "14", "medfee_sumamt": "100"},
            {"setl_id": "S2", "setl_date": "2023-04-01", "med_type": "14", "medfee_sumamt": "100"},
        ],
        idents,
    )
    assert res["S1"]["group"] == "特困" and res["S2"]["group"] is None
    # 特困 assistance: (100 − 65) × 80 % = 28.00; after the end date nothing
    assert res["S1"]["maf_pay"] == "28.00" and res["S2"]["maf_pay"] == "0.00"


def test_a_claims_of_two_years_use_separate_accumulators():
    rows = [
        {"setl_id": "S1", "setl_date": "2022-12-30", "med_type": "11", "medfee_sumamt": "1000"},
        {"setl_id": "S2", "setl_date": "2023-01-02", "med_type": "11", "medfee_sumamt": "1000"},
    ]
    res = settle_rows("shanxi-linxian-2023", rows)
    # each year has its own general-outpatient cap of 300: 1000 × 50 % = 500 → 300 each year
    assert res["S1"]["hifp_pay"] == res["S2"]["hifp_pay"] == "300.00"


def test_the_group_used_is_the_first_of_the_packs_order():
    idents = [
        {"psn_no": "P1", "psn_idet_type": "稳定脱贫人口", "begndate": "2023-01-01"},
        {"psn_no": "P1", "psn_idet_type": "低保对象", "begndate": "2023-01-01"},
        {"psn_no": "P1", "psn_idet_type": "1-2级残疾人", "begndate": "2023-01-01"},
    ]
    res = settle_rows("shanxi-linxian-2023", [{"setl_id": "S1", "setl_date": "2023-02-01", "medfee_sumamt": "10"}], idents)
    assert res["S1"]["group"] == "低保"


def test_settlement_output_keeps_fen_integers_inside():
    rows = [{"setl_id": "S1", "setl_date": "2023-02-01", "medfee_sumamt": "1234.56"}]
    c = validate_claims(claims_frame(rows))
    out = settle_batch(load_pack("shanxi-linxian-2023"), c.good, validate_identities(identities_frame([])).good)
    for col in ("hifp_pay", "fund_pay_sumamt", "psn_part_amt", "inscp_scp_amt"):
        assert out.claims.schema[col] == pl.Int64
    assert out.claims["medfee_sumamt"][0] == 123456


def _identity_scenario():
    """Forty people, half of them with identities that begin or end during the year."""
    psn = [f"P{i:02d}" for i in range(40)]
    claims = [
        {"setl_id": f"S{i:03d}", "psn_no": psn[i % 40], "setl_date": f"2022-{1 + i % 12:02d}-{1 + i % 27:02d}",
         "med_type": "21", "hosp_lv": "2", "medfee_sumamt": str(20000 + 137 * i), "fulamt_ownpay_amt": "900"}
        for i in range(240)
    ]
    names = ["特困人员", "低保对象", "返贫致贫人口", "监测对象"]
    idents = [
        {"psn_no": psn[i], "psn_idet_type": names[i % 4], "begndate": f"2022-0{1 + i % 9}-01",
         "enddate": "" if i % 3 else "2022-10-31"}
        for i in range(0, 40, 2)
    ]
    return claims, idents


def test_people_whose_first_hashes_agree_still_get_their_own_groups(monkeypatch):
    from fangpin.engine import order as o

    claims, idents = _identity_scenario()
    expected = settle_rows("anhui-huaibei-2022", claims, idents)
    real = o.person_hash

    def colliding(series, seed=o.SEED_A):
        return np.zeros(len(series), dtype=np.uint64) if seed == o.SEED_A else real(series, seed)

    monkeypatch.setattr(o, "person_hash", colliding)
    assert settle_rows("anhui-huaibei-2022", claims, idents) == expected
    assert sum(r["group"] is not None for r in expected.values()) > 40  # the identities did count


def test_the_text_sort_settles_as_the_hashed_sort(monkeypatch):
    from fangpin.engine import order as o

    claims, idents = _identity_scenario()
    expected = settle_rows("anhui-huaibei-2022", claims, idents)
    monkeypatch.setattr(o, "MIN_HASH_BITS", 65)
    assert settle_rows("anhui-huaibei-2022", claims, idents) == expected


def test_claims_in_chunks_settle_as_in_one():
    # Claims read from Parquet come in chunks, packed for the kernel a chunk at a time; many
    # small chunks are packed as one. Either way the results are those of one chunk.
    n = 140_000
    rng = np.random.default_rng(3)
    people = np.array([f"P{i:05d}" for i in range(9000)])
    raw = pl.DataFrame(
        {
            "setl_id": [f"S{i:07d}" for i in range(n)],
            "psn_no": people[rng.integers(0, len(people), n)],
            "setl_date": pl.Series(np.datetime64("2022-01-01") + rng.integers(0, 365, n)).cast(pl.Date),
            "med_type": rng.choice(np.array([11, 14, 21, 23], dtype=np.int16), n),
            "hosp_lv": rng.integers(1, 5, n).astype(np.int8),
            "in_province": rng.integers(0, 2, n).astype(np.int8),
            "referral": rng.integers(0, 2, n).astype(np.int8),
            "medfee_sumamt": rng.integers(100, 90_000, n),
            "fulamt_ownpay_amt": rng.integers(0, 50, n),
            "overlmt_selfpay": rng.integers(0, 20, n),
            "preselfpay_amt": rng.integers(0, 20, n),
        }
    )
    good = validate_claims(raw).good.rechunk()
    idents = validate_identities(
        identities_frame(
            [{"psn_no": p, "psn_idet_type": "低保对象", "begndate": "2022-03-01"} for p in people[::7]]
        )
    ).good
    pack = load_pack("anhui-huaibei-2022")
    one = settle_batch(pack, good, idents)
    two = pl.concat([good.slice(0, 70_001), good.slice(70_001)], rechunk=False)
    many = pl.concat([good.slice(i, 1000) for i in range(0, n, 1000)], rechunk=False)
    assert two["medfee_sumamt"].n_chunks() == 2 and many["kind"].n_chunks() == 140
    for chunked in (two, many):
        result = settle_batch(pack, chunked, idents)
        assert result.claims.equals(one.claims.select(result.claims.columns))
        assert result.accumulators.equals(one.accumulators)
    assert one.claims["group"].null_count() < n and one.claims["hifmi_pay"].sum() > 0
