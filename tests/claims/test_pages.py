"""The bureau's claims pages: settlement search with totals and export, overpaid review, imports,
and the navigation's 结算 section — over the Django test client on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest

from tests.claims.conftest import make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _settle(inst, setl_id, psn, date, total, med_type=21, lv=2):
    from fangpin.claims.services import ClaimInput, settle_online

    return settle_online(
        inst, ClaimInput(setl_id, psn, date, med_type, lv, True, True, total, 100_000)
    )


def _import(tmp_path: Path, lines: list[str], name: str = "2023-07.csv"):
    from fangpin.claims.batch import import_claims
    from fangpin.claims.services import current_pack

    header = (
        "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,medfee_sumamt,"
        "fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt"
    )
    f = tmp_path / name
    f.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return import_claims(f, current_pack()).claim_import


@pytest.fixture
def ledger(policy, hospital, other_hospital, areas, tmp_path):
    """Claims of three people: 豫海镇's 低保 person (online at two hospitals, one cancelled, one
    imported and not yet settled), 河西镇's person, and someone not in the people ledger."""
    from fangpin.claims.services import cancel_online

    yuhai = make_person([("低保对象", dt.date(2023, 1, 1), None)], township=areas["豫海镇"])
    hexi = make_person(township=areas["河西镇"])
    h1, h2 = hospital[0], other_hospital[0]
    out = {
        "S1": _settle(h1, "S1", yuhai.id_no, dt.date(2023, 2, 1), 5_000_000),
        "S2": _settle(h2, "S2", yuhai.id_no, dt.date(2023, 5, 1), 800_000, med_type=14),
        "S3": _settle(h1, "S3", hexi.id_no, dt.date(2023, 3, 1), 2_000_000),
        "S4": _settle(h1, "S4", yuhai.id_no, dt.date(2023, 6, 1), 1_500_000),
        "S5": _settle(h1, "S5", "NOT-IN-LEDGER-01", dt.date(2023, 4, 1), 900_000),
    }
    cancel_online(h1, "S4", "重复结算")
    _import(tmp_path, [f"I1,{yuhai.id_no},2023-07-02,21,2,1,1,30000.00,500.00,0,0"])
    return yuhai, hexi, out


def _setl_ids(response) -> list[str]:
    assert response.status_code == 200
    return sorted(re.findall(r'data-setl="([^"]+)"', response.content.decode()))


def _totals_cells(response) -> list[str]:
    html = response.content.decode()
    row = re.search(r'data-testid="claims-totals">(.*?)</tr>', html, re.S).group(1)
    return re.findall(r'<td class="num">([^<]*)</td>', row)


def _yuan(fen: int) -> str:
    from fangpin.site.templatetags.fangpin_tags import yuan

    return yuan(fen)


def test_the_search_finds_claims_by_each_filter(ledger, users, client_for):
    yuhai, _hexi, _ = ledger
    c = client_for(users.county)

    def found(**params):
        return _setl_ids(c.get("/claims/", params))

    assert found() == ["I1", "S1", "S2", "S3", "S4", "S5"]
    assert found(setl_id="S2") == ["S2"]
    assert found(person=yuhai.name) == ["I1", "S1", "S2", "S4"]
    assert found(person=yuhai.id_no) == ["I1", "S1", "S2", "S4"]
    assert found(person=yuhai.id_no[:-1]) == []  # exact, not a prefix
    assert found(date_from="2023-03-01", date_to="2023-05-01") == ["S2", "S3", "S5"]
    assert found(med_type="14") == ["S2"]
    assert found(institution="H640324002") == ["S2"]
    assert found(source="import") == ["I1"]
    assert found(source="online") == ["S1", "S2", "S3", "S4", "S5"]
    assert found(group="低保") == ["S1", "S2"]  # the cancelled S4 has no group any more
    assert found(group="none") == ["S3", "S5"]
    assert found(township="640324101") == ["S3"]
    assert found(psn=yuhai.id_no) == ["I1", "S1", "S2", "S4"]
    bad = c.get("/claims/", {"date_from": "2023-06-01", "date_to": "2023-01-01"})
    assert _setl_ids(bad) == [] and "结束日期早于开始日期" in bad.content.decode()


