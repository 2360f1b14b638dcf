"""The audit trail: recording, immutability, the administrator's page and its export."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.test import RequestFactory
from django.utils import timezone

from fangpin import audit
from fangpin.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_record_takes_a_request_a_user_or_nobody(users):
    request = RequestFactory().get("/x/", HTTP_USER_AGENT="UA", REMOTE_ADDR="10.1.2.3")
    request.user = users.cadre
    e1 = audit.record(request, audit.VIEW, "person", 42, "查看人员档案")
    assert (e1.user, e1.role, e1.obj_id, e1.ip_address, e1.user_agent) == (
        users.cadre,
        "乡镇专干",
        "42",
        "10.1.2.3",
        "UA",
    )
    e2 = audit.record(users.county, audit.CHANGE, "claim", "S1", "冲销")
    assert e2.user == users.county and e2.ip_address is None
    e3 = audit.record(None, audit.LOGIN_FAILED, username="ghost")
    assert e3.user is None and e3.username == "ghost"


def test_an_unknown_action_is_refused(users):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(users.admin, "delete")


def test_entries_cannot_be_changed_or_deleted(users):
    entry = audit.record(users.admin, audit.VIEW, "x", 1)
    entry.summary = "edited"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_entries_keep_the_name_after_the_account_is_deleted(users):
    audit.record(users.liaison, audit.EXPORT, "upload", 3)
    users.liaison.delete()
    entry = AuditEntry.objects.get(action="export")
    assert entry.user is None and entry.username == "minzheng"


def test_only_the_system_administrator_opens_the_audit_page(users, client_for):
    assert client_for(users.admin).get("/audit/").status_code == 200
    for user in (users.county, users.cadre, users.colleague, users.leader, users.liaison):
        assert client_for(user).get("/audit/").status_code == 403
        assert client_for(user).get("/audit/export.xlsx").status_code == 403
    assert client_for(users.admin).post("/audit/").status_code == 405


def make_history(users) -> None:
    now = timezone.now()
    for i in range(60):
        entry = audit.record(users.cadre, audit.VIEW, "person", i)
        AuditEntry.objects.filter(pk=entry.pk).update(at=now - dt.timedelta(days=i % 3))
    audit.record(users.county, audit.EXPORT, "list", 1, "导出未参保名单")


def test_the_audit_page_filters_by_user_action_and_date_and_pages_through(users, client_for):
    make_history(users)
    client = client_for(users.admin)
    total = AuditEntry.objects.count()  # 61 and the creation of the fixture's users
    body = client.get("/audit/").content.decode()
    assert f"共 {total} 条" in body and "第 1 / 2 页" in body
    assert "导出未参保名单" in body

    body = client.get("/audit/", {"user": "yuhai", "action": "view"}).content.decode()
    assert "共 60 条" in body and "导出未参保名单" not in body
    assert "user=yuhai&amp;action=view&amp;page=2" in body

    today = timezone.localdate().isoformat()
    body = client.get("/audit/", {"user": "yuhai", "start": today, "end": today}).content.decode()
    assert "共 20 条" in body
    body = client.get("/audit/", {"action": "export"}).content.decode()
    assert "共 1 条" in body


def test_viewing_the_audit_page_is_itself_audited(users, client_for):
    client_for(users.admin).get("/audit/", {"action": "login"})
    entry = AuditEntry.objects.get(action="view", obj_type="audit")
    assert entry.user == users.admin and "操作 登录" in entry.summary


def test_the_audit_export_is_a_real_xlsx_with_the_filtered_rows_and_is_audited(users, client_for):
    make_history(users)
    response = client_for(users.admin).get("/audit/export.xlsx", {"action": "export"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert (
        "attachment" in response["Content-Disposition"]
        and ".xlsx" in response["Content-Disposition"]
    )
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ws = wb["审计日志"]
    rows = list(ws.values)
    assert rows[0][:4] == ("时间", "用户名", "角色", "操作")
    assert (
        len(rows) == 2
        and rows[1][1:4] == ("county", "县级经办", "导出")
        and rows[1][6] == "导出未参保名单"
    )
    assert isinstance(rows[1][0], dt.datetime)
    entry = AuditEntry.objects.filter(action="export", user=users.admin).get()
    assert entry.obj_type == "audit" and "1 行" in entry.summary and "操作 导出" in entry.summary
