"""The xlsx export helper: cell types, safety of text cells, and the audit entry."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.test import RequestFactory
from django.utils import timezone

from fangpin.audit.models import AuditEntry
from fangpin.site.xlsx import write_xlsx, xlsx_response


def test_cells_keep_their_types_and_text_never_becomes_a_formula_or_number(tmp_path):
    path = tmp_path / "out.xlsx"
    aware = timezone.make_aware(dt.datetime(2025, 3, 1, 9, 30))
    rows = [
        [
            "640324199001011234",
            12,
            Decimal("1234.50"),
            dt.date(2025, 1, 2),
            aware,
            '=HYPERLINK("x")',
            None,
            True,
        ],
        ["张三", 0, Decimal("0.00"), None, None, "0012", "", False],
    ]
    assert (
        write_xlsx(
            path,
            ["身份证号", "人数", "金额", "日期", "时间", "备注", "空", "是否"],
            rows,
            sheet="名单",
        )
        == 2
    )
    ws = openpyxl.load_workbook(path)["名单"]
    values = list(ws.values)
    assert values[0][0] == "身份证号"
    r1 = values[1]
    assert r1[0] == "640324199001011234" and r1[1] == 12 and r1[2] == 1234.5
    assert r1[3] == dt.datetime(2025, 1, 2) and r1[4] == dt.datetime(2025, 3, 1, 9, 30)
    assert r1[5] == '=HYPERLINK("x")' and ws.cell(2, 6).data_type == "s"
    assert r1[6] is None and r1[7] == "是"
    assert values[2][5] == "0012"
    assert ws.freeze_panes == "A2"


def test_a_large_export_streams_past_the_width_sample(tmp_path):
    path = tmp_path / "big.xlsx"
    n = write_xlsx(path, ["序号", "姓名"], ([i, f"人员{i}"] for i in range(5000)))
    assert n == 5000
    ws = openpyxl.load_workbook(path, read_only=True).active
    assert sum(1 for _ in ws.values) == 5001


@pytest.mark.django_db
def test_every_download_is_recorded_as_an_export(users):
    request = RequestFactory().get("/x/")
    request.user = users.county
    response = xlsx_response(
        "未参保名单",
        ["姓名"],
        [["张三"], ["李四"]],
        request=request,
        obj_type="enrollment",
        summary="导出未参保名单",
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''%E6%9C%AA" in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [r[0] for r in wb.active.values] == ["姓名", "张三", "李四"]
    entry = AuditEntry.objects.get(action="export")
    assert entry.user == users.county and entry.obj_type == "enrollment"
    assert entry.summary == "导出未参保名单（未参保名单.xlsx，2 行）"
