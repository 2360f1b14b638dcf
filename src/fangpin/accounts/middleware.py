"""Login required everywhere unless a view says otherwise, and headers for pages with
personal data."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def login_not_required(view: Callable) -> Callable:
    """Mark a view as open to anonymous users (the login page, health checks). The attribute
    is the one Django 5.1's own decorator sets, so either decorator works."""
    view.login_required = False  # type: ignore[attr-defined]
    return view


class LoginRequiredMiddleware:
    """Every page asks for a login unless its view is marked `login_not_required` or its path
    starts with one of settings.LOGIN_EXEMPT_URL_PREFIXES. Failing closed means a page an app
    forgets to protect is still protected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.exempt = tuple(getattr(settings, "LOGIN_EXEMPT_URL_PREFIXES", ()))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated and not request.path.startswith(self.exempt):
            # Shared office computers: a page with names and IDs must not come back from the
            # browser's cache after logout, nor be kept by anything in between.
            patch_cache_control(response, private=True, no_store=True)
        csp = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if csp and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = csp
        return response

    def process_view(
        self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict
    ) -> HttpResponse | None:
        if request.user.is_authenticated:
            return None
        if not getattr(view, "login_required", True) or request.path.startswith(self.exempt):
            return None
        return redirect_to_login(request.get_full_path())
