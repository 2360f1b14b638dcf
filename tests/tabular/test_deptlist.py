"""Department lists as offices send them: real .xlsx (and .csv) files, messy on purpose."""

import datetime as dt

import polars as pl
import pytest

from fangpin.tabular.deptlist import canonical_department, canonical_identity, read_dept_list
from fangpin.tabular.ids import REASON_AS_NUMBER
from fangpin.tabular.io import TableError
from tests.people.factories import make_id, write_workbook, wrong_check

HEADER = [
    "序号",
    "乡镇（街道）",
    "村（社区）",
    "姓名",
    "公民身份号码",
    "人员类别",
    "认定日期",
    "退出日期",
]
A = make_id("19800101", 11, division="642127")
B = make_id("20010203", 22)
C = make_id("19751111", 33, division="642127")
D = make_id("19600505", 44, division="642127")
E = make_id("19550909", 55, division="642127")


def fullwidth(text: str) -> str:
    return text.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


@pytest.fixture
def messy(tmp_path):
    """A 民政 list with a merged title, a merged township cell, blank rows, a number-cell ID,
    a full-width ID with trailing spaces, a duplicate, a wrong check character, a footer."""
    rows = [
        [1, "", "南关社区", "张三", A, "低保对象", dt.date(2024, 3, 1), None],  # row 3
        [2, "", "南关社区", "李 四", fullwidth(B) + "  ", "特困人员", "2025-01-15", None],  # row 4
        None,  # row 5: blank
        [3, "河西镇", "一村", "王五", 6.40324197511110e17, "低保对象", "2024.05.06", None],  # row 6
        [4, "河西镇", "一村", "赵六", wrong_check(D), "低保对象", "20240506", None],  # row 7
        [
            5,
            "豫海镇",
            "南关社区",
            "张三",
            A,
            "低保对象",
            "2024-03-01",
            None,
        ],  # row 8: duplicate of 3
        [6, "河西镇", "二村", "钱七", E, "分散供养特困人员", 45292, "2025/02/28"],  # row 9
        [7, "河西镇", "二村", "孙八", C, "低保户", "2024-13-01", None],  # row 10
        None,  # row 11
        ["合计：7人"],  # row 12: footer
    ]
    return write_workbook(
        tmp_path / "民政_202503.xlsx",
        HEADER,
        rows,
        title="同心县民政局2025年3月困难群众救助对象名单",
        merge_down=[(0, 1, 1, "豫海镇")],
    )


def reasons(lst, row):
    return lst.rejects.filter(pl.col("row") == row)["reason"].to_list()


def test_the_header_is_found_below_a_merged_title_and_mapped_from_the_offices_words(messy):
    lst = read_dept_list(messy, "民政")
    assert lst.header_row == 2
    assert lst.columns["id_no"] == "公民身份号码"
    assert lst.columns["township"] == "乡镇（街道）"
    assert lst.data_rows == 7  # blank rows and the footer are not people
    assert lst.skipped_rows == [5, 11, 12]


def test_good_rows_are_normalised_and_keep_their_excel_row_numbers(messy):
    lst = read_dept_list(messy, "民政")
    good = {r["row"]: r for r in lst.good.iter_rows(named=True)}
    assert sorted(good) == [3, 4, 9]
    assert good[4]["id_no"] == B and good[4]["name"] == "李四"  # full width, spaces removed
    assert good[3]["township"] == "豫海镇" and good[4]["township"] == "豫海镇"  # merged cell
    assert good[3]["begin"] == dt.date(2024, 3, 1)  # a date cell
    assert good[9]["begin"] == dt.date(2024, 1, 1)  # an Excel day number
    assert good[9]["end"] == dt.date(2025, 2, 28)
    assert good[9]["identity"] == "特困人员" and good[9]["group"] == "特困"
    assert good[3]["sex"] == "男" and good[3]["birth_date"] == dt.date(1980, 1, 1)


def test_an_id_stored_as_a_number_is_rejected_saying_it_lost_precision(messy):
    lst = read_dept_list(messy, "民政")
    (reject,) = lst.rejects.filter(pl.col("row") == 6).iter_rows(named=True)
    assert reject["column"] == "公民身份号码"
    assert reject["value"] == "6.40324E+17"
    assert reject["reason"] == REASON_AS_NUMBER


