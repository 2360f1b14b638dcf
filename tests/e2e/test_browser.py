"""The pages in a real browser over real HTTP, on the test PostgreSQL server."""

from __future__ import annotations

import re

import pytest

from fangpin.accounts.models import Profile
from fangpin.audit.models import AuditEntry
from tests.fixtures_users import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, username: str, password: str) -> None:
    page.tab.get_by_label("用户名").fill(username)
    page.tab.get_by_label("密码").fill(password)
    page.tab.get_by_role("button", name="登录").click()
    page.tab.wait_for_load_state()


def test_a_county_officer_logs_in_sees_home_and_opens_the_region_pack_viewer(users, page):
    page.goto("/")
    assert "/accounts/login/" in page.tab.url
    page.shot("01-login")
    log_in(page, "county", TEST_PASSWORD)

    assert page.tab.url == page.base_url + "/"
    assert page.tab.get_by_test_id("user-name").inner_text() == "马县经办"
    assert page.tab.get_by_test_id("user-role").inner_text() == "县级经办"
    assert "baseline" in page.tab.get_by_test_id("pack-in-use").inner_text()
    # The three charts are drawn by chart.js from their JSON islands.
    page.tab.wait_for_selector(".fp-chart[data-rendered='1'] svg >> nth=2")
    assert page.tab.locator(".fp-chart svg rect").count() > 0
    assert page.tab.locator(".fp-chart svg path").count() == 1
    page.shot("02-home-county")

    page.tab.get_by_role("link", name="区域政策包").click()
    page.tab.get_by_role("link", name="ningxia-wuzhong-2025").click()
    page.tab.get_by_label("查看日期").fill("2025-06-01")
    page.tab.get_by_role("button", name="查看").click()
    page.tab.wait_for_load_state()
    assert "date=2025-06-01" in page.tab.url
    body = page.tab.inner_text("main")
    assert "2025年6月1日" in body
    assert re.search(r"● 种子文件规定 \d+ 项", body) and re.search(r"○ 假定值 \d+ 项", body)
    assert page.tab.locator("[data-testid='pack-values'] tbody tr").count() > 10
    page.shot("03-pack-viewer")

    # No script error and no Content-Security-Policy violation on any page.
    assert page.errors == []
    assert AuditEntry.objects.filter(action="login", user=users.county).count() == 1


def test_five_wrong_passwords_lock_the_account(users, page):
    page.goto("/accounts/login/")
    for attempt in range(1, 6):
        log_in(page, "yuhai", f"wrong-password-{attempt}")
        message = page.tab.get_by_test_id("login-error").inner_text()
        assert ("已锁定" in message) is (attempt == 5), message
    page.shot("04-locked")

    log_in(page, "yuhai", TEST_PASSWORD)
    assert "/accounts/login/" in page.tab.url
    assert "已锁定" in page.tab.get_by_test_id("login-error").inner_text()
    assert Profile.objects.get(user=users.cadre).is_locked()
    assert AuditEntry.objects.filter(action="login_failed", user=users.cadre).count() == 6


def test_the_administrator_reads_the_login_attempts_in_the_audit_page(users, page):
    page.goto("/accounts/login/")
    log_in(page, "hexi", "not-the-password")
    log_in(page, "admin", TEST_PASSWORD)
    page.tab.get_by_role("link", name="审计日志").click()
    page.tab.get_by_label("操作").select_option("login_failed")
    page.tab.get_by_role("button", name="筛选").click()
    page.tab.wait_for_load_state()
    table = page.tab.get_by_test_id("audit-table").inner_text()
    assert "hexi" in table and "密码错误" in table
    page.shot("05-audit")
    with page.tab.expect_download() as download:
        page.tab.get_by_test_id("audit-export").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert page.errors == []
