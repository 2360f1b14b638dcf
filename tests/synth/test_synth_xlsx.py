"""The department spreadsheets are well-formed workbooks that a second reader agrees on."""

from __future__ import annotations

import datetime as dt

import openpyxl
from python_calamine import load_workbook

from fangpin.synth.xlsxio import Sheet, column_letters, write_sheet


def _sheet(tmp_path, **kw) -> Sheet:
    rows = [
        ["同心县民政局2025年3月名单"],
        ["序号", "姓名", "身份证号", "认定日期"],
        [1, "马 小<花>&", "64032419900101001X ", 45717],
        None,
        [2, "李四", 6.40324199001011e17, None],
    ]
    return Sheet(
        path=tmp_path / "list.xlsx",
        sheet_name="名单",
        rows=rows,
        header_row=1,
        date_cols=frozenset({3}),
        title=rows[0][0],
        created=dt.datetime(2025, 3, 1, 8, 30),
        **kw,
    )


def test_column_letters_run_past_z():
    assert [column_letters(i) for i in (0, 9, 25, 26, 27, 701, 702)] == [
        "A", "J", "Z", "AA", "AB", "ZZ", "AAA",
    ]  # fmt: skip


def test_openpyxl_reads_the_cells_styles_title_and_properties_written(tmp_path):
    s = _sheet(tmp_path)
    write_sheet(s)
    wb = openpyxl.load_workbook(s.path)
    ws = wb["名单"]
    assert ws["A1"].value == "同心县民政局2025年3月名单"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:D1"]
    assert [c.value for c in ws[2]] == ["序号", "姓名", "身份证号", "认定日期"]
    assert all(c.font.b for c in ws[2])
    assert ws["B3"].value == "马 小<花>&"
    assert ws["C3"].value == "64032419900101001X "  # the trailing space is kept
    assert ws["D3"].value == dt.datetime(2025, 3, 1) and ws["D3"].number_format == "yyyy-mm-dd"
    assert [c.value for c in ws[4]] == [None, None, None, None]
    assert ws["C5"].value == 6.40324199001011e17 and ws["D5"].value is None
    assert wb.properties.creator == "fangpin.synth"
    assert wb.properties.created == dt.datetime(2025, 3, 1, 8, 30)


def test_calamine_reads_the_same_rows(tmp_path):
    s = _sheet(tmp_path)
    write_sheet(s)
    rows = load_workbook(str(s.path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert rows[2][:3] == [1, "马 小<花>&", "64032419900101001X "]
    assert rows[2][3] == dt.date(2025, 3, 1)
    assert rows[3] == ["", "", "", ""]
    assert rows[4][2] == 6.40324199001011e17


def test_the_same_sheet_gives_the_same_bytes(tmp_path):
    s = _sheet(tmp_path)
    write_sheet(s)
    first = s.path.read_bytes()
    write_sheet(s)
    assert s.path.read_bytes() == first
