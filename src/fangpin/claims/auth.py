"""Institution API keys: made once, stored as a hash, checked on every API call (DESIGN §5)."""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer

from fangpin.claims.models import ApiKey, Institution

KEY_PREFIX = "fpk_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_key(institution: Institution, label: str = "") -> str:
    """A new key for the institution; the returned text is the only time it is seen whole."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    ApiKey.objects.create(
        institution=institution, prefix=key[:12], key_hash=key_hash(key), label=label[:64]
    )
    return key


def revoke_key(prefix: str) -> int:
    """Revoke the key; this process stops accepting it at once, others within CACHE_SECONDS."""
    n = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget_keys()
    return n


# Keys seen recently, by hash: every online claim is authenticated, and a query per call for a
# row that almost never changes is a tenth of a settlement's database work. A revoked key
# therefore stops working within CACHE_SECONDS (in each server process).
CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, Institution]] = {}


def institution_for(key: str | None) -> Institution | None:
    if not key or len(key) > 200:
        return None
    h = key_hash(key.strip())
    hit = _cache.get(h)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    row = (
        ApiKey.objects.filter(key_hash=h, revoked_at__isnull=True)
        .select_related("institution")
        .first()
    )
    if row is None:
        _cache.pop(h, None)
        return None
    _cache[h] = (now + CACHE_SECONDS, row.institution)
    return row.institution


def forget_keys() -> None:
    """Empty the cache (after revoking keys in this process, and in tests)."""
    _cache.clear()


def key_of(request: HttpRequest) -> str | None:
    """The key a request carries, as `Authorization: Bearer <key>` or `X-Api-Key: <key>`."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("X-Api-Key")


def key_or_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the OpenAPI document and the docs page: an institution's valid key or a signed-in
    user of the site; anyone else gets 401 (the description is not for the open network)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or institution_for(key_of(request)):
            return view(request, *args, **kwargs)
        return JsonResponse({"detail": "Unauthorized"}, status=401)

    return guarded


class BearerKey(HttpBearer):
    """Authorization: Bearer <key>"""

    def authenticate(self, request: HttpRequest, token: str) -> Institution | None:
        inst = institution_for(token)
        if inst is not None:
            request.institution = inst  # type: ignore[attr-defined]
        return inst


class HeaderKey(APIKeyHeader):
    """X-Api-Key: <key>"""

    param_name = "X-Api-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Institution | None:
        inst = institution_for(key)
        if inst is not None:
            request.institution = inst  # type: ignore[attr-defined]
        return inst
