"""The installation's warm-up compiles what later runs use, so a first batch compiles nothing."""

import polars as pl

from fangpin.engine.settle import settle_batch, settle_claim
from fangpin.engine.warm import compiled_versions, warm_up
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import read_inputs, validate_claims, validate_identities
from fangpin.tabular.output import write_settled


def test_after_the_warm_up_a_batch_from_csv_or_parquet_and_an_online_claim_compile_nothing(tmp_path):
    warm_up(20_000)
    before = compiled_versions()
    assert before > 10
    rows = [
        {"setl_id": f"C{i}", "psn_no": f"Q{i % 50}", "setl_date": f"2023-{i % 12 + 1:02d}-1{i % 9}",
         "med_type": ["11", "14", "21", "52"][i % 4], "hosp_lv": str(i % 4 + 1), "in_province": "1",
         "referral": str(i % 2), "medfee_sumamt": f"{100 + i * 37}.5", "fulamt_ownpay_amt": "10",
         "overlmt_selfpay": "0", "preselfpay_amt": "1.25"}
        for i in range(600)
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "c.csv")
    pl.DataFrame(
        {"psn_no": ["Q1", "Q2", "Q3"], "psn_idet_type": ["低保对象", "特困人员", "孤儿"],
         "begndate": ["2023-01-01", "2023-05-01", "2022-01-01"], "enddate": ["", "", "2023-06-30"]}
    ).write_csv(tmp_path / "i.csv")
    claims, ids = read_inputs(tmp_path / "c.csv", tmp_path / "i.csv")
    assert claims.rejects.height == 0 and claims.good.height == 600
    pack = load_pack("ningxia-wuzhong-2025")
    result = settle_batch(pack, claims.good, ids.good)
    write_settled(result.claims, tmp_path / "o.parquet", claims.source)
    one = validate_claims(pl.DataFrame([rows[5]])).good
    settle_claim(pack, one, validate_identities(pl.read_csv(tmp_path / "i.csv", infer_schema=False)).good)
    assert result.claims["hifp_pay"].sum() > 0
    assert compiled_versions() == before
