"""Test helpers: resident IDs with a valid check character, and workbooks written the way
department offices leave them (xlsxwriter, real .xlsx files)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import xlsxwriter

from fangpin.tabular.ids import check_char


def make_id(birth: str = "19900101", seq: int = 123, division: str = "640324") -> str:
    """A valid 18-character ID: division, birth date YYYYMMDD, 3-digit sequence, check."""
    body = f"{division}{birth}{seq:03d}"
    return body + check_char(body)


def wrong_check(id_no: str) -> str:
    """The same ID with another check character."""
    good = id_no[17]
    other = "0" if good != "0" else "1"
    return id_no[:17] + other


def write_workbook(
    path: Path,
    header: list[str],
    rows: list[list[Any] | None],
    *,
    title: str | None = None,
    sheet: str = "Sheet1",
    merge_down: list[tuple[int, int, int, str]] = (),
    extra_sheets: dict[str, list[list[Any]]] | None = None,
) -> Path:
    """Write a list: an optional title merged across the header's width, the header, the rows.

    In `rows` a str is a text cell, a number a number cell, a date a date-formatted cell, None
    (or "") no cell, and a None row a blank row. `merge_down` = (first data row index, last
    data row index, column, value): a cell merged over several data rows.
    """
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    for name, cells in (extra_sheets or {}).items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(cells):
            for c, v in enumerate(row):
                ws.write(r, c, v)
    ws = wb.add_worksheet(sheet)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r0 = 0
    if title is not None:
        ws.merge_range(0, 0, 0, len(header) - 1, title)
        r0 = 1
    for c, h in enumerate(header):
        ws.write_string(r0, c, h)
    first = r0 + 1
    for i, row in enumerate(rows):
        if row is None:
            continue
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                ws.write_string(first + i, c, v)
            elif isinstance(v, dt.date):
                ws.write_datetime(first + i, c, dt.datetime(v.year, v.month, v.day), date_fmt)
            else:
                ws.write_number(first + i, c, v)
    for a, b, c, value in merge_down:
        ws.merge_range(first + a, c, first + b, c, value)
    wb.close()
    return path


def excel_row(title: bool, index: int) -> int:
    """The Excel row number of data row `index` (0-based) in a `write_workbook` sheet."""
    return index + (3 if title else 2)
