"""Login and logout: audit of every attempt, lockout after repeated failures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from fangpin.accounts.models import Profile
from fangpin.audit.models import AuditEntry
from tests.fixtures_users import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def post_login(client: Client, username: str, password: str, **extra):
    return client.post(
        LOGIN,
        {"username": username, "password": password, **extra},
        HTTP_USER_AGENT="pytest-browser/1.0",
    )


def test_the_login_page_is_in_chinese_and_carries_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert "登录" in body and "用户名" in body and "密码" in body
    assert "csrfmiddlewaretoken" in body


def test_a_login_without_the_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


def test_a_successful_login_redirects_home_and_is_audited_with_ip_and_browser(users):
    client = Client()
    response = post_login(client, "yuhai", TEST_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    entry = AuditEntry.objects.get(action="login")
    assert (entry.user, entry.username, entry.role) == (users.cadre, "yuhai", "乡镇专干")
    assert entry.ip_address == "127.0.0.1" and entry.user_agent == "pytest-browser/1.0"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong_and_is_audited(users):
    response = post_login(Client(), "yuhai", "wrong-password")
    body = response.content.decode()
    assert response.status_code == 200 and "用户名或密码错误" in body
    entry = AuditEntry.objects.get(action="login_failed")
    assert entry.user == users.cadre and entry.summary == "密码错误"
    assert Profile.objects.get(user=users.cadre).failed_logins == 1


def test_an_unknown_username_is_audited_under_the_name_tried(users):
    response = post_login(Client(), "nobody", "whatever-1234")
    assert "用户名或密码错误" in response.content.decode()
    entry = AuditEntry.objects.get(action="login_failed")
    assert entry.user is None and entry.username == "nobody" and entry.summary == "用户名不存在"


def test_five_wrong_passwords_lock_the_account_even_against_the_right_password(users):
    client = Client()
    for _ in range(4):
        assert "用户名或密码错误" in post_login(client, "yuhai", "bad-password").content.decode()
    fifth = post_login(client, "yuhai", "bad-password").content.decode()
    assert "已锁定" in fifth
    profile = Profile.objects.get(user=users.cadre)
    assert profile.is_locked()
    assert (
        dt.timedelta(minutes=14) < profile.locked_until - timezone.now() <= dt.timedelta(minutes=15)
    )

    sixth = post_login(client, "yuhai", TEST_PASSWORD)
    assert sixth.status_code == 200 and "已锁定" in sixth.content.decode()
    assert "_auth_user_id" not in client.session
    failures = AuditEntry.objects.filter(action="login_failed", user=users.cadre).order_by("id")
    assert failures.count() == 6
    assert "锁定至" in failures[4].summary
    assert failures[5].summary == "账户锁定期间尝试登录"
    assert not AuditEntry.objects.filter(action="login").exists()


def test_a_lock_ends_after_its_time_and_a_good_login_clears_the_count(users):
    Profile.objects.filter(user=users.cadre).update(
        failed_logins=3, locked_until=timezone.now() - dt.timedelta(seconds=1)
    )
    response = post_login(Client(), "yuhai", TEST_PASSWORD)
    assert response.status_code == 302
    profile = Profile.objects.get(user=users.cadre)
    assert (profile.failed_logins, profile.locked_until) == (0, None)


def test_the_lockout_limit_and_duration_come_from_settings(users, settings):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_LOCKOUT_MINUTES = 1
    client = Client()
    post_login(client, "county", "bad-password")
    assert "已锁定" in post_login(client, "county", "bad-password").content.decode()
    profile = Profile.objects.get(user=users.county)
    assert profile.locked_until - timezone.now() <= dt.timedelta(minutes=1)


def test_a_user_without_a_role_cannot_log_in(db):
    User.objects.create_user("norole", password=TEST_PASSWORD)
    response = post_login(Client(), "norole", TEST_PASSWORD)
    assert "尚未分配角色" in response.content.decode()
    assert AuditEntry.objects.get(action="login_failed").summary == "账户未分配角色"


def test_a_superuser_made_by_django_becomes_the_system_administrator_on_first_login(db):
    User.objects.create_superuser("root", password=TEST_PASSWORD)
    assert post_login(Client(), "root", TEST_PASSWORD).status_code == 302
    assert Profile.objects.get(user__username="root").role == "系统管理员"


def test_an_inactive_account_cannot_log_in(users):
    User.objects.filter(pk=users.county.pk).update(is_active=False)
    response = post_login(Client(), "county", TEST_PASSWORD)
    assert response.status_code == 200 and "用户名或密码错误" in response.content.decode()


def test_login_goes_back_to_a_local_next_page_but_never_to_another_site(users):
    assert (
        post_login(Client(), "county", TEST_PASSWORD, next="/policy/").headers["Location"]
        == "/policy/"
    )
    assert (
        post_login(Client(), "county", TEST_PASSWORD, next="https://evil.example/").headers[
            "Location"
        ]
        == "/"
    )


def test_pages_send_anonymous_visitors_to_the_login_page():
    for path in ("/", "/policy/", "/audit/", "/accounts/users/", "/accounts/password/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")


def test_logout_needs_a_post_and_is_audited(users, client_for):
    client = client_for(users.cadre)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert AuditEntry.objects.filter(action="logout", user=users.cadre).count() == 1
    assert client.get("/").status_code == 302


def test_a_logged_in_user_opening_the_login_page_goes_home(users, client_for):
    assert client_for(users.county).get(LOGIN).status_code == 302


def test_changing_ones_password_works_for_read_only_users_too_and_is_audited(users, client_for):
    client = client_for(users.colleague)
    new = "Another-pass-2025"
    response = client.post(
        "/accounts/password/",
        {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    users.colleague.refresh_from_db()
    assert users.colleague.check_password(new)
    assert AuditEntry.objects.filter(
        action="change", user=users.colleague, summary="修改密码"
    ).exists()


def test_a_weak_new_password_is_refused_with_a_chinese_reason(users, client_for):
    response = client_for(users.cadre).post(
        "/accounts/password/",
        {"old_password": TEST_PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    assert "这个密码" in response.content.decode()  # Django's own Chinese reasons
    assert not AuditEntry.objects.filter(action="change", summary="修改密码").exists()
