"""Enrollment monitoring pages over HTTP: a run's figures by township and group, the un-enrolled
list with township feedback, newborns, exports, the person file's panel and the dashboard.

The county below: on 1 March 2025,
  豫海镇  Y1 低保, resident record (subsidy 360.00)  -> 已参保(居民)
          Y2 特困, no record                        -> 未参保
          Y3 低保, employee record                  -> 已参保(职工)
  河西镇  H1 低保, no record                        -> 未参保
          H2 特困, resident record                  -> 已参保(居民)
豫海镇 2 of 3 enrolled (66.67%), 河西镇 1 of 2 (50.00%), the county 3 of 5 (60.00%).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.test import Client
from python_calamine import CalamineWorkbook

from fangpin.audit.models import AuditEntry
from fangpin.enrollment.models import (
    EnrollmentRecord,
    ItemState,
    NewbornItem,
    ReconciliationRun,
    UnenrolledFeedback,
    UnenrolledItem,
)
from fangpin.enrollment.services import run_reconciliation
from fangpin.people.models import Identity, Person
from fangpin.policy.groups import IDENTITIES
from tests.people.factories import make_id

pytestmark = pytest.mark.django_db

ON = dt.date(2025, 3, 1)
IDS = {key: make_id("19700101", i) for i, key in enumerate(["Y1", "Y2", "Y3", "H1", "H2"], 1)}


def person(key: str, town, identity: str, insutype: str | None = None, subsidy: int = 0) -> Person:
    p = Person.objects.create(id_no=IDS[key], name=f"人员{key}", township=town)
    group, dept = IDENTITIES[identity]
    Identity.objects.create(
        person=p, name=identity, group=group, department=dept, begin=dt.date(2024, 1, 1)
    )
    if insutype:
        EnrollmentRecord.objects.create(
            person=p, year=2025, insutype=insutype, row_key=f"{insutype}|", subsidy=subsidy,
            subsidy_group=group if subsidy else "", paid_date=dt.date(2024, 12, 1),
        )  # fmt: skip
    return p


@pytest.fixture
def county(users, areas):
    yuhai, hexi = areas["豫海镇"], areas["河西镇"]
    people = {
        "Y1": person("Y1", yuhai, "低保对象", "居民", subsidy=36_000),
        "Y2": person("Y2", yuhai, "特困人员"),
        "Y3": person("Y3", yuhai, "低保对象", "职工"),
        "H1": person("H1", hexi, "低保对象"),
        "H2": person("H2", hexi, "特困人员", "居民"),
    }
    run = run_reconciliation(2025, ON).run
    items = {i.person_id: i for i in UnenrolledItem.objects.all()}
    return {
        "people": people,
        "run": run,
        "yuhai_item": items[people["Y2"].pk],
        "hexi_item": items[people["H1"].pk],
    }


def charts(body: str) -> dict[str, dict]:
    found = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', body, re.S)
    return {i: json.loads(text) for i, text in found}


def sheet_rows(response) -> list[list]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.getvalue()))
    return book.get_sheet_by_index(0).to_python()


def audited(action: str, obj_type: str, user) -> bool:
    return AuditEntry.objects.filter(action=action, obj_type=obj_type, user=user).exists()


def test_anonymous_users_are_sent_to_login_from_every_enrollment_page(county):
    item = county["yuhai_item"]
    urls = [
        "/enrollment/", "/enrollment/summary.xlsx", "/enrollment/unenrolled/",
        "/enrollment/unenrolled/export.xlsx", f"/enrollment/unenrolled/{item.pk}/",
        "/enrollment/newborns/", "/enrollment/newborns/export.xlsx",
    ]  # fmt: skip
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url in ("/enrollment/run/", f"/enrollment/unenrolled/{item.pk}/feedback/"):
        response = Client().post(url, {"year": 2025, "on": "2025-03-01", "finding": "其他"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_the_county_sees_every_townships_rate_and_a_cadre_only_their_own(users, client_for, county):
    body = client_for(users.county).get("/enrollment/").content.decode()
    assert "豫海镇" in body and "河西镇" in body and "60.00%" in body
    rate = charts(body)["chart-rate-township"]
    assert dict(zip(rate["labels"], rate["series"][0]["values"], strict=True)) == {
        "豫海镇": 66.67,
        "河西镇": 50.0,
    }
    assert {s["name"] for s in charts(body)["chart-status-township"]["series"]} == {
        "已参保(居民)", "已参保(职工)", "未参保",
    }  # fmt: skip
    groups = charts(body)["chart-rate-group"]
    assert groups["labels"] == ["特困", "低保"] and groups["series"][0]["values"] == [50.0, 66.67]

    cadre = client_for(users.cadre).get("/enrollment/").content.decode()
    assert "河西镇" not in cadre and "66.67%" in cadre
    assert charts(cadre)["chart-rate-township"]["labels"] == ["豫海镇"]
    # Leaders read the statistics; liaisons have no business here.
    assert client_for(users.leader).get("/enrollment/").status_code == 200
    assert client_for(users.liaison).get("/enrollment/").status_code == 403
    assert client_for(users.county).get("/enrollment/?run=999999").status_code == 404


def test_only_the_county_runs_a_reconciliation_and_the_run_is_audited(users, client_for, county):
    for user in (users.leader, users.cadre, users.colleague, users.liaison):
        response = client_for(user).post("/enrollment/run/", {"year": 2025, "on": "2025-04-01"})
        assert response.status_code == 403
    assert ReconciliationRun.objects.count() == 1
    response = client_for(users.county).post("/enrollment/run/", {"year": 2025, "on": "2025-04-01"})
    run = ReconciliationRun.objects.get(month=dt.date(2025, 4, 1))
    assert response.status_code == 302 and response["Location"] == f"/enrollment/?run={run.pk}"
    assert audited("change", "reconciliation_run", users.county)
    assert "参保核对完成" in client_for(users.county).get(response["Location"]).content.decode()


def test_a_cadre_sees_only_their_townships_unenrolled_people(users, client_for, county):
    y2, h1 = county["people"]["Y2"], county["people"]["H1"]
    cadre = client_for(users.cadre).get("/enrollment/unenrolled/").content.decode()
    assert y2.name in cadre and h1.name not in cadre
    assert IDS["Y2"] not in cadre and IDS["Y2"][-4:] in cadre
    both = client_for(users.county).get("/enrollment/unenrolled/").content.decode()
    assert y2.name in both and h1.name in both and IDS["Y2"] in both
    hexi_item = county["hexi_item"]
    assert client_for(users.cadre).get(f"/enrollment/unenrolled/{hexi_item.pk}/").status_code == 404
    for user in (users.leader, users.liaison):
        assert client_for(user).get("/enrollment/unenrolled/").status_code == 403
    # The read-only colleague sees the list but no feedback form.
    ro = client_for(users.colleague).get("/enrollment/unenrolled/").content.decode()
    assert y2.name in ro and "feedback-form" not in ro
    assert "feedback-form" in cadre


def test_a_cadre_feeds_back_on_an_item_which_stays_open_until_reconciliation(
    users, client_for, county
):
    item = county["yuhai_item"]
    url = f"/enrollment/unenrolled/{item.pk}/feedback/"
    response = client_for(users.cadre).post(
        url, {"finding": "已动员参保", "note": "已缴费待到账", "next": "/enrollment/unenrolled/"}
    )
    assert response.status_code == 302 and response["Location"] == "/enrollment/unenrolled/"
    fb = UnenrolledFeedback.objects.get()
    assert (fb.item, fb.finding, fb.note, fb.created_by) == (
        item, "已动员参保", "已缴费待到账", users.cadre,
    )  # fmt: skip
    item.refresh_from_db()
    assert item.state == ItemState.OPEN
    entry = AuditEntry.objects.get(action="change", obj_type="unenrolled_item", obj_id=str(item.pk))
    assert entry.user == users.cadre and "已动员参保" in entry.summary
    page = client_for(users.cadre).get("/enrollment/unenrolled/").content.decode()
    assert "已动员参保：已缴费待到账" in page
    detail = client_for(users.cadre).get(f"/enrollment/unenrolled/{item.pk}/").content.decode()
    assert "李专干" in detail and "已缴费待到账" in detail
    assert audited("view", "unenrolled_item", users.cadre)


def test_feedback_is_refused_to_read_only_users_and_other_townships(users, client_for, county):
    item = county["yuhai_item"]
    url = f"/enrollment/unenrolled/{item.pk}/feedback/"
    data = {"finding": "死亡"}
    for user in (users.colleague, users.leader, users.liaison):
        assert client_for(user).post(url, data).status_code == 403
    assert client_for(users.outsider).post(url, data).status_code == 404
    # An off-site `next` is ignored; "其他" needs a note.
    evil = client_for(users.cadre).post(url, {**data, "next": "https://example.com/"})
    assert evil["Location"] == f"/enrollment/unenrolled/{item.pk}/"
    other = client_for(users.cadre).post(url, {"finding": "其他", "note": " "})
    assert other.status_code == 400 and "请写明核查情况" in other.content.decode()
    assert UnenrolledFeedback.objects.count() == 1


def test_lists_export_to_xlsx_masked_for_a_cadre_and_audited(users, client_for, county):
    cadre = client_for(users.cadre)
    rows = sheet_rows(cadre.get("/enrollment/unenrolled/export.xlsx"))
    assert rows[0][:4] == ["乡镇", "村", "姓名", "身份证号"]
    assert [(r[0], r[2]) for r in rows[1:]] == [("豫海镇", "人员Y2")]
    assert rows[1][3] == IDS["Y2"][:6] + "********" + IDS["Y2"][-4:]
    assert audited("export", "unenrolled_list", users.cadre)
    whole = sheet_rows(client_for(users.county).get("/enrollment/unenrolled/export.xlsx"))
    assert {r[3] for r in whole[1:]} == {IDS["Y2"], IDS["H1"]}

    summary = sheet_rows(cadre.get("/enrollment/summary.xlsx"))
    assert summary[0][:3] == ["乡镇", "类别", "人数"]
    assert {r[0] for r in summary[1:]} == {"豫海镇", "合计"}
    assert audited("export", "enrollment_summary", users.cadre)
    assert cadre.get("/enrollment/newborns/export.xlsx").status_code == 200
    assert audited("export", "newborn_list", users.cadre)


def test_newborns_are_listed_by_township(users, client_for, county, areas):
    run = county["run"]
    for name, town, key in (
        ("豫海宝宝", areas["豫海镇"], "B1"),
        ("河西宝宝", areas["河西镇"], "B2"),
    ):
        NewbornItem.objects.create(
            id_no=key, name=name, birth_date=dt.date(2025, 1, 1), township=town,
            due_date=dt.date(2025, 1, 31), month=run.month, opened_run=run,
        )  # fmt: skip
    cadre = client_for(users.cadre).get("/enrollment/newborns/").content.decode()
    assert "豫海宝宝" in cadre and "河西宝宝" not in cadre
    both = client_for(users.county).get("/enrollment/newborns/").content.decode()
    assert "豫海宝宝" in both and "河西宝宝" in both
    assert client_for(users.colleague).post("/enrollment/newborns/").status_code == 403


def test_the_person_file_shows_enrollment_by_year_with_subsidies_in_yuan(users, client_for, county):
    y1 = county["people"]["Y1"]
    page = client_for(users.cadre).get(f"/people/{y1.pk}/").content.decode()
    assert "城乡居民医保" in page and "360.00" in page and "2024-12-01" in page
    y2 = county["people"]["Y2"]
    UnenrolledFeedback.objects.create(
        item=county["yuhai_item"], finding="外省参保", note="在银川务工"
    )
    page = client_for(users.cadre).get(f"/people/{y2.pk}/").content.decode()
    assert "没有参保记录" in page and "外省参保：在银川务工" in page


def test_the_dashboard_shows_special_persons_rates_and_open_items_within_the_users_area(
    users, client_for, county
):
    body = client_for(users.county).get("/").content.decode()
    assert "全县特殊人群在册" in body and "特困 2、低保 3" in body
    assert "全县参保率" in body and "60.00%" in body and "全县未参保待清零" in body
    found = charts(body)
    assert found["chart-special-groups"]["labels"] == ["特困", "低保"]
    assert found["chart-enrollment-rate"]["labels"] == ["豫海镇", "河西镇"]
    assert "逾期未标识名单" in body

    cadre = client_for(users.cadre).get("/").content.decode()
    assert "本乡镇特殊人群在册" in cadre and "特困 1、低保 2" in cadre and "66.67%" in cadre
    assert "逾期未标识名单" not in cadre and not charts(cadre)
    leader = client_for(users.leader).get("/")
    assert leader.status_code == 200 and "60.00%" in leader.content.decode()
