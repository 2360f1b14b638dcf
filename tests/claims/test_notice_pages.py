"""The missed-benefit notices (应享未享) in the browser's pages: the township's list, the amounts
due by tier, the workflow of RULES §7 as buttons, who may press which, and the audit trail."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest

from tests.claims.conftest import make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

S_PENDING, S_DISPATCHED, S_RECEIVED, S_NOTIFIED, S_PAID = (
    "待下放",
    "已下放",
    "已接收",
    "已通知",
    "已支付",
)


@pytest.fixture
def notice(policy, hospital, areas):
    """豫海镇's person with a January claim, tagged 低保 in March: the run's notice."""
    from fangpin.claims.resettle import missed_benefits
    from fangpin.claims.services import ClaimInput, settle_online
    from fangpin.people.models import Identity

    person = make_person(township=areas["豫海镇"])
    settle_online(
        hospital[0],
        ClaimInput("N1", person.id_no, dt.date(2023, 1, 15), 21, 2, True, True, 4_000_000, 100_000),
    )
    Identity.objects.create(
        person=person, name="低保对象", group="低保", department="民政", begin=dt.date(2023, 1, 1)
    )
    [n] = missed_benefits(policy, 2023).notices
    return n


def _state(n) -> str:
    n.refresh_from_db()
    return n.state


def _move(client, n, to_state, note=""):
    return client.post(f"/claims/notices/{n.pk}/", {"to_state": to_state, "note": note})


def _listed(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'data-notice="(\d+)"', response.content.decode())


def test_the_township_sees_its_notice_with_the_amount_due_by_tier(notice, users, client_for):
    from fangpin.claims.models import Adjustment
    from fangpin.site.templatetags.fangpin_tags import yuan

    adj = Adjustment.objects.get(claim__setl_id="N1")
    assert adj.maf_pay > 0 and -adj.psn_part_amt == notice.amount
    for user in (users.cadre, users.colleague, users.county, users.admin):
        assert _listed(client_for(user).get("/claims/notices/")) == [str(notice.pk)]
    assert _listed(client_for(users.outsider).get("/claims/notices/")) == []
    html = client_for(users.cadre).get("/claims/notices/").content.decode()
    row = re.search(rf'data-notice="{notice.pk}">(.*?)</tr>', html, re.S).group(1)
    assert notice.person.name in row and notice.person.id_no not in row  # masked for cadres
    nums = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert nums[0] == yuan(notice.amount)
    assert nums[1:] == [
        yuan(adj.hifp_pay), yuan(adj.hifmi_pay), yuan(adj.maf_pay), yuan(adj.oth_pay),
        yuan(adj.hosp_part_amt),
    ]  # fmt: skip

    detail = client_for(users.cadre).get(f"/claims/notices/{notice.pk}/")
    body = detail.content.decode()
    assert (
        detail.status_code == 200
        and yuan(adj.maf_pay) in body
        and 'href="/claims/bill/N1/"' in body
    )
    assert client_for(users.outsider).get(f"/claims/notices/{notice.pk}/").status_code == 404
    assert client_for(users.leader).get(f"/claims/notices/{notice.pk}/").status_code == 403
    assert client_for(users.cadre).get("/claims/notices/999999/").status_code == 404


def test_county_roles_filter_by_township_and_state(notice, users, client_for):
    c = client_for(users.county)
    assert _listed(c.get("/claims/notices/", {"township": "640324100"})) == [str(notice.pk)]
    assert _listed(c.get("/claims/notices/", {"township": "640324101"})) == []
    assert _listed(c.get("/claims/notices/", {"state": S_PENDING})) == [str(notice.pk)]
    assert _listed(c.get("/claims/notices/", {"state": S_PAID})) == []
    assert _listed(c.get("/claims/notices/", {"year": "2023"})) == [str(notice.pk)]
    # A cadre has no township to choose: the filter is not offered.
    assert 'name="township"' not in client_for(users.cadre).get("/claims/notices/").content.decode()


def test_the_workflow_goes_step_by_step_with_each_side_doing_its_own_steps(
    notice, users, client_for
):
    from fangpin.audit.models import AuditEntry
    from fangpin.claims.models import NoticeEvent

    county, cadre = client_for(users.county), client_for(users.cadre)
    assert _move(cadre, notice, S_DISPATCHED).status_code == 403  # the county dispatches
    for skip in (S_RECEIVED, S_PAID):  # no step is skipped, whoever asks
        refused = _move(county, notice, skip)
        assert refused.status_code == 400 and "逐步办理" in refused.content.decode()
    assert _state(notice) == S_PENDING

    assert _move(county, notice, S_DISPATCHED, "第一批").status_code == 302
    assert _state(notice) == S_DISPATCHED
    assert _move(county, notice, S_RECEIVED).status_code == 403  # the township receives
    assert _move(cadre, notice, S_PENDING).status_code == 403  # only the county recalls
    assert _move(county, notice, S_PENDING, "名单有误").status_code == 302
    assert _state(notice) == S_PENDING
    assert _move(county, notice, S_DISPATCHED).status_code == 302
    assert _move(cadre, notice, S_RECEIVED).status_code == 302
    late = _move(county, notice, S_PENDING)
    assert late.status_code == 400 and "只有乡镇接收之前" in late.content.decode()
    assert _state(notice) == S_RECEIVED
    early = _move(cadre, notice, S_PAID)
    assert early.status_code == 400 and _state(notice) == S_RECEIVED
    assert _move(cadre, notice, S_NOTIFIED, "电话告知本人").status_code == 302
    assert _move(cadre, notice, S_PAID).status_code == 302
    done = _move(cadre, notice, S_PAID)
    assert done.status_code == 400 and "流程已结束" in done.content.decode()

    events = list(NoticeEvent.objects.filter(notice=notice).order_by("at", "id"))
    assert [(e.from_state, e.to_state, e.username) for e in events] == [
        (S_PENDING, S_DISPATCHED, "county"),
        (S_DISPATCHED, S_PENDING, "county"),
        (S_PENDING, S_DISPATCHED, "county"),
        (S_DISPATCHED, S_RECEIVED, "yuhai"),
        (S_RECEIVED, S_NOTIFIED, "yuhai"),
        (S_NOTIFIED, S_PAID, "yuhai"),
    ]
    assert events[1].note == "名单有误"
    changes = AuditEntry.objects.filter(
        action="change", obj_type="missed_notice", obj_id=str(notice.pk)
    ).order_by("at", "id")
    assert [e.username for e in changes] == ["county"] * 3 + ["yuhai"] * 3
    assert f"{S_DISPATCHED} → {S_PENDING}：名单有误" in changes[1].summary
    history = client_for(users.colleague).get(f"/claims/notices/{notice.pk}/").content.decode()
    assert history.count("<td>yuhai</td>") == 3 and "电话告知本人" in history


def test_the_page_offers_only_the_buttons_the_user_may_press(notice, users, client_for):
    def buttons(user) -> list[str]:
        html = client_for(user).get(f"/claims/notices/{notice.pk}/").content.decode()
        return re.findall(r'<button type="submit" data-to="([^"]+)">', html)

    assert buttons(users.county) == [S_DISPATCHED] and buttons(users.cadre) == []
    _move(client_for(users.county), notice, S_DISPATCHED)
    assert buttons(users.county) == [S_PENDING]  # recall
    assert buttons(users.cadre) == [S_RECEIVED]
    assert buttons(users.colleague) == []  # read-only


def test_a_read_only_colleague_gets_403_on_every_post_and_changes_nothing(
    notice, users, client_for
):
    from fangpin.audit.models import AuditEntry

    _move(client_for(users.county), notice, S_DISPATCHED)
    ro = client_for(users.colleague)
    for to_state in (S_RECEIVED, S_PENDING, S_NOTIFIED, "bogus"):
        assert _move(ro, notice, to_state).status_code == 403
    assert ro.post("/claims/overpaid/1/review/").status_code == 403
    assert _state(notice) == S_DISPATCHED
    assert not AuditEntry.objects.filter(action="change", username="yuhai-ro").exists()
    assert _move(client_for(users.outsider), notice, S_RECEIVED).status_code == 404


def test_an_unknown_step_is_a_clear_refusal_not_a_server_error(notice, users, client_for):
    bad = _move(client_for(users.county), notice, "已撤销")
    assert bad.status_code == 400 and _state(notice) == S_PENDING
    assert "未知的办理状态“已撤销”" in bad.content.decode()


def test_viewing_and_exporting_notices_is_audited_with_ids_masked_for_cadres(
    notice, users, client_for
):
    from fangpin.audit.models import AuditEntry

    def sheet(user):
        response = client_for(user).get("/claims/notices/export.xlsx")
        assert response.status_code == 200
        wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        return list(wb.active.iter_rows(values_only=True))

    header, *rows = sheet(users.cadre)
    assert header[:5] == ("乡镇", "姓名", "身份证号/人员编号", "年度", "应补金额")
    assert len(rows) == 1 and rows[0][0] == "豫海镇" and rows[0][3] == 2023
    id_no = notice.person.id_no
    assert rows[0][2] == id_no[:6] + "********" + id_no[-4:]
    assert rows[0][4] == pytest.approx(notice.amount / 100)
    assert rows[0][header.index("医疗救助")] > 0 and rows[0][header.index("状态")] == S_PENDING
    _h, *county_rows = sheet(users.county)
    assert county_rows[0][2] == id_no
    _h, *outsider_rows = sheet(users.outsider)
    assert outsider_rows == []
    exports = AuditEntry.objects.filter(action="export", obj_type="missed_notice")
    assert sorted(exports.values_list("username", flat=True)) == ["county", "hexi", "yuhai"]
    client_for(users.cadre).get(f"/claims/notices/{notice.pk}/")
    view = AuditEntry.objects.filter(action="view", obj_type="missed_notice", obj_id=str(notice.pk))
    assert view.count() == 1 and id_no not in view.get().summary