def test_each_row_shows_its_state_and_links_to_the_bill(ledger, users, client_for):
    html = client_for(users.county).get("/claims/").content.decode()
    states = dict(
        re.findall(r'data-setl="([^"]+)".*?data-testid="claim-state">([^<]+)<', html, re.S)
    )
    assert states == {
        "I1": "待结算", "S1": "有效", "S2": "有效", "S3": "有效", "S4": "已冲销", "S5": "有效",
    }  # fmt: skip
    assert 'href="/claims/bill/S1/"' in html
    pending = client_for(users.county).get("/claims/bill/I1/")
    assert pending.status_code == 200 and "尚未结算" in pending.content.decode()


def test_the_totals_are_the_fen_sums_of_the_valid_settlements_found(ledger, users, client_for):
    from fangpin.claims.models import RESULT_FIELDS

    yuhai, _hexi, out = ledger
    response = client_for(users.county).get("/claims/", {"person": yuhai.name})
    counted = [out["S1"], out["S2"]]  # S4 is cancelled, I1 not settled yet
    expected = [sum(o.claim.medfee_sumamt for o in counted)]
    shown = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt", "psn_part_amt")
    expected += [sum(getattr(o.settlement, f) for o in counted) for f in shown]
    assert all(f in RESULT_FIELDS for f in shown)
    assert _totals_cells(response) == [_yuan(v) for v in expected]
    assert expected[3] > 0  # medical assistance was paid: the 低保 identity counted
    body = response.content.decode()
    assert "共 4 笔，其中有效结算 2 笔" in body


def test_the_totals_include_the_differences_a_re_settlement_recorded(
    policy, hospital, areas, users, client_for
):
    from fangpin.claims.models import Adjustment
    from fangpin.claims.resettle import missed_benefits
    from fangpin.people.models import Identity

    p = make_person(township=areas["豫海镇"])
    o = _settle(hospital[0], "L1", p.id_no, dt.date(2023, 1, 15), 4_000_000)
    Identity.objects.create(
        person=p, name="低保对象", group="低保", department="民政", begin=dt.date(2023, 1, 1)
    )
    missed_benefits(policy, 2023)
    adj = Adjustment.objects.get(claim=o.claim)
    response = client_for(users.cadre).get("/claims/")
    cells = _totals_cells(response)
    assert cells[3] == _yuan(o.settlement.maf_pay + adj.maf_pay) and adj.maf_pay > 0
    assert cells[-1] == _yuan(o.settlement.psn_part_amt + adj.psn_part_amt)
    html = response.content.decode()
    assert 'data-testid="claim-state">已补差<' in html
    assert _setl_ids(client_for(users.cadre).get("/claims/", {"group": "低保"})) == ["L1"]


def test_a_township_cadre_sees_only_their_townships_claims(ledger, users, client_for):
    assert _setl_ids(client_for(users.cadre).get("/claims/")) == ["I1", "S1", "S2", "S4"]
    assert _setl_ids(client_for(users.outsider).get("/claims/")) == ["S3"]
    # Asking for another township's claim by number finds nothing, and its bill is not there.
    assert _setl_ids(client_for(users.outsider).get("/claims/", {"setl_id": "S1"})) == []
    assert client_for(users.outsider).get("/claims/bill/S1/").status_code == 404
    assert client_for(users.cadre).get("/claims/bill/S3/").status_code == 404
    assert client_for(users.cadre).get("/claims/bill/S5/").status_code == 404  # no township
    # The township filter is the county's: a cadre cannot widen their area with it.
    assert _setl_ids(client_for(users.cadre).get("/claims/", {"township": "640324101"})) == [
        "I1", "S1", "S2", "S4",
    ]  # fmt: skip


def test_roles_without_claims_get_403_and_a_read_only_colleague_gets_403_on_every_post(
    ledger, users, client_for
):
    for user in (users.liaison, users.leader):
        for url in ("/claims/", "/claims/export.xlsx", "/claims/notices/", "/claims/overpaid/",
                    "/claims/imports/"):  # fmt: skip
            assert client_for(user).get(url).status_code == 403, (user, url)
    ro = client_for(users.colleague)
    assert ro.get("/claims/").status_code == 200
    for url in ("/claims/", "/claims/notices/", "/claims/bill/S1/", "/claims/export.xlsx"):
        assert ro.post(url).status_code == 403, url
    assert ro.post("/claims/notices/1/", {"to_state": "已接收"}).status_code == 403


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(wb.active.iter_rows(values_only=True))


