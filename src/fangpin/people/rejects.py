"""The rejected rows of an upload as a workbook the department can correct and send back.

Each rejected row appears as it was in the original file (every column, cells as text so an ID
is not turned into a number again), preceded by its row number and followed by the columns at
fault and the reasons. Warnings follow on rows marked 提示.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fangpin.people.auditing import EXPORT, audit
from fangpin.people.models import DepartmentUpload, UploadReject
from fangpin.tabular.deptlist import find_header
from fangpin.tabular.ids import excel_general
from fangpin.tabular.xlsx import read_raw, write_xlsx


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | int) and not isinstance(v, bool):
        return excel_general(v)
    if isinstance(v, dt.date):
        return v.isoformat()[:10]
    return str(v)


def write_rejects_xlsx(upload: DepartmentUpload, path: str | Path, user: Any = None) -> int:
    """Write the upload's rejected (then warned) rows to `path`; returns the rows written."""
    sheet = read_raw(upload.file.path, looks_right=lambda rows: find_header(rows) is not None)
    h = find_header(sheet.rows) or 0
    header = [_cell(c) for c in sheet.rows[h]]
    problems: dict[tuple[str, int], list[UploadReject]] = {}
    for p in upload.rejects.all().order_by("row", "id"):
        problems.setdefault((p.level, p.row), []).append(p)

    def rows():
        for level in (UploadReject.Level.REJECT, UploadReject.Level.WARNING):
            for (lv, row), items in problems.items():
                if lv != level:
                    continue
                index = row - sheet.first_row
                cells = sheet.rows[index] if 0 <= index < len(sheet.rows) else []
                original = [_cell(c) for c in cells] + [""] * max(0, len(header) - len(cells))
                yield [
                    row,
                    "退回" if level == UploadReject.Level.REJECT else "提示",
                    *original[: len(header)],
                    "、".join(dict.fromkeys(p.column for p in items)),
                    "；".join(p.reason for p in items),
                ]

    title = f"{upload.department} {upload.list_date} 名单问题行（{upload.original_name}）"
    headers = ["原行号", "类型", *header, "问题列", "原因"]
    n = write_xlsx(
        path, headers, rows(), sheet="问题行", title=title, widths={len(headers) - 1: 60}
    )
    audit(user, EXPORT, "department_upload", upload.pk, f"导出名单问题行 {n} 行")
    return n
