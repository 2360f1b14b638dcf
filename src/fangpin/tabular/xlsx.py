"""Spreadsheets as the offices send them: raw rows in (calamine or CSV), plain xlsx out.

Reading keeps what a clerk sees: the Excel row number of every row, the merged ranges, and each
cell's own type (a number cell stays a float, a date cell a date), so the validation can tell an
ID typed into a number cell from one typed as text. Writing uses xlsxwriter with every value
written as what it is — text stays text (an ID is never turned into a number on the way out).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fangpin.tabular.io import TableError

SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
TEXT_TABLES = (".csv", ".txt")


@dataclass
class RawSheet:
    """Rows of one sheet as cells; `first_row` is the Excel row number of rows[0] (1-based)."""

    name: str
    rows: list[list[Any]]
    first_row: int = 1
    first_col: int = 0
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 in rows

    def excel_row(self, index: int) -> int:
        return self.first_row + index


def read_raw(path: str | Path, *, looks_right=None) -> RawSheet:
    """The rows of a spreadsheet's sheet or of a CSV file (UTF-8 or GB18030).

    A workbook with several sheets: the first visible sheet for which `looks_right(rows)` is
    true, else the first visible sheet.
    """
    path = Path(path)
    if not path.exists():
        raise TableError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix in SPREADSHEETS:
        return _read_workbook(path, looks_right)
    if suffix in TEXT_TABLES:
        return RawSheet(name=path.stem, rows=_read_csv_rows(path))
    raise TableError(path, f"unknown file type {suffix or '(none)'}: use .xlsx, .xls or .csv")


def _read_workbook(path: Path, looks_right) -> RawSheet:
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise TableError(path, f"cannot be read as a workbook: {exc}") from None
    try:
        visible = [m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
        chosen = None
        for name in visible or wb.sheet_names:
            sheet = _sheet(wb.get_sheet_by_name(name))
            if chosen is None:
                chosen = sheet
            if looks_right is None or looks_right(sheet.rows):
                return sheet
        if chosen is None:
            raise TableError(path, "the workbook has no sheet")
        return chosen
    finally:
        wb.close()


def _sheet(sheet) -> RawSheet:
    rows = sheet.to_python(skip_empty_area=True)
    r0, c0 = sheet.start if sheet.start else (0, 0)
    merged = []
    for (a, b), (c, d) in sheet.merged_cell_ranges or []:
        merged.append((a - r0, b - c0, c - r0, d - c0))
    return RawSheet(name=sheet.name, rows=rows, first_row=r0 + 1, first_col=c0, merged=merged)


def _read_csv_rows(path: Path) -> list[list[Any]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Files from Windows offices are often GB18030 (a superset of GBK and GB2312).
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise TableError(path, "neither UTF-8 nor GB18030 text") from None
    return [row for row in csv.reader(io.StringIO(text, newline=""))]


def fill_merged(sheet: RawSheet, below: int) -> None:
    """Give every cell of a merged range below row index `below` the range's value.

    Offices merge a township or household cell over the rows it covers; each of those rows
    means that value.
    """
    for r0, c0, r1, c1 in sheet.merged:
        if r0 <= below or r0 >= len(sheet.rows):
            continue
        top = sheet.rows[r0]
        value = top[c0] if c0 < len(top) else ""
        for r in range(r0, min(r1, len(sheet.rows) - 1) + 1):
            row = sheet.rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                row[c] = value


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def write_xlsx(
    path: str | Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet: str = "Sheet1",
    title: str | None = None,
    widths: dict[int, int] | None = None,
) -> int:
    """Write one sheet (header row, then rows) with text kept as text; returns rows written.

    The file appears whole or not at all (written to a temporary name, then renamed).
    """
    import xlsxwriter

    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    wb = xlsxwriter.Workbook(
        str(tmp),
        {
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "constant_memory": True,
        },
    )
    try:
        ws = wb.add_worksheet(sheet[:31])
        bold = wb.add_format({"bold": True})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        r = 0
        if title:
            ws.write_string(0, 0, title, wb.add_format({"bold": True, "font_size": 14}))
            r = 1
        for c, h in enumerate(headers):
            ws.write_string(r, c, str(h), bold)
            ws.set_column(c, c, (widths or {}).get(c, max(10, min(2 * len(str(h)) + 4, 40))))
        ws.freeze_panes(r + 1, 0)
        n = 0
        for row in rows:
            r += 1
            n += 1
            for c, v in enumerate(row):
                _write_cell(ws, r, c, v, date_fmt)
        wb.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return n


def _write_cell(ws, r: int, c: int, v: Any, date_fmt) -> None:
    if v is None or v == "":
        return
    if isinstance(v, str):
        ws.write_string(r, c, v)
    elif isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, dt.datetime):
        ws.write_datetime(r, c, v.replace(tzinfo=None), date_fmt)
    elif isinstance(v, dt.date):
        ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
    elif isinstance(v, int | float):
        ws.write_number(r, c, v)
    else:
        ws.write_string(r, c, str(v))
