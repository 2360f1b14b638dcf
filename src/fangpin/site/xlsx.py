"""Excel downloads: every export goes through xlsx_response, which writes the audit entry.

    return xlsx_response("审计日志.xlsx", ["时间", "用户"], rows, request=request, obj_type="audit",
                         summary="导出审计日志 1,234 行")

Cells: int/float/Decimal become numbers, date/datetime dates (datetimes in local time), None
an empty cell, anything else text. Text is never read as a formula or number, so a value
like "=HYPERLINK(...)" from an uploaded list cannot turn into a live formula on a colleague's
computer, and ID numbers keep every digit.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import FileResponse, HttpRequest
from django.utils import timezone

from fangpin import audit

# Rows are streamed to disk one at a time, so a large export does not sit in memory.
_OPTIONS = {
    "constant_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}
_WIDTH_SAMPLE_ROWS = 200
_MAX_WIDTH = 60
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text_width(value: Any) -> int:
    # Chinese characters take two columns in Excel's default fonts.
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def write_xlsx(
    target: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1"
) -> int:
    """Write a workbook with one sheet to `target` (a path or a binary file); returns rows written."""
    wb = xlsxwriter.Workbook(target, _OPTIONS)
    ws = wb.add_worksheet(sheet[:31])
    bold = wb.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    time_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    money_fmt = wb.add_format({"num_format": "0.00"})
    widths = [_text_width(h) for h in headers]
    buffered: list[Sequence[Any]] = []
    count = 0
    rows_iter = iter(rows)

    # constant_memory writes rows in order, so column widths (set before any row) come from a
    # sample of the first rows held back for that purpose.
    for row in rows_iter:
        buffered.append(row)
        for i, v in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], _text_width(v) if v is not None else 0)
        if len(buffered) >= _WIDTH_SAMPLE_ROWS:
            break
    for i, w in enumerate(widths):
        ws.set_column(i, i, min(w + 2, _MAX_WIDTH))
    for c, h in enumerate(headers):
        ws.write_string(0, c, str(h), bold)

    def put(r: int, row: Sequence[Any]) -> None:
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, bool):
                ws.write_string(r, c, "是" if v else "否")
            elif isinstance(v, Decimal):
                # The file format stores every number cell as a double; a yuan amount to the
                # fen (computed exactly in integer fen) is far inside a double's exact range.
                ws.write_number(r, c, float(v), money_fmt)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v)
            elif isinstance(v, dt.datetime):
                local = timezone.localtime(v) if timezone.is_aware(v) else v
                ws.write_datetime(r, c, local.replace(tzinfo=None), time_fmt)
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(v, dt.time.min), date_fmt)
            else:
                ws.write_string(r, c, str(v))

    for row in buffered:
        count += 1
        put(count, row)
    for row in rows_iter:
        count += 1
        put(count, row)
    ws.freeze_panes(1, 0)
    if headers:
        ws.autofilter(0, 0, max(count, 1), len(headers) - 1)
    wb.close()
    return count


def xlsx_response(
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    request: HttpRequest,
    obj_type: str = "",
    obj_id: Any = "",
    summary: str = "",
    sheet: str = "Sheet1",
) -> FileResponse:
    """A download of the rows as an .xlsx file, recorded in the audit trail as an export.
    `request` is required so that no export can leave without its audit entry."""
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    # A temporary file rather than memory: exports of a whole county run to many megabytes.
    # FileResponse closes it once sent (and the OS removes it), hence no `with` here.
    tmp = tempfile.TemporaryFile()  # noqa: SIM115
    count = write_xlsx(tmp, headers, rows, sheet=sheet)
    tmp.seek(0)
    audit.record(
        request, audit.EXPORT, obj_type, obj_id, f"{summary or '导出'}（{filename}，{count} 行）"
    )
    return FileResponse(tmp, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
