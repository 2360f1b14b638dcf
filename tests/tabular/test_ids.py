"""Resident ID numbers: the check character, the birth date, repairs, and Excel's damage."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangpin.tabular.ids import (
    REASON_AS_NUMBER,
    birth_date,
    check_char,
    check_id,
    check_ids,
    excel_general,
    normalize_id,
    sex,
)
from tests.people.factories import make_id, wrong_check


def test_a_valid_id_passes_with_no_error_and_no_warning():
    id_no = make_id("20050607", 412)  # 640324 is 同心县's code from 1998 on
    assert check_id(id_no) == (id_no, None, None)


def test_the_published_example_with_check_character_x_is_valid():
    assert check_id("11010519491231002X").error is None
    assert check_char("11010519491231002") == "X"


def test_a_wrong_check_character_is_rejected_naming_the_expected_one():
    good = make_id("19900101", 123)
    bad = wrong_check(good)
    result = check_id(bad)
    assert "校验位错误" in result.error
    assert f"应为 {good[17]}" in result.error


def test_full_width_digits_spaces_and_a_lower_case_x_are_repaired():
    good = "11010519491231002X"
    typed = "１１０１０５ １９４９１２３１００２ｘ\u3000 "
    assert normalize_id(typed) == good
    assert check_id(typed) == (good, None, None)
    assert check_id("'" + good.lower() + "  ").id_no == good


def test_a_birth_date_that_does_not_exist_is_rejected():
    assert "出生日期 19900230" in check_id(make_id("19900230")).error


def test_a_birth_date_in_the_future_is_rejected():
    assert "出生日期" in check_id(make_id("20300101"), today=dt.date(2025, 1, 1)).error


def test_a_short_or_long_id_is_rejected_with_its_length():
    assert "18 位，此处为 15 位" in check_id("640324900101123").error
    assert "此处为 19 位" in check_id(make_id() + "1").error
    assert check_id("   ").error == "身份证号为空"
    assert "前 17 位应为数字" in check_id("64032419900101A123").error


@pytest.mark.parametrize(
    "cell",
    [
        "6.40324E+17",  # what Excel shows, exported to CSV
        "6.40324199001012e17",
        "640324199001012000",  # 15 digits kept, the last three lost
        "640324199001012000.0",  # a float printed by a script
        6.40324199001012e17,  # the number cell itself
    ],
)
def test_an_id_that_went_through_a_number_cell_is_rejected_as_stored_as_a_number(cell):
    result = check_id(cell)
    assert result.error == REASON_AS_NUMBER
    assert "存成了数字" in result.error and "15 位" in result.error


def test_a_real_id_ending_in_zeros_typed_as_text_is_not_mistaken_for_excel_damage():
    # Sequence x00 and check character 0: a genuine ID that ends in "000".
    days = (dt.date(1990, 1, 1) + dt.timedelta(days=i) for i in range(365))
    bodies = (f"640324{d:%Y%m%d}{s:03d}" for d in days for s in range(0, 1000, 100))
    id_no = next(b + "0" for b in bodies if check_char(b) == "0")
    assert id_no.endswith("000")
    assert check_id(id_no).error is None


def test_any_number_cell_is_rejected_even_a_short_one():
    assert check_id(640324900101123).error == REASON_AS_NUMBER


def test_a_division_code_unknown_in_the_birth_year_is_only_a_warning():
    # 640324 (同心县) was 642127 before 1998; 640399 never existed.
    old_code_new_year = make_id("19900101", 5, division="640324")
    result = check_id(old_code_new_year)
    assert result.error is None
    assert "640324" in result.warning and "1990" in result.warning
    assert check_id(make_id("19900101", 5, division="642127")).warning is None
    unknown = check_id(make_id("20000101", 5, division="640399"))
    assert unknown.error is None and "640399" in unknown.warning


def test_sex_and_birth_date_come_from_the_id():
    man, woman = make_id("19751111", 1), make_id("19751111", 2)
    assert (sex(man), sex(woman)) == ("男", "女")
    assert birth_date(man) == dt.date(1975, 11, 11)


def test_excel_general_shows_big_numbers_as_excel_does():
    assert excel_general(6.40324199001012e17) == "6.40324E+17"
    assert excel_general(6.4e17) == "6.4E+17"
    assert excel_general(20250301.0) == "20250301"
    assert excel_general(12) == "12"


def test_checking_a_column_reports_each_value_in_order():
    ids = [make_id(seq=1), wrong_check(make_id(seq=2)), "", "6.40324E+17"]
    out = check_ids(pl.Series(ids))
    assert out["id_no"].to_list()[:2] == [ids[0], ids[1]]
    errors = out["error"].to_list()
    assert errors[0] is None
    assert "校验位" in errors[1] and errors[2] == "身份证号为空" and errors[3] == REASON_AS_NUMBER


@settings(max_examples=60, deadline=None)
@given(
    day=st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)),
    seq=st.integers(0, 999),
    pos=st.integers(0, 16),
    bump=st.integers(1, 9),
)
def test_changing_any_single_digit_of_a_valid_id_is_caught(day, seq, pos, bump):
    good = make_id(day.strftime("%Y%m%d"), seq, division="642127")
    assert check_id(good).error is None
    digits = list(good)
    digits[pos] = str((int(digits[pos]) + bump) % 10)
    assert check_id("".join(digits)).error is not None
