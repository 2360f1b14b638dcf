"""Writing department spreadsheets with xlsxwriter, the way office software leaves them.

A sheet is given as a list of rows; a row is a list of cells: ``str`` → text cell,
``int``/``float`` → number cell (a number in a date column gets a date format, the
way Excel stores dates), ``None`` or ``""`` → no cell. A row that is ``None`` is left
blank. The workbook's creation time is fixed so the same input gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class Sheet:
    """One workbook with one sheet, ready to write."""

    path: Path
    sheet_name: str
    rows: list[list | None]
    header_row: int  # 0-based index of the header row in ``rows``
    date_cols: frozenset[int] = frozenset()
    title: str | None = None  # if set, rows[0] is a title merged across the header's width
    created: dt.datetime = field(default_factory=lambda: dt.datetime(2000, 1, 1))


def excel_serial(d: dt.date) -> int:
    """Excel's day number of a date (1900 date system)."""
    return (d - EXCEL_EPOCH).days


def write_sheet(s: Sheet) -> None:
    """Write one sheet to ``s.path``."""
    wb = xlsxwriter.Workbook(
        str(s.path),
        {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    wb.set_properties({"created": s.created, "author": "fangpin.synth"})
    ws = wb.add_worksheet(s.sheet_name)
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    width = len(s.rows[s.header_row] or [])
    write_string, write_number = ws.write_string, ws.write_number
    date_cols = s.date_cols
    for r, row in enumerate(s.rows):
        if row is None:
            continue
        if s.title is not None and r == 0:
            ws.merge_range(0, 0, 0, max(width - 1, 1), s.title, title_fmt)
            continue
        if r == s.header_row:
            for c, v in enumerate(row):
                write_string(r, c, v, bold)
            continue
        for c, v in enumerate(row):
            if v.__class__ is str:  # the common case first: most cells are text
                if v:
                    write_string(r, c, v)
            elif v is None:
                continue
            elif c in date_cols:
                write_number(r, c, v, date_fmt)
            else:
                write_number(r, c, v)
    ws.set_column(0, max(width - 1, 0), 14)
    wb.close()


def write_sheets(sheets: list[Sheet]) -> int:
    """Write several sheets; returns how many were written (handy across processes)."""
    for s in sheets:
        write_sheet(s)
    return len(sheets)
