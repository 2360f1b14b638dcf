"""Verbs on accounts: create a user, log in (with lockout and second factor), unlock, TOTP."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from fangpin import audit
from fangpin.accounts import totp
from fangpin.accounts.models import Profile
from fangpin.accounts.roles import ALL_ROLES, Role


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why, in Chinese."""


def area_name_for(code: str) -> str:
    """The area's name from the people ledger when it knows the code, else the code itself."""
    if apps.is_installed("fangpin.people"):
        area = apps.get_model("people", "Area").objects.filter(code=code).only("name").first()
        if area is not None:
            return area.name
    return code


@transaction.atomic
def create_user(
    username: str,
    password: str,
    role: str,
    area_code: str | None = None,
    department: str | None = None,
    read_only: bool = False,
    *,
    area_name: str | None = None,
    full_name: str = "",
    by: Any = None,
) -> Any:
    """Create a user with its profile. A 乡镇专干 needs the township's code, a 部门联络员 a
    department; `by` (request or user) is who did it, for the audit trail."""
    username = (username or "").strip()
    if not username:
        raise AccountError("用户名不能为空")
    if role not in ALL_ROLES:
        raise AccountError(f"未知角色 {role!r}，可选：{'、'.join(ALL_ROLES)}")
    area_code = (area_code or "").strip()
    department = (department or "").strip()
    if role == Role.TOWNSHIP and not area_code:
        raise AccountError("乡镇专干须指定所属乡镇的区划代码")
    if role == Role.LIAISON and not department:
        raise AccountError("部门联络员须指定部门")
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise AccountError(f"用户名 {username} 已存在")
    user = User.objects.create_user(
        username=username, password=password, first_name=full_name[:150]
    )
    Profile.objects.create(
        user=user,
        role=role,
        area_code=area_code,
        area_name=(area_name or (area_name_for(area_code) if area_code else ""))[:64],
        department=department,
        read_only=read_only,
    )
    where = area_code or department or "全县"
    # Without `by` the account was made on the server's command line.
    audit.record(
        by,
        audit.CHANGE,
        "user",
        user.pk,
        username=None if by else "(命令行)",
        summary=f"创建用户 {username}（{role}，{where}{'，只读' if read_only else ''}）",
    )
    return user


# --- login ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    status: str  # "ok", "totp" (password right, second factor due), "locked", "failed", "no_role"
    user: Any = None
    locked_until: dt.datetime | None = None


def _profile_for_login(user: Any) -> Profile | None:
    try:
        return user.profile
    except Profile.DoesNotExist:
        pass
    if user.is_superuser:
        # A superuser made with Django's createsuperuser has no profile; it is the system's
        # administrator by construction, and it needs a profile to be locked out like anyone.
        return Profile.objects.create(user=user, role=Role.ADMIN)
    return None


def register_failure(profile: Profile) -> dt.datetime | None:
    """Count one failed attempt; lock the account when the count reaches the limit.
    Returns the lock's end when this attempt locked it."""
    with transaction.atomic():
        # Row lock: two wrong passwords sent at once must both be counted.
        p = Profile.objects.select_for_update().get(pk=profile.pk)
        p.failed_logins += 1
        if p.failed_logins >= settings.LOGIN_MAX_FAILURES:
            p.locked_until = timezone.now() + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            p.failed_logins = 0
        p.save(update_fields=["failed_logins", "locked_until"])
    profile.failed_logins, profile.locked_until = p.failed_logins, p.locked_until
    return p.locked_until if p.is_locked() else None


def _failed(
    request: HttpRequest, user: Any, profile: Profile | None, username: str, why: str
) -> LoginOutcome:
    until = register_failure(profile) if profile is not None else None
    summary = (
        why
        if until is None
        else f"{why}；连续失败 {settings.LOGIN_MAX_FAILURES} 次，账户锁定至 {timezone.localtime(until):%H:%M}"
    )
    audit.record(
        request,
        audit.LOGIN_FAILED,
        "user",
        user.pk if user else "",
        summary,
        username=username,
        user=user,
    )
    if until is not None:
        return LoginOutcome("locked", user, until)
    return LoginOutcome("failed", user)


