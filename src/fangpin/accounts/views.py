"""Login (password, then the second factor when enabled), logout, one's own password and
authenticator app, and the administrator's list of accounts."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangpin import audit
from fangpin.accounts import services, totp
from fangpin.accounts.access import role_required
from fangpin.accounts.forms import CodeForm, LoginForm
from fangpin.accounts.middleware import login_not_required
from fangpin.accounts.models import Profile
from fangpin.accounts.roles import Role

PENDING = "fangpin_totp_pending"
# Between the password and the code: long enough to open the phone app, short enough that a
# half-finished login left on a shared computer expires.
PENDING_SECONDS = 300


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _lockout_message(until) -> str:
    return f"账户因连续登录失败已锁定，请于 {timezone.localtime(until):%H:%M} 后再试，或联系系统管理员解除锁定。"


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        outcome = services.attempt_login(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        if outcome.status == "ok":
            return redirect(next_url)
        if outcome.status == "totp":
            request.session[PENDING] = {"uid": outcome.user.pk, "at": time.time(), "next": next_url}
            return redirect("accounts:login_totp")
        if outcome.status == "locked":
            error = _lockout_message(outcome.locked_until)
        elif outcome.status == "no_role":
            error = "账户尚未分配角色，请联系系统管理员。"
        else:
            # The same words whether the name or the password was wrong: which accounts exist
            # is not for strangers to learn.
            error = f"用户名或密码错误。连续错误 {settings.LOGIN_MAX_FAILURES} 次将锁定 {settings.LOGIN_LOCKOUT_MINUTES} 分钟。"
    return render(request, "accounts/login.html", {"form": form, "error": error, "next": next_url})


@login_not_required
@require_http_methods(["GET", "POST"])
def login_totp_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, "请重新输入用户名和密码。")
        return redirect("accounts:login")
    user = get_user_model().objects.filter(pk=pending["uid"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        outcome = services.attempt_totp(request, user, form.cleaned_data["code"])
        if outcome.status == "ok":
            # login() rotated the session; the pending marker went with the old one.
            request.session.pop(PENDING, None)
            return redirect(pending.get("next") or reverse("home"))
        if outcome.status == "locked":
            request.session.pop(PENDING, None)
            return render(
                request,
                "accounts/login.html",
                {"form": LoginForm(), "error": _lockout_message(outcome.locked_until)},
            )
        error = "动态口令错误或已使用，请输入手机上显示的最新口令。"
    return render(request, "accounts/login_totp.html", {"form": form, "error": error})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(request, audit.LOGOUT, "user", request.user.pk, "退出登录")
    logout(request)
    return redirect("accounts:login")


@role_required(allow_read_only_writes=True)
@require_http_methods(["GET", "POST"])
def password_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        # Keep this session; Django ends the user's other sessions since the hash changed.
        update_session_auth_hash(request, form.user)
        audit.record(request, audit.CHANGE, "user", request.user.pk, "修改密码")
        messages.success(request, "密码已修改。")
        return redirect("home")
    return render(request, "accounts/password.html", {"form": form})


@role_required(allow_read_only_writes=True)
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    profile: Profile = request.user.profile
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "start":
            services.start_totp(request.user)
            return redirect("accounts:totp_setup")
        if action in ("confirm", "disable") and form.is_valid():
            verb = services.confirm_totp if action == "confirm" else services.disable_totp
            if verb(request, form.cleaned_data["code"]):
                messages.success(
                    request, "动态口令已启用。" if action == "confirm" else "动态口令已停用。"
                )
                return redirect("accounts:totp_setup")
        error = "动态口令不正确，请核对手机时间后重试。"
    profile.refresh_from_db()
    pending_secret = profile.totp_secret if profile.totp_secret and not profile.totp_enabled else ""
    context = {
        "profile": profile,
        "form": CodeForm(),
        "error": error,
        "secret": totp.grouped(pending_secret) if pending_secret else "",
        "uri": totp.provisioning_uri(pending_secret, request.user.get_username())
        if pending_secret
        else "",
    }
    return render(request, "accounts/totp_setup.html", context)


@role_required(Role.ADMIN)
@require_GET
def users_view(request: HttpRequest) -> HttpResponse:
    users = get_user_model().objects.select_related("profile").order_by("username")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = []
    for u in page:
        profile = getattr(u, "profile", None)
        rows.append(
            {"user": u, "profile": profile, "locked": bool(profile and profile.is_locked(now))}
        )
    return render(request, "accounts/users.html", {"page": page, "rows": rows})


@role_required(Role.ADMIN)
@require_POST
def unlock_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(get_user_model(), pk=pk)
    services.unlock(request, target)
    messages.success(request, f"已解除 {target.get_username()} 的锁定。")
    return redirect("accounts:users")
