"""The column-wise paths of a list check give what the cell-by-cell rules give.

Text columns go to Polars in one call, text dates of the usual shapes are parsed by Polars, and
the ID check character is a weighted sum over a matrix of digits; each is held here against the
one-value rules it replaces (`parse_date_cell`, `check_char_expr`), on awkward values too.
"""

import datetime as dt
import random

import polars as pl

from fangpin.tabular.deptlist import _date_column, _text_column, parse_date_cell, read_dept_list
from fangpin.tabular.ids import check_char_expr, check_chars
from tests.people.factories import make_id, write_workbook

DATE_TEXTS = [
    "2024-03-01", "20240301", "2024-3-1", "2024/03/01", "2024.03.01", "2024年3月1日",
    "2024-02-30", "20240230", "20241301", "1899-12-31", "18991231", "0000-01-01", "00000101",
    "2024-03-01 08:00", "2024-03-01T08:00:00", " 2024-03-01", "2024-03-01 ", "２０２４-０３-０１",
    "２０２４０３０１", "", "   ", "n/a", "2024-03-011", "202403011", "45000", "1900-01-01",
]  # fmt: skip


def test_text_dates_parsed_in_bulk_are_the_dates_each_text_gives_alone():
    values = DATE_TEXTS * 3 + [None]
    text, all_text = _text_column(values)
    assert all_text
    date, blank = _date_column(values, text, all_text)
    expected = [parse_date_cell(v) for v in values]
    assert date.to_list() == [d for d, _ in expected]
    assert blank.to_list() == [b for _, b in expected]


def test_a_date_column_mixing_date_number_and_text_cells_reads_each_cell_by_its_type():
    values = [dt.date(2024, 3, 1), dt.datetime(2023, 1, 2, 9, 30), 45000.0, 45000, 20240301,
              20240301.5, 7000, True, "2024-03-01", "", None, "bad"]  # fmt: skip
    text, all_text = _text_column(values)
    assert not all_text
    date, blank = _date_column(values, text, all_text)
    expected = [parse_date_cell(v) for v in values]
    assert date.to_list() == [d for d, _ in expected]
    assert blank.to_list() == [b for _, b in expected]
    assert text.to_list()[:3] == ["2024-03-01", "2023-01-02", "45000"]


def test_the_check_character_of_a_column_is_the_one_the_per_character_rule_gives():
    rng = random.Random(7)
    alphabet = "0123456789X+-. e٣１中"
    values = ["", "1", "64212719760407000", "642127197604070000", "x" * 30]
    values += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 22))) for _ in range(3000)
    ]
    values += ["".join(rng.choice("0123456789") for _ in range(18)) for _ in range(3000)]
    column = pl.Series(values, dtype=pl.String)
    per_character = column.to_frame("id").select(check_char_expr(pl.col("id")))
    assert check_chars(column).to_list() == per_character.to_series().to_list()
    assert check_chars(pl.Series([], dtype=pl.String)).to_list() == []


def test_a_list_whose_columns_mix_cell_types_keeps_each_rows_values_and_reasons(tmp_path):
    good = make_id("19800101", 11, division="642127")
    other = make_id("19900202", 22, division="642127")
    rows = [
        ["张三", good, "低保对象", dt.date(2024, 3, 1), "2024-12-31"],
        ["李四", float(other[:15] + "000"), "特困人员", "20240301", None],
        ["王五", other, "特困人员", 45000, ""],
        ["赵六", "  " + make_id("19700303", 33, division="642127"), "低保对象", "", ""],
        [
            "钱七",
            make_id("19710404", 44, division="642127"),
            "低保对象",
            "2024-01-01",
            "2024-02-30",
        ],
    ]
    header = ["姓名", "身份证号", "人员类别", "认定日期", "退出日期"]
    got = read_dept_list(write_workbook(tmp_path / "l.xlsx", header, rows), "民政")
    assert got.good["row"].to_list() == [2, 4]
    assert got.good["begin"].to_list() == [dt.date(2024, 3, 1), dt.date(2023, 3, 15)]
    assert got.good["end"].to_list() == [dt.date(2024, 12, 31), None]
    assert got.rejects.select("row", "column", "value").rows() == [
        (3, "身份证号", "6.42127E+17"),
        (5, "认定日期", ""),
        (6, "退出日期", "2024-02-30"),
    ]
    held = got.held.filter(pl.col("row") == 3)
    assert held.select("id_ok", "id_digits").row(0) == (False, other[:15] + "000")
