"""Enrollment and births files, and the status rules, without a database."""

import datetime as dt

import polars as pl
import pytest

from fangpin.enrollment.files import SPACES, _texts, read_births, read_enrollment
from fangpin.enrollment.reconcile import first_group, groups_on, newborns_due, statuses, summary
from fangpin.tabular.io import TableError
from tests.people.factories import make_id, write_workbook, wrong_check

A, B = make_id("19800101", 1), make_id("19900101", 2)


def test_an_enrollment_csv_is_checked_row_by_row(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        "psn_no,name,year,insutype,tier,paid_date,stop_reason\n"
        f"{A},张三,2025,居民,一档,2024-10-01,\n"
        f"{B},李四,2025,310,,2025-01-01,\n"
        f"{wrong_check(A)},王五,2025,居民,一档,2024-10-01,\n"
        "NB0001,赵六,2025,异地,,,\n"
        f"{A},张三,2024,居民,一档,2023-10-01,\n"
        f"{B},李四,2025,商业保险,,2025-01-01,出国\n",
        encoding="utf-8",
    )
    checked = read_enrollment(path, 2025)
    good = checked.good
    assert good["row"].to_list() == [2, 3, 4, 5]
    assert good["insutype"].to_list() == ["居民", "职工", "居民", "异地"]
    assert good["id_no"].to_list() == [A, B, None, None]  # not valid IDs: looked up as psn_no later
    assert "校验位" in good["id_error"][2]
    assert good["paid_date"][0] == dt.date(2024, 10, 1)
    reasons = dict(zip(checked.rejects["column"], checked.rejects["reason"], strict=True))
    assert reasons["year"] == "年度「2024」不是 2025"
    assert reasons["insutype"] == "参保类型「商业保险」应为 居民 / 职工 / 异地"
    assert reasons["stop_reason"] == "停保原因「出国」应为空、死亡或服刑"
    assert checked.rejected_rows == 2


def test_text_cells_are_stripped_as_python_strips_them_and_cells_of_other_types_kept_apart(
    tmp_path,
):
    assert set(SPACES) == {c for c in map(chr, range(0x110000)) if c.isspace()}
    path = tmp_path / "e.csv"
    path.write_text(
        "psn_no,name,year,insutype,tier,paid_date,stop_reason\n"
        f"{A},\u3000张三\xa0,2025, 居民\t,\x1f一档\u2028,2024-10-01 ,\n"
        f" {B} ,李 四,2025,居民,一档,\u30002025-01-02,\n"
        f"{B},李四,2025,居民,一档,2025-01-02,\u200b\n",
        encoding="utf-8",
    )
    checked = read_enrollment(path, 2025)
    assert checked.good.select("person_key", "name", "insutype", "tier", "paid_date").rows() == [
        (A, "张三", "居民", "一档", dt.date(2024, 10, 1)),
        (B, "李 四", "居民", "一档", dt.date(2025, 1, 2)),
    ]
    # a zero-width space is not white space to Python either: the cell is kept, and refused
    assert checked.rejects.select("row", "column").rows() == [(4, "stop_reason")]
    # workbook cells: one text per type, whatever a dict would take for equal
    cells = ["1", 1, 1.0, True, None, dt.date(2025, 1, 2), " a\u3000", 6.40324e17, 1]
    assert _texts(cells).to_list() == [
        "1",
        "1",
        "1",
        "True",
        "",
        "2025-01-02",
        "a",
        "6.40324E+17",
        "1",
    ]


def test_an_enrollment_workbook_with_chinese_headers_is_read(tmp_path):
    path = write_workbook(
        tmp_path / "e.xlsx",
        ["身份证号", "姓名", "参保类型", "缴费档次", "缴费日期", "停保原因"],
        [
            [A, "张三", "城乡居民", "一档", dt.date(2024, 11, 2), ""],
            [B, "李四", "职工医保", "", 45658, "服刑"],
        ],
    )
    good = read_enrollment(path, 2025).good
    assert good.select("insutype", "paid_date", "stop_reason").rows() == [
        ("居民", dt.date(2024, 11, 2), ""),
        ("职工", dt.date(2025, 1, 1), "服刑"),
    ]
    assert good["year"].to_list() == [2025, 2025]  # no year column: the year asked for


