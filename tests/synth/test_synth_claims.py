"""Claims: amount format, the parts-within-total invariant, coverage, identifiers."""

from __future__ import annotations

import polars as pl

from fangpin.synth.money import share, yuan

AMOUNTS = ["medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt"]


def _fen(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        (pl.col(c).str.replace(".", "", literal=True).cast(pl.Int64)).alias(c) for c in AMOUNTS
    )


def test_amounts_are_yuan_with_exactly_two_decimals(county20k):
    c = county20k.csv("claims.csv")
    for col in AMOUNTS:
        assert c[col].str.contains(r"^(0|[1-9]\d*)\.\d{2}$").all(), col


def test_amounts_are_non_negative_and_the_parts_never_exceed_the_total(county20k):
    c = _fen(county20k.csv("claims.csv"))
    assert all(v >= 0 for v in c.select(AMOUNTS).min().row(0))
    assert (c["medfee_sumamt"] > 0).all()
    parts = c["fulamt_ownpay_amt"] + c["overlmt_selfpay"] + c["preselfpay_amt"]
    assert (parts <= c["medfee_sumamt"]).all()


def test_codes_are_within_their_ranges(county20k):
    c = county20k.csv("claims.csv")
    assert set(c["med_type"]) == {"11", "14", "21"}
    assert set(c["hosp_lv"]) == {"1", "2", "3", "4"}
    assert set(c["in_province"]) == {"0", "1"}
    assert set(c["referral"]) == {"0", "1"}
    assert c["setl_date"].str.starts_with("2025-").all()
    assert c.filter((pl.col("med_type") == "11") & (pl.col("in_province") == "0")).height == 0


def test_settlement_ids_are_unique_and_follow_settlement_order(county20k):
    c = county20k.csv("claims.csv")
    assert c["setl_id"].is_unique().all()
    assert c["setl_id"].str.contains(r"^S2025\d{9}$").all()
    assert c["setl_id"].is_sorted()
    assert c["setl_date"].is_sorted()


def test_claims_are_only_for_residents_insured_here_and_never_after_death_or_before_birth(
    county20k,
):
    c = county20k.csv("claims.csv")
    e = county20k.csv("enrollment.csv")
    residents = e.filter(
        (pl.col("insutype") == "居民") & (pl.col("stop_reason").fill_null("") != "服刑")
    )
    assert set(c["psn_no"]) <= set(residents["psn_no"])
    p = county20k.csv("persons.csv").select("psn_no", "birth_date")
    assert c.join(p, on="psn_no").filter(pl.col("setl_date") < pl.col("birth_date")).height == 0


def test_most_care_is_at_township_and_county_level_and_some_people_cost_a_fortune(county20k):
    c = _fen(county20k.csv("claims.csv"))
    assert c["hosp_lv"].is_in(["1", "2"]).mean() > 0.7
    per_person = c.group_by("psn_no").agg(pl.col("medfee_sumamt").sum())["medfee_sumamt"]
    catastrophic = ((per_person >= 100_000_00) & (per_person <= 900_000_00)).sum()
    assert 5 <= catastrophic <= 80
    assert per_person.max() <= 900_000_00


def test_money_helpers_are_exact_integer_arithmetic():
    df = pl.DataFrame({"fen": [0, 5, 100, 123456789]})
    assert df.select(yuan("fen"))["fen"].to_list() == ["0.00", "0.05", "1.00", "1234567.89"]
    assert share(10_001, 3_333).item() == 3333  # floor(10001 * 0.3333) = 3333.33…