def test_a_wrong_check_character_a_duplicate_and_an_unknown_identity_are_rejected(messy):
    lst = read_dept_list(messy, "民政")
    assert "校验位错误" in reasons(lst, 7)[0]
    assert reasons(lst, 8) == ["重复：与第 3 行为同一人、同一人员类别"]
    row10 = reasons(lst, 10)
    assert any("「低保户」不是可识别的身份名称" in r for r in row10)
    assert any("认定日期「2024-13-01」不是有效日期" in r for r in row10)
    assert lst.rejected_rows == 4


def test_rejected_rows_are_remembered_with_who_they_seem_to_mean(messy):
    held = read_dept_list(messy, "民政").held
    row6 = held.filter(pl.col("row") == 6).row(0, named=True)
    assert row6["id_ok"] is False and row6["id_digits"].startswith("640324197511110")
    assert held.filter(pl.col("row") == 10)["id_ok"].to_list() == [True]


def test_an_identity_another_department_pushes_is_rejected(tmp_path):
    path = write_workbook(
        tmp_path / "l.xlsx", ["身份证号", "姓名", "人员类别"], [[A, "张三", "1-2级残疾人"]]
    )
    lst = read_dept_list(path, "民政")
    assert reasons(lst, 2) == ["「1-2级残疾人」由残联推送，不属于民政的名单"]
    assert read_dept_list(path, "残联").good.height == 1


def test_the_same_id_under_two_names_is_rejected_on_the_later_row(tmp_path):
    rows = [[A, "张三", "低保对象"], [A, "张山", "特困人员"]]
    lst = read_dept_list(
        write_workbook(tmp_path / "l.xlsx", ["身份证号", "姓名", "人员类别"], rows), "民政"
    )
    assert lst.good["row"].to_list() == [2]
    assert reasons(lst, 3) == ["身份证号与第 2 行相同，但姓名不同（第 2 行为「张三」）"]


def test_one_person_with_two_identities_in_one_list_keeps_both(tmp_path):
    rows = [[A, "张三", "特困人员"], [A, "张三", "孤儿"]]
    lst = read_dept_list(
        write_workbook(tmp_path / "l.xlsx", ["身份证号", "姓名", "人员类别"], rows), "民政"
    )
    assert lst.good["identity"].to_list() == ["特困人员", "孤儿"]


def test_an_end_before_the_begin_and_a_missing_name_are_rejected(tmp_path):
    header = ["证件号码", "姓名", "人员身份", "纳入时间", "退出时间"]
    rows = [
        [A, "张三", "低保对象", "2024-05-01", "2024-04-01"],
        [B, "", "低保对象", "2024-05-01", ""],
    ]
    lst = read_dept_list(write_workbook(tmp_path / "l.xlsx", header, rows), "民政")
    assert reasons(lst, 2) == ["退出日期 2024-04-01 早于认定日期 2024-05-01"]
    assert reasons(lst, 3) == ["姓名为空"]


def test_a_blank_begin_date_is_rejected_when_the_list_has_that_column(tmp_path):
    rows = [[A, "张三", "低保对象", ""]]
    lst = read_dept_list(
        write_workbook(tmp_path / "l.xlsx", ["身份证号", "姓名", "人员类别", "认定日期"], rows)
    )
    assert reasons(lst, 2) == ["认定日期为空"]
    no_column = write_workbook(
        tmp_path / "m.xlsx", ["身份证号", "姓名", "人员类别"], [[A, "张三", "低保对象"]]
    )
    assert read_dept_list(no_column).good["begin"].to_list() == [None]


def test_the_list_sheet_is_found_behind_a_cover_sheet(tmp_path):
    path = write_workbook(
        tmp_path / "l.xlsx",
        ["身份证号码", "姓名", "身份类别"],
        [[A, "张三", "脱贫不稳定户"]],
        sheet="名单",
        extra_sheets={"说明": [["本表由县农业农村局填报"], ["填表说明：身份证号请设为文本"]]},
    )
    lst = read_dept_list(path, "农业农村局")
    assert lst.sheet == "名单" and lst.good["group"].to_list() == ["监测对象"]


def test_a_division_code_warning_does_not_reject_the_row(tmp_path):
    odd = make_id("19900101", 7, division="640324")  # the code dates from 1998
    lst = read_dept_list(
        write_workbook(
            tmp_path / "l.xlsx", ["身份证号", "姓名", "人员类别"], [[odd, "张三", "低保对象"]]
        )
    )
    assert lst.good.height == 1 and lst.rejects.height == 0
    assert "640324" in lst.warnings["reason"][0]