def test_the_export_holds_the_filtered_claims_with_ids_masked_for_township_cadres(
    ledger, users, client_for
):
    from fangpin.audit.models import AuditEntry

    yuhai, _hexi, out = ledger
    county = _sheet(client_for(users.county).get("/claims/export.xlsx", {"source": "online"}))
    header, *rows = county
    assert header[:4] == ("结算号", "结算日期", "姓名", "身份证号/人员编号")
    assert sorted(r[0] for r in rows) == ["S1", "S2", "S3", "S4", "S5"]
    s1 = next(r for r in rows if r[0] == "S1")
    assert s1[3] == yuhai.id_no  # county officers see whole ID numbers
    assert s1[header.index("医疗救助")] == pytest.approx(out["S1"].settlement.maf_pay / 100)
    assert s1[header.index("状态")] == "有效" and s1[header.index("适用类别")] == "低保"

    _h, *cadre_rows = _sheet(client_for(users.cadre).get("/claims/export.xlsx"))
    assert sorted(r[0] for r in cadre_rows) == ["I1", "S1", "S2", "S4"]
    for r in cadre_rows:
        assert r[3] != yuhai.id_no and r[3] == yuhai.id_no[:6] + "********" + yuhai.id_no[-4:]
    exports = AuditEntry.objects.filter(action="export", obj_type="settlement_search")
    assert exports.count() == 2
    assert "来源=online" in exports.get(username="county").summary


def test_searching_by_id_number_is_audited_with_the_number_masked(ledger, users, client_for):
    from fangpin.audit.models import AuditEntry

    yuhai, _hexi, _ = ledger
    client_for(users.cadre).get("/claims/", {"person": yuhai.id_no})
    entry = AuditEntry.objects.filter(action="view", obj_type="settlement_search").last()
    assert entry.username == "yuhai" and yuhai.id_no not in entry.summary
    assert yuhai.id_no[-4:] in entry.summary and "共 4 笔" in entry.summary


# --- overpaid review --------------------------------------------------------------------------


@pytest.fixture
def overpaid(policy, hospital, areas):
    """A person settled as 低保 whose identity turned out to have ended before the claim."""
    from fangpin.claims.models import Overpaid
    from fangpin.claims.resettle import missed_benefits
    from fangpin.people.models import Identity

    p = make_person([("低保对象", dt.date(2022, 1, 1), None)], township=areas["豫海镇"])
    o = _settle(hospital[0], "W1", p.id_no, dt.date(2023, 4, 1), 5_000_000)
    assert o.settlement.group == "低保"
    Identity.objects.filter(person=p).update(end=dt.date(2022, 12, 31))
    missed_benefits(policy, 2023)
    return p, Overpaid.objects.get()


def test_overpaid_amounts_are_listed_for_county_roles_and_reviewed_once(
    overpaid, users, client_for
):
    from fangpin.accounts.roles import Role
    from fangpin.accounts.services import create_user
    from fangpin.audit.models import AuditEntry
    from tests.fixtures_users import TEST_PASSWORD

    person, row = overpaid
    c = client_for(users.county)
    html = c.get("/claims/overpaid/").content.decode()
    assert f'data-overpaid="{row.pk}"' in html and person.id_no in html and person.name in html
    assert _yuan(row.amount) in html and row.amount > 0
    for user in (users.cadre, users.outsider, users.leader):
        assert client_for(user).get("/claims/overpaid/").status_code == 403

    ro_county = create_user("county-ro", TEST_PASSWORD, Role.COUNTY, read_only=True)
    assert client_for(ro_county).get("/claims/overpaid/").status_code == 200
    url = f"/claims/overpaid/{row.pk}/review/"
    assert client_for(ro_county).post(url, {"note": "x"}).status_code == 403
    row.refresh_from_db()
    assert row.reviewed_at is None

    assert c.post(url, {"note": "身份已于2022年底退出,核实无误"}).status_code == 302
    row.refresh_from_db()
    assert row.reviewed_at is not None and row.reviewed_by == "马县经办"
    assert row.note == "身份已于2022年底退出,核实无误"
    first = row.reviewed_at
    again = c.post(url, {"note": "再次"}, follow=True)
    assert "不能重复复核" in again.content.decode()
    row.refresh_from_db()
    assert row.reviewed_at == first and row.note.startswith("身份已于")
    changes = AuditEntry.objects.filter(action="change", obj_type="overpaid", obj_id=str(row.pk))
    assert changes.count() == 1 and changes.get().ip_address
    assert _setl_ids_or_rows(c.get("/claims/overpaid/", {"reviewed": "no"})) == []
    assert _setl_ids_or_rows(c.get("/claims/overpaid/", {"reviewed": "yes"})) == [str(row.pk)]
    assert client_for(users.admin).post("/claims/overpaid/999999/review/").status_code == 404