def attempt_login(request: HttpRequest, username: str, password: str) -> LoginOutcome:
    """Check a username and password. Logs the user in unless a second factor is due."""
    username = (username or "").strip()
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    profile = _profile_for_login(user) if user is not None else None
    if profile is not None and profile.is_locked():
        # While locked, the password is not even checked: guessing goes on being useless.
        audit.record(
            request,
            audit.LOGIN_FAILED,
            "user",
            user.pk,
            "账户锁定期间尝试登录",
            username=username,
            user=user,
        )
        return LoginOutcome("locked", user, profile.locked_until)
    authed = authenticate(request, username=username, password=password)
    if authed is None:
        why = "密码错误" if user is not None else "用户名不存在"
        return _failed(request, user, profile, username, why)
    if profile is None:
        audit.record(
            request,
            audit.LOGIN_FAILED,
            "user",
            authed.pk,
            "账户未分配角色",
            username=username,
            user=authed,
        )
        return LoginOutcome("no_role", authed)
    if profile.totp_enabled:
        return LoginOutcome("totp", authed)
    finish_login(request, authed)
    return LoginOutcome("ok", authed)


def finish_login(request: HttpRequest, user: Any) -> None:
    Profile.objects.filter(user=user).update(failed_logins=0, locked_until=None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    audit.record(request, audit.LOGIN, "user", user.pk, "登录成功")


def attempt_totp(request: HttpRequest, user: Any, code: str) -> LoginOutcome:
    """The second step: a code from the user's authenticator app."""
    profile = user.profile
    if profile.is_locked():
        audit.record(
            request, audit.LOGIN_FAILED, "user", user.pk, "账户锁定期间尝试登录", user=user
        )
        return LoginOutcome("locked", user, profile.locked_until)
    with transaction.atomic():
        p = Profile.objects.select_for_update().get(pk=profile.pk)
        step = totp.verify(p.totp_secret, code, last_step=p.totp_last_step)
        if step is not None:
            p.totp_last_step = step
            p.save(update_fields=["totp_last_step"])
    if step is None:
        return _failed(request, user, profile, user.get_username(), "动态口令错误")
    finish_login(request, user)
    return LoginOutcome("ok", user)


# --- administration and one's own account ----------------------------------------------------


def unlock(request: HttpRequest, target: Any) -> None:
    Profile.objects.filter(user=target).update(failed_logins=0, locked_until=None)
    audit.record(request, audit.CHANGE, "user", target.pk, f"解除锁定 {target.get_username()}")


def start_totp(user: Any) -> str:
    """A new secret for the user to add to an authenticator app; in force once confirmed."""
    profile = user.profile
    profile.totp_secret = totp.new_secret()
    profile.totp_enabled = False
    profile.totp_last_step = None
    profile.save(update_fields=["totp_secret", "totp_enabled", "totp_last_step"])
    return profile.totp_secret


def confirm_totp(request: HttpRequest, code: str) -> bool:
    """Turn the second factor on once the user shows a code from the new secret."""
    profile = request.user.profile
    step = totp.verify(profile.totp_secret, code)
    if step is None:
        return False
    profile.totp_enabled = True
    profile.totp_last_step = step
    profile.save(update_fields=["totp_enabled", "totp_last_step"])
    audit.record(request, audit.CHANGE, "user", request.user.pk, "启用动态口令")
    return True


def disable_totp(request: HttpRequest, code: str) -> bool:
    """Turn the second factor off; a current code is needed, so a session left open at a
    desk is not enough to remove it."""
    profile = request.user.profile
    if (
        not profile.totp_enabled
        or totp.verify(profile.totp_secret, code, last_step=profile.totp_last_step) is None
    ):
        return False
    profile.totp_enabled = False
    profile.totp_secret = ""
    profile.totp_last_step = None
    profile.save(update_fields=["totp_enabled", "totp_secret", "totp_last_step"])
    audit.record(request, audit.CHANGE, "user", request.user.pk, "停用动态口令")
    return True