def test_a_file_without_a_recognisable_header_is_refused(tmp_path):
    path = write_workbook(tmp_path / "l.xlsx", ["编号", "名字", "备注"], [["1", "张三", ""]])
    with pytest.raises(TableError, match="no header row"):
        read_dept_list(path)


def test_a_gb18030_csv_with_a_title_line_is_read(tmp_path):
    text = f"民政局低保名单\r\n身份证号,姓名,人员类别,认定日期\r\n{A},张三,低保对象,2024年3月1日\r\n,,,\r\n{B} ,李四,城市低保对象,2024/3/2\r\n"
    path = tmp_path / "l.csv"
    path.write_bytes(text.encode("gb18030"))
    lst = read_dept_list(path, "民政")
    assert lst.header_row == 2 and lst.skipped_rows == [4]
    assert lst.good["row"].to_list() == [3, 5]
    assert lst.good["begin"].to_list() == [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]
    assert lst.good["identity"].to_list() == ["低保对象", "低保对象"]


def test_obvious_spellings_of_identities_are_accepted_and_loose_ones_are_not():
    assert canonical_identity("一、二级残疾人") == "1-2级残疾人"
    assert canonical_identity("１－２级残疾人") == "1-2级残疾人"
    assert canonical_identity(" 低保 对象 ") == "低保对象"
    assert canonical_identity("集中供养特困人员") == "特困人员"
    for loose in ("低保户", "五保户", "脱贫户", "重度残疾人"):
        assert canonical_identity(loose) is None


def test_department_names_and_aliases():
    assert canonical_department("农业农村局") == "乡村振兴"
    assert canonical_department("民政局") == "民政"
    with pytest.raises(ValueError, match="unknown department"):
        canonical_department("教育局")


def test_a_utf8_csv_with_a_byte_order_mark_full_width_ids_and_trailing_spaces_is_read(tmp_path):
    # Excel's "CSV UTF-8" writes a byte order mark; offices pad cells with spaces.
    text = (
        "乡镇,村,姓名,证件号码,身份类别,纳入时间,退出日期\n"
        f"豫海镇 ,南关社区,张三  ,{fullwidth(A)}  ,低保对象 ,2024-03-01,\n"
        f"河西镇,一村,李四,{B},特困人员,2024-03-02,2025-01-31\n"
        f"河西镇,一村,李四,{B},特困人员,2024-03-02,2025-01-31\n"
        f"河西镇,一村,王五,{wrong_check(C)},低保对象,2024-03-02,\n"
    )
    path = tmp_path / "l.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    lst = read_dept_list(path, "民政")
    assert lst.header_row == 1 and lst.columns["id_no"] == "证件号码"
    good = lst.good.select("row", "id_no", "name", "identity", "township", "begin", "end").rows()
    assert good == [
        (2, A, "张三", "低保对象", "豫海镇", dt.date(2024, 3, 1), None),
        (3, B, "李四", "特困人员", "河西镇", dt.date(2024, 3, 2), dt.date(2025, 1, 31)),
    ]
    assert reasons(lst, 4) == ["重复：与第 3 行为同一人、同一人员类别"]
    assert "校验位错误" in reasons(lst, 5)[0]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("身份证号", "id_no"),
        ("公民身份号码", "id_no"),
        ("证件号码", "id_no"),
        ("姓名", "name"),
        ("人员类别", "identity"),
        ("身份类别", "identity"),
        ("认定日期", "begin"),
        ("纳入时间", "begin"),
        ("退出日期", "end"),
        ("乡镇", "township"),
        ("村", "village"),
    ],
)
def test_each_header_word_offices_use_is_mapped_to_its_column(tmp_path, header, field):
    base = {"id_no": "身份证号", "name": "姓名", "identity": "人员类别"}
    base[field] = header
    cells = {"id_no": A, "name": "张三", "identity": "低保对象", "begin": "2024-03-01",
             "end": "2025-02-28", "township": "豫海镇", "village": "南关社区"}  # fmt: skip
    fields = list(base)
    path = write_workbook(
        tmp_path / "l.xlsx", [base[f] for f in fields], [[cells[f] for f in fields]]
    )
    lst = read_dept_list(path, "民政")
    assert lst.columns[field] == header
    expected = cells[field]
    if field in ("begin", "end"):
        expected = dt.date.fromisoformat(expected)
    assert lst.good[field].to_list() == [expected]
