"""The statistics page (统计) and its exports: hand-computed sums (conftest.py), area scoping,
read-only leaders, audited Excel files."""

from __future__ import annotations

import io
import re

import pytest
from python_calamine import CalamineWorkbook

from fangpin.audit.models import AuditEntry
from fangpin.reports.views import TABLES
from tests.fixtures_users import HEXI

pytestmark = pytest.mark.django_db


def table(body: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</section>', body, re.S)
    assert match, testid
    return match.group(1)


def cell(section: str, row: str, col: str) -> str:
    match = re.search(rf'data-row="{row}">.*?data-col="{col}">([^<]*)<', section, re.S)
    assert match, (row, col)
    return match.group(1)


def sheet(response) -> list[list]:
    data = b"".join(response.streaming_content)
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def test_the_county_reads_payouts_by_township_and_by_group(users, client_for, ledger):
    body = client_for(users.county).get("/reports/").content.decode()
    towns = table(body, "table-claims-township")
    assert cell(towns, "豫海镇", "claims") == "3"
    assert cell(towns, "豫海镇", "fund_pay_sumamt") == "10,900.00"
    assert cell(towns, "豫海镇", "hosp_part_amt") == "100.00"
    assert cell(towns, "豫海镇", "ratio") == "75.17%"
    assert cell(towns, "河西镇", "fund_pay_sumamt") == "3,400.00"
    assert cell(towns, "河西镇", "ratio") == "85.00%"
    assert cell(towns, "合计", "inscp") == "18,500.00"
    assert cell(towns, "合计", "medfee") == "21,000.00"
    assert cell(towns, "合计", "psn_part_amt") == "6,600.00"
    groups = table(body, "table-claims-group")
    # The pack's order of groups: 特困 before 低保; 稳定脱贫 (C3's current group) last.
    assert (
        groups.index('data-row="特困"')
        < groups.index('data-row="低保"')
        < groups.index('data-row="稳定脱贫"')
    )
    assert cell(groups, "低保", "maf_pay") == "1,500.00"  # 80,000 + 50,000 + 20,000
    assert cell(groups, "稳定脱贫", "psn_part_amt") == "800.00"  # 110,000 − 30,000


def test_the_county_reads_warnings_by_township_level_open_overdue_and_closed(
    users, client_for, ledger
):
    body = client_for(users.leader).get("/reports/").content.decode()
    warnings = table(body, "table-warnings-township")
    assert re.search(r"<th[^>]*>红色</th><th[^>]*>橙色</th><th[^>]*>黄色</th>", warnings)
    yuhai = re.search(r'data-township="640324100">(.*?)</tr>', warnings).group(1)
    numbers = re.findall(r'class="num[^"]*"[^>]*>(\d+)<', yuhai)
    # 案件 3: 红 1, 橙 1, 黄 1; 未办结 2, 超期 1, 已办结 1 (last year's red is not counted).
    assert numbers == ["3", "1", "1", "1", "2", "1", "1"]
    total = re.search(r'data-township="total">(.*?)</tr>', warnings).group(1)
    assert re.findall(r'class="num[^"]*"[^>]*>(\d+)<', total) == ["5", "2", "1", "2", "4", "1", "1"]


def test_the_enrollment_tables_show_the_years_reconciliation(users, client_for, ledger):
    from fangpin.enrollment.services import run_reconciliation

    body = client_for(users.county).get("/reports/").content.decode()
    assert f"{ledger.year} 年度尚未运行参保核对" in body
    run_reconciliation(ledger.year, ledger.today, user=users.county)
    body = client_for(users.county).get("/reports/").content.decode()
    towns = table(body, "table-enrollment-township")
    # Nobody has an enrollment record: 马低保 (豫海镇) and 马特困 (河西镇) are not enrolled.
    assert re.search(
        r"<td>豫海镇</td><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>1</td><td[^>]*>0.00%</td>", towns
    )
    assert "河西镇" in towns
    groups = table(body, "table-enrollment-group")
    assert "<td>特困</td>" in groups and "<td>低保</td>" in groups


def test_a_township_cadre_reads_only_her_townships_tables(users, client_for, ledger):
    body = client_for(users.cadre).get("/reports/").content.decode()
    towns = table(body, "table-claims-township")
    assert 'data-row="豫海镇"' in towns and "河西镇" not in body
    assert cell(towns, "合计", "fund_pay_sumamt") == "10,900.00"
    assert 'name="township"' not in body  # nothing to choose from
    groups = table(body, "table-claims-group")
    assert 'data-row="特困"' not in groups  # 马特困 lives in 河西镇


@pytest.mark.parametrize("path", ["/reports/", *(f"/reports/{t}.xlsx" for t in TABLES)])
def test_another_township_or_an_unknown_one_answers_404(users, client_for, ledger, path):
    cadre = client_for(users.cadre)
    assert cadre.get(path, {"township": HEXI[0]}).status_code == 404
    assert cadre.get(path, {"township": "640324999"}).status_code == 404
    assert client_for(users.county).get(path, {"township": "640324999"}).status_code == 404
    assert client_for(users.outsider).get(path, {"township": HEXI[0]}).status_code == 200


def test_the_county_narrows_the_tables_to_one_township(users, client_for, ledger):
    body = client_for(users.county).get("/reports/", {"township": HEXI[0]}).content.decode()
    towns = table(body, "table-claims-township")
    assert "豫海镇" not in towns and cell(towns, "合计", "fund_pay_sumamt") == "3,400.00"
    assert f"township={HEXI[0]}" in body  # the exports keep the choice


@pytest.mark.parametrize("path", ["/reports/", "/reports/claims-township.xlsx"])
def test_leaders_read_but_a_post_is_refused(users, client_for, ledger, path):
    leader = client_for(users.leader)
    assert leader.get(path).status_code == 200
    assert leader.post(path).status_code == 403
    assert client_for(users.colleague).post(path).status_code == 403


def test_a_department_liaison_gets_no_statistics(users, client_for, ledger):
    assert client_for(users.liaison).get("/reports/").status_code == 403
    assert client_for(users.liaison).get("/reports/claims-group.xlsx").status_code == 403
    assert "统计报表" not in client_for(users.liaison).get("/").content.decode()
    assert "统计报表" in client_for(users.leader).get("/").content.decode()


def test_an_export_holds_the_tables_figures_in_yuan_and_is_audited(users, client_for, ledger):
    response = client_for(users.cadre).get("/reports/claims-township.xlsx")
    assert response.status_code == 200
    rows = sheet(response)
    assert rows[0][:4] == ["乡镇", "结算笔数", "医疗费用(元)", "政策范围内费用(元)"]
    header = rows[0]
    yuhai = dict(zip(header, rows[1], strict=True))
    assert yuhai["乡镇"] == "豫海镇" and yuhai["结算笔数"] == 3
    assert yuhai["基金支付合计(元)"] == 10900 and yuhai["医疗机构承担(元)"] == 100
    assert yuhai["政策范围内报销比例(%)"] == pytest.approx(75.17)
    assert rows[-1][0] == "合计" and len(rows) == 3
    entry = AuditEntry.objects.get(action="export", obj_type="statistics", user=users.cadre)
    assert entry.obj_id == "claims-township" and "豫海镇" in entry.summary


def test_the_warnings_export_has_a_column_per_level(users, client_for, ledger):
    response = client_for(users.county).get("/reports/warnings-township.xlsx")
    rows = sheet(response)
    assert rows[0] == ["乡镇", "预警案件", "红色", "橙色", "黄色", "未办结", "其中超期", "已办结"]
    assert rows[1] == ["豫海镇", 3, 1, 1, 1, 2, 1, 1]
    assert rows[-1] == ["合计", 5, 2, 1, 2, 4, 1, 1]
    assert AuditEntry.objects.filter(action="export", obj_id="warnings-township").count() == 1


def test_an_unknown_table_answers_404(users, client_for, ledger):
    assert client_for(users.county).get("/reports/nothing.xlsx").status_code == 404