def test_an_enrollment_file_with_a_header_and_no_rows_gives_no_rows_and_no_rejects(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("身份证号,姓名,年度,参保类型,缴费日期\n", encoding="utf-8")
    checked = read_enrollment(path, 2025)
    assert checked.good.height == 0 and checked.rejects.height == 0
    assert checked.good.schema["insutype"] == pl.String


def test_an_enrollment_file_without_a_person_column_is_refused(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("name,insutype\n张三,居民\n", encoding="utf-8")
    with pytest.raises(TableError, match="missing column"):
        read_enrollment(path, 2025)


def test_a_births_file_keeps_babies_without_an_id_number(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(
        f"psn_no,name,birth_date,township_code\n{A},甲,2025-02-01,640324100\nNB0002,乙,2025-03-01,豫海镇\nNB0003,丙,2025-02-30,\n",
        encoding="utf-8",
    )
    checked = read_births(path)
    assert checked.good.select("person_key", "id_no", "township").rows() == [
        (A, A, "640324100"),
        ("NB0002", None, "豫海镇"),
    ]
    assert checked.rejects["reason"].to_list() == ["出生日期「2025-02-30」不是有效日期"]


def test_each_person_gets_the_first_status_that_applies():
    ledger = pl.DataFrame({"person": [1, 2, 3, 4, 5, 6, 7, 8, 9], "id_ok": [True] * 8 + [False]})
    records = pl.DataFrame(
        {
            "person": [1, 2, 3, 5, 5, 6, 7, 7, 9],
            "insutype": ["居民", "职工", "异地", "居民", "居民", "居民", "居民", "职工", "居民"],
            "stop_reason": ["", "", "", "", "", "死亡", "服刑", "", ""],
        }
    )
    got = dict(statuses(ledger, records).select("person", "status").iter_rows())
    assert got == {
        1: "已参保(居民)",
        2: "已参保(职工)",
        3: "异地参保",
        4: "未参保",
        5: "重复",
        6: "死亡",
        7: "服刑",  # in prison outranks the other record
        8: "未参保",
        9: "身份证号无效",
    }


def test_the_rate_counts_everyone_insured_over_those_who_need_enrolling():
    st = pl.DataFrame(
        {"township": ["甲"] * 5, "status": ["已参保(居民)", "重复", "异地参保", "死亡", "未参保"]}
    )
    row = summary(st, ["township"]).row(0, named=True)
    assert (row["persons"], row["insured"], row["to_enroll"]) == (5, 3, 4)
    assert row["rate"] == pytest.approx(0.75)


def test_the_group_on_a_date_follows_the_order_given():
    ids = pl.DataFrame(
        {
            "person": [1, 1, 2],
            "group": ["重度残疾", "低保", "监测对象"],
            "begin": [dt.date(2020, 1, 1)] * 3,
            "end": [None, None, dt.date(2024, 12, 31)],
        },
        schema_overrides={"end": pl.Date},
    )
    assert groups_on(ids, dt.date(2025, 1, 1)).rows() == [(1, "低保")]
    assert groups_on(ids, dt.date(2025, 1, 1), ("重度残疾", "低保")).rows() == [(1, "重度残疾")]


def test_each_person_takes_the_first_group_of_the_order_and_unlisted_groups_by_name():
    pairs = pl.DataFrame(
        {"person": [3, 3, 5, 5, 5, 7], "group": ["乙", "甲", "乙", "特困", "低保", "丙"]}
    )
    got = dict(first_group(pairs, ("特困", "低保")).rows())
    assert got == {3: "乙", 5: "特困", 7: "丙"}  # 乙 (U+4E59) sorts before 甲 (U+7532)


def test_newborns_are_due_only_after_the_window():
    births = pl.DataFrame(
        {
            "person_key": ["a", "b", "c", "d"],
            "birth_date": [
                dt.date(2025, 3, 1),
                dt.date(2025, 2, 28),
                dt.date(2025, 1, 1),
                dt.date(2025, 1, 2),
            ],
        }
    )
    due = newborns_due(births, {"d"}, dt.date(2025, 3, 31), 30)
    assert due["person_key"].to_list() == ["b", "c"]  # a: exactly 30 days; d: enrolled
    assert due["due_date"][0] == dt.date(2025, 3, 30)