def _setl_ids_or_rows(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'data-overpaid="(\d+)"', response.content.decode())


def test_the_overpaid_export_masks_ids_for_administrators(overpaid, users, client_for):
    person, row = overpaid
    _h, *county_rows = _sheet(client_for(users.county).get("/claims/overpaid/export.xlsx"))
    assert [(r[0], r[1], r[2], r[3]) for r in county_rows] == [
        (person.name, person.id_no, "豫海镇", 2023)
    ]
    assert county_rows[0][4] == pytest.approx(row.amount / 100)
    _h, *admin_rows = _sheet(client_for(users.admin).get("/claims/overpaid/export.xlsx"))
    assert admin_rows[0][1] != person.id_no and admin_rows[0][1].endswith(person.id_no[-4:])


# --- imports ----------------------------------------------------------------------------------


def test_imports_list_their_counts_and_give_the_rejects_as_xlsx(
    policy, users, client_for, tmp_path
):
    from fangpin.audit.models import AuditEntry

    ci = _import(
        tmp_path,
        [
            "M1,P-1,2023-01-05,21,3,1,1,80000.00,2000.00,0,0",
            "M2,P-2,2023-01-32,21,3,1,1,100.00,0,0,0",  # no such date
            "M3,P-3,2023-01-05,21,2,1,1,100.00,200.00,0,0",  # self-pay above the total
        ],
        name="县外-2023-01.csv",
    )
    c = client_for(users.county)
    html = c.get("/claims/imports/").content.decode()
    row = re.search(rf'data-import="{ci.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "县外-2023-01.csv" in row
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', row) == ["3", "1", "0", "2"]
    detail = c.get(f"/claims/imports/{ci.pk}/").content.decode()
    assert "setl_date" in detail and "inscp_scp_amt" in detail

    header, *rows = _sheet(c.get(f"/claims/imports/{ci.pk}/rejects.xlsx"))
    assert header == ("行号", "结算号", "字段", "原因")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (3, "M2", "setl_date"),
        (4, "M3", "inscp_scp_amt"),
    ]
    assert all(r[3] for r in rows)
    assert AuditEntry.objects.filter(
        action="export", obj_type="claim_import", obj_id=str(ci.pk)
    ).exists()
    _h, *listed = _sheet(c.get("/claims/imports/export.xlsx"))
    assert [(r[0], r[1], r[5], r[6], r[8]) for r in listed] == [
        (ci.pk, "县外-2023-01.csv", 3, 1, 2)
    ]
    for user in (users.cadre, users.leader, users.liaison):
        assert client_for(user).get(f"/claims/imports/{ci.pk}/rejects.xlsx").status_code == 403
    assert c.get("/claims/imports/999999/").status_code == 404


# --- navigation -------------------------------------------------------------------------------


def _nav_links(body: str) -> list[str]:
    m = re.search(r'<div class="section-title">结算</div>\s*<ul>(.*?)</ul>', body, re.S)
    return re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', m.group(1)) if m else []


def test_the_navigation_shows_the_settlement_pages_to_the_right_roles(users, client_for):
    everything = ["结算查询", "应享未享通知", "应退复核", "结算导入"]
    assert _nav_links(client_for(users.county).get("/").content.decode()) == everything
    assert _nav_links(client_for(users.admin).get("/").content.decode()) == everything
    for user in (users.cadre, users.colleague, users.outsider):
        assert _nav_links(client_for(user).get("/").content.decode()) == [
            "结算查询",
            "应享未享通知",
        ]
    for user in (users.leader, users.liaison):
        assert _nav_links(client_for(user).get("/").content.decode()) == []
