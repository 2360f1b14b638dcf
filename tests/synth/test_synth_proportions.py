"""Proportions are in the ranges the seed documents suggest, and generation is fast."""

from __future__ import annotations

import polars as pl

JAN1, DEC31 = "2025-01-01", "2025-12-31"


def _active_on(idt: pl.DataFrame, day: str) -> pl.DataFrame:
    return idt.filter(
        (pl.col("begndate") <= day) & (pl.col("enddate").is_null() | (pl.col("enddate") >= day))
    )


def test_twenty_thousand_people_are_generated_in_a_few_seconds(county20k):
    # about 3 s on the 2-core development machine; generous for a busy CI runner
    assert county20k.seconds < 15


def test_about_a_third_of_people_are_special_and_many_hold_several_identities(county20k):
    idt = _active_on(county20k.csv("identities.csv"), JAN1)
    people = county20k.csv("persons.csv").height
    special = idt["psn_no"].n_unique()
    assert 0.25 < special / people < 0.42  # 同心县: 11.9万 in roughly 30–40万
    multi = idt.group_by("psn_no").len().filter(pl.col("len") > 1).height
    assert multi / special > 0.10  # 含多重身份


def test_stable_poverty_exit_is_the_largest_group_and_extreme_poverty_a_small_one(county20k):
    idt = _active_on(county20k.csv("identities.csv"), JAN1)
    people = county20k.csv("persons.csv").height
    by_type = dict(idt.group_by("psn_idet_type").len().iter_rows())
    assert max(by_type, key=by_type.get) == "稳定脱贫人口"
    assert by_type["特困人员"] / people < 0.02
    assert 0.03 < by_type["低保对象"] / people < 0.12
    assert len(by_type) >= 14  # nearly every kind occurs in a county of 20 000


def test_special_persons_are_nearly_all_enrolled_with_a_few_anomalies(county20k):
    idt = county20k.csv("identities.csv")
    special = set(idt.filter(pl.col("enddate").is_null() | (pl.col("enddate") >= JAN1))["psn_no"])
    e = county20k.csv("enrollment.csv").filter(pl.col("psn_no").is_in(special))
    missing = len(special - set(e["psn_no"]))
    # seed 000: 642 anomalies (外省缴费, 服刑 …) among 11.9万
    anomalies = (
        e.filter((pl.col("insutype") == "异地") | (pl.col("stop_reason") == "服刑")).height
        + e.filter(pl.col("psn_no").is_duplicated()).height // 2
    )
    assert 0.001 < anomalies / len(special) < 0.02
    assert missing / len(special) < 0.02
    everyone = county20k.csv("persons.csv").height
    enrolled = county20k.csv("enrollment.csv")["psn_no"].n_unique()
    assert 0.93 < enrolled / everyone < 0.99
    assert county20k.csv("enrollment.csv").filter(pl.col("stop_reason") == "死亡").height > 20


def test_special_persons_and_old_people_claim_more_and_are_admitted_more(county20k):
    c = county20k.csv("claims.csv")
    p = county20k.csv("persons.csv").select(
        "psn_no", pl.col("birth_date").str.slice(0, 4).cast(pl.Int32)
    )
    special = set(county20k.csv("identities.csv")["psn_no"])
    per = (
        c.group_by("psn_no")
        .agg(pl.len().alias("n"), (pl.col("med_type") == "21").sum().alias("stays"))
        .join(p, on="psn_no", how="right")
        .fill_null(0)
        .with_columns(
            pl.col("psn_no").is_in(special).alias("special"),
            (2025 - pl.col("birth_date")).alias("age"),
        )
    )
    by_group = dict(per.group_by("special").agg(pl.col("stays").mean()).iter_rows())
    assert by_group[True] > by_group[False]
    old = per.filter(pl.col("age") >= 65)["n"].mean()
    young = per.filter(pl.col("age").is_between(18, 44))["n"].mean()
    assert old > 1.5 * young
    admitted = (per["stays"] > 0).mean()
    assert 0.06 < admitted < 0.25


def test_high_cost_warnings_would_hit_a_small_share_of_special_persons(county20k):
    # A rough stand-in for the settlement engine: basic insurance only, baseline
    # deductibles and ratios (RULES.md §8), everything else paid by the person.
    c = county20k.csv("claims.csv").with_columns(
        (pl.col(a).str.replace(".", "", literal=True).cast(pl.Int64))
        for a in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
    )
    inscp = (
        pl.col("medfee_sumamt")
        - pl.col("fulamt_ownpay_amt")
        - pl.col("overlmt_selfpay")
        - pl.col("preselfpay_amt")
    )
    lv = pl.col("hosp_lv")
    deduct = lv.replace_strict({"1": 200_00, "2": 500_00, "3": 800_00, "4": 1200_00})
    ratio = lv.replace_strict({"1": 0.9, "2": 0.8, "3": 0.7, "4": 0.6})
    hifp = (
        pl.when(pl.col("med_type") == "21")
        .then((inscp - deduct).clip(0) * ratio)
        .when(pl.col("med_type") == "14")
        .then(inscp * 0.65)
        .otherwise(inscp * 0.5)
    )
    burden = c.group_by("psn_no").agg((pl.col("medfee_sumamt") - hifp).sum().alias("b"))
    special = set(_active_on(county20k.csv("identities.csv"), JAN1)["psn_no"])
    sp = burden.filter(pl.col("psn_no").is_in(special))
    share_yellow = (sp["b"] > 5_000_00).sum() / len(special)
    share_red = (sp["b"] > 20_000_00).sum() / len(special)
    assert 0.005 < share_yellow < 0.08
    assert 0 < share_red < share_yellow
