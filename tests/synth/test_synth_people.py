"""People: valid ID numbers, households, identities, enrollment and births."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from fangpin.synth.identities import DEPARTMENT_OF, IDENTITIES
from fangpin.synth.ids import check_char, check_chars, excel_number, to_fullwidth, with_wrong_check

# RULES.md §1: identity → department that pushes it.
RULES_TABLE = {
    "特困人员": "民政", "孤儿": "民政", "事实无人抚养儿童": "民政", "低保对象": "民政",
    "高龄低收入老年人": "民政", "低保边缘家庭成员": "民政", "返贫致贫人口": "乡村振兴",
    "脱贫不稳定户": "乡村振兴", "边缘易致贫户": "乡村振兴", "突发严重困难户": "乡村振兴",
    "稳定脱贫人口": "乡村振兴", "因病致贫重病患者": "民政", "1-2级残疾人": "残联",
    "严重精神障碍患者": "卫健", "重点优抚对象": "退役军人事务", "计划生育特殊困难家庭成员": "卫健",
}  # fmt: skip


@given(st.integers(min_value=10**16, max_value=10**17 - 1))
def test_the_check_character_agrees_with_stdnum(body):
    digits = str(body)
    assert check_char(digits) == ric.calc_check_digit(digits + "0")
    assert check_chars(np.array([body]))[0] == check_char(digits)


def test_damaged_ids_look_as_they_do_in_office_spreadsheets():
    good = "640324200001010028"
    assert good[:17] + check_char(good[:17]) == good
    assert to_fullwidth(good) == "".join(chr(ord(c) + 0xFEE0) for c in good)  # "０" is U+FF10
    assert all(with_wrong_check(good, b) != good for b in range(1, 11))
    assert excel_number(good) == 640324200001010000.0


def test_every_id_number_written_is_valid_per_stdnum_and_unique(county20k):
    persons = county20k.csv("persons.csv")
    assert persons["id_no"].is_unique().all()
    assert all(ric.is_valid(x) for x in persons["id_no"])
    assert (persons["psn_no"] == persons["id_no"]).all()
    known = set(persons["psn_no"])
    for name in ("identities.csv", "enrollment.csv", "births.csv", "claims.csv"):
        assert set(county20k.csv(name)["psn_no"]) <= known, name


def test_id_numbers_carry_the_birth_date_the_sex_and_mostly_the_county_code(county20k):
    p = county20k.csv("persons.csv")
    assert (p["id_no"].str.slice(6, 8) == p["birth_date"].str.replace_all("-", "")).all()
    odd = p["id_no"].str.slice(16, 1).cast(pl.Int32) % 2 == 1
    assert ((p["sex"] == "男") == odd).all()
    home = p["id_no"].str.slice(0, 6).is_in(["640324", "642127"])
    assert home.mean() > 0.9
    assert (~home).sum() > 0  # some people were born elsewhere


def test_households_have_one_to_six_members_with_plausible_ages(county20k):
    p = county20k.csv("persons.csv").with_columns(pl.col("birth_date").str.to_date())
    sizes = p.group_by("household_no").len()["len"]
    assert sizes.min() >= 1 and sizes.max() <= 6
    heads = p.filter(pl.col("relation") == "户主")
    assert heads.height == sizes.len()  # one head per household
    assert (heads["birth_date"] <= dt.date(2025 - 18, 1, 1)).all()
    assert p["birth_date"].min() >= dt.date(1920, 1, 1)
    assert p["birth_date"].max() <= dt.date(2025, 12, 31)
    # children are younger than the head of their household
    kids = p.filter(pl.col("relation") == "子女").join(
        heads.select("household_no", pl.col("birth_date").alias("head_birth")), on="household_no"
    )
    assert (kids["birth_date"] > kids["head_birth"]).all()
    assert set(p["sex"]) == {"男", "女"}
    assert p["name"].str.len_chars().is_between(2, 3).all()


def test_identity_names_and_departments_are_exactly_the_rules_table(county20k):
    assert set(IDENTITIES) == set(RULES_TABLE)
    assert DEPARTMENT_OF == RULES_TABLE
    idt = county20k.csv("identities.csv")
    assert set(idt["psn_idet_type"]) <= set(RULES_TABLE)


def test_identity_dates_are_iso_and_never_end_before_they_begin(county20k):
    idt = county20k.csv("identities.csv")
    assert idt["begndate"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    ended = idt.filter(pl.col("enddate").is_not_null())
    assert ended["enddate"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert (ended["enddate"] >= ended["begndate"]).all()
    assert idt.filter(pl.col("begndate") > "2025-12-31").height == 0
    assert idt.select("psn_no", "psn_idet_type", "begndate").is_unique().all()


def test_some_identities_begin_and_some_end_during_the_year(county20k):
    idt = county20k.csv("identities.csv")
    began = idt.filter(pl.col("begndate") >= "2025-01-01")
    ended = idt.filter(pl.col("enddate") >= "2025-01-01")
    assert began.height > 50 and ended.height > 50
    assert "低保对象" in set(began["psn_idet_type"]) and "低保对象" in set(ended["psn_idet_type"])


def test_household_identities_are_given_to_the_whole_household(county20k):
    p = county20k.csv("persons.csv").select("psn_no", "household_no")
    idt = county20k.csv("identities.csv").join(p, on="psn_no")
    tuopin = idt.filter(pl.col("psn_idet_type") == "稳定脱贫人口")
    hh = p.filter(pl.col("household_no").is_in(tuopin["household_no"].unique().to_list()))
    # everyone but babies tagged later and people who died is tagged with the household
    assert tuopin["psn_no"].n_unique() / hh.height > 0.97


def test_enrollment_values_and_stop_reasons_are_from_the_spec(county20k):
    e = county20k.csv("enrollment.csv")
    assert set(e["insutype"]) == {"居民", "职工", "异地"}
    assert set(e.filter(pl.col("insutype") == "居民")["tier"]) == {"一档"}
    assert set(e["stop_reason"].drop_nulls()) == {"死亡", "服刑"}
    assert set(e["year"]) == {"2025"}
    assert e.filter(pl.col("psn_no").is_duplicated()).height > 0  # a few paid twice
    paid = e["paid_date"].drop_nulls()
    assert paid.str.contains(r"^\d{4}-\d{2}-\d{2}$").all()


def test_births_are_this_years_babies_and_some_are_not_enrolled(county20k):
    b = county20k.csv("births.csv")
    assert b.height > 100
    assert b["birth_date"].str.starts_with("2025-").all()
    enrolled = set(county20k.csv("enrollment.csv")["psn_no"])
    missing = sum(x not in enrolled for x in b["psn_no"])
    assert 0 < missing < b.height * 0.3
    p = county20k.csv("persons.csv")
    assert set(b.join(p, on="psn_no")["relation"]) <= {"子女", "孙子女"}
