"""The optional second factor: RFC 6238 codes, the login step, setting it up and removing it."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from fangpin.accounts import totp
from fangpin.accounts.models import Profile
from fangpin.audit.models import AuditEntry
from tests.fixtures_users import TEST_PASSWORD

# RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8-digit codes.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "code"), RFC_VECTORS)
def test_codes_match_the_rfc_6238_test_vectors(unix_time, code):
    assert totp.hotp(RFC_SECRET, totp.step_at(unix_time), digits=8) == code
    assert totp.totp(RFC_SECRET, unix_time) == code[-6:]


def test_a_code_from_the_step_before_or_after_is_accepted_but_not_two_steps_away():
    now = 1_700_000_000
    for offset, ok in ((-30, True), (0, True), (30, True), (-60, False), (60, False)):
        code = totp.totp(RFC_SECRET, now + offset)
        assert (totp.verify(RFC_SECRET, code, unix_time=now) is not None) is ok


def test_a_code_is_accepted_once_only():
    now = 1_700_000_000
    code = totp.totp(RFC_SECRET, now)
    step = totp.verify(RFC_SECRET, code, unix_time=now)
    assert step == totp.step_at(now)
    assert totp.verify(RFC_SECRET, code, unix_time=now, last_step=step) is None


def test_malformed_codes_are_refused():
    for code in ("", "12345", "abcdef", "1234567", None):
        assert totp.verify(RFC_SECRET, code) is None


def test_new_secrets_are_160_bits_and_the_provisioning_address_names_the_account():
    secret = totp.new_secret()
    assert len(secret) == 32 and totp.totp(secret)
    uri = totp.provisioning_uri(secret, "yuhai")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "yuhai" in uri


def enable(user) -> str:
    secret = totp.new_secret()
    Profile.objects.filter(user=user).update(totp_secret=secret, totp_enabled=True)
    return secret


@pytest.mark.django_db
def test_with_totp_enabled_the_password_alone_does_not_log_in_and_the_right_code_does(users):
    secret = enable(users.county)
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "county", "password": TEST_PASSWORD, "next": "/policy/"}
    )
    assert response["Location"] == "/accounts/login/totp/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    assert "动态口令" in client.get("/accounts/login/totp/").content.decode()

    response = client.post("/accounts/login/totp/", {"code": totp.totp(secret)})
    assert response.status_code == 302 and response["Location"] == "/policy/"
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="login", user=users.county).count() == 1


@pytest.mark.django_db
def test_a_wrong_code_is_refused_audited_and_counted_towards_the_lockout(users):
    secret = enable(users.county)
    client = Client()
    client.post("/accounts/login/", {"username": "county", "password": TEST_PASSWORD})
    wrong = str((int(totp.totp(secret)) + 1) % 1_000_000).zfill(6)
    response = client.post("/accounts/login/totp/", {"code": wrong})
    assert response.status_code == 200 and "动态口令错误" in response.content.decode()
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="login_failed")
    assert entry.user == users.county and entry.summary == "动态口令错误"
    assert Profile.objects.get(user=users.county).failed_logins == 1
    for _ in range(4):
        response = client.post("/accounts/login/totp/", {"code": wrong})
    assert "已锁定" in response.content.decode()
    assert Profile.objects.get(user=users.county).is_locked()


@pytest.mark.django_db
def test_a_code_already_used_cannot_log_in_again(users):
    secret = enable(users.county)
    code = totp.totp(secret)
    first, second = Client(), Client()
    for c in (first, second):
        c.post("/accounts/login/", {"username": "county", "password": TEST_PASSWORD})
    assert first.post("/accounts/login/totp/", {"code": code}).status_code == 302
    assert "动态口令错误" in second.post("/accounts/login/totp/", {"code": code}).content.decode()


@pytest.mark.django_db
def test_the_code_step_expires_after_five_minutes(users, monkeypatch):
    secret = enable(users.county)
    client = Client()
    client.post("/accounts/login/", {"username": "county", "password": TEST_PASSWORD})
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post("/accounts/login/totp/", {"code": totp.totp(secret, later)})
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_code_step_without_a_password_first_goes_back_to_login():
    assert Client().get("/accounts/login/totp/")["Location"] == "/accounts/login/"


@pytest.mark.django_db
def test_a_user_sets_up_totp_with_a_code_from_the_new_secret_and_removes_it_with_another(
    users, client_for
):
    client = client_for(users.leader)  # read-only users may still protect their own account
    assert "未启用" in client.get("/accounts/totp/").content.decode()
    assert client.post("/accounts/totp/", {"action": "start"}).status_code == 302
    secret = Profile.objects.get(user=users.leader).totp_secret
    page = client.get("/accounts/totp/").content.decode()
    assert totp.grouped(secret) in page

    bad = client.post(
        "/accounts/totp/",
        {"action": "confirm", "code": "000000" if totp.totp(secret) != "000000" else "111111"},
    )
    assert "不正确" in bad.content.decode()
    assert not Profile.objects.get(user=users.leader).totp_enabled

    now = time.time()
    assert (
        client.post(
            "/accounts/totp/", {"action": "confirm", "code": totp.totp(secret, now)}
        ).status_code
        == 302
    )
    assert Profile.objects.get(user=users.leader).totp_enabled
    assert AuditEntry.objects.filter(
        action="change", user=users.leader, summary="启用动态口令"
    ).exists()

    # The code just used cannot remove it; the next one can.
    assert (
        "不正确"
        in client.post(
            "/accounts/totp/", {"action": "disable", "code": totp.totp(secret, now)}
        ).content.decode()
    )
    response = client.post(
        "/accounts/totp/", {"action": "disable", "code": totp.totp(secret, now + 30)}
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user=users.leader)
    assert not profile.totp_enabled and profile.totp_secret == ""
    assert AuditEntry.objects.filter(
        action="change", user=users.leader, summary="停用动态口令"
    ).exists()
