"""The hot calls of the settlement API without Django's middleware stack (WSGI, in front of Django).

A hospital's system calls `POST /api/v1/settlements` for every discharge, and the desk waits on
it. Through Django each call passes eight middleware (sessions, CSRF, messages, login ...), URL
resolution and django-ninja's operation machinery: several times the work of the settlement
itself. `OnlineApp` wraps the site's WSGI application and answers exactly two calls itself:

- `POST /api/v1/settlements` (settle, or pre-settle with `dry_run`);
- `GET /api/v1/settlements/{setl_id}` (the settlement as it stands).

It answers only what succeeds, with the API's own parts: the same key check (`BearerKey`, then
`HeaderKey`), the same body model (`ClaimIn`) and claim conversion (`api.claim_input`), the same
services, the same response schema (`SettlementOut`) and JSON renderer, and the headers the
site's middleware gives every answer. Every other call, and every one of these that would not
succeed (no valid key, a host not allowed, a body that does not parse or validate, a used
setl_id, a settlement not found), goes to Django unchanged (the body already read is handed on),
so each refusal keeps one implementation: django-ninja's status codes and messages.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ValidationError

from fangpin.claims import services
from fangpin.claims.api import api, claim_input, settlement_json
from fangpin.claims.auth import BearerKey, HeaderKey
from fangpin.claims.models import Institution
from fangpin.claims.schemas import ClaimIn, SettlementOut

PATH = "/api/v1/settlements"
# Larger bodies are no claim: Django reads (and refuses) them.
MAX_BODY = 64 * 1024
_AUTH = (BearerKey(), HeaderKey())
_log = logging.getLogger("django.request")

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def security_headers() -> list[tuple[str, str]]:
    """What the site's middleware adds to an API answer (Security, XFrameOptions, login/CSP)."""
    out = [("X-Content-Type-Options", "nosniff")] if settings.SECURE_CONTENT_TYPE_NOSNIFF else []
    if settings.SECURE_REFERRER_POLICY:
        out.append(("Referrer-Policy", settings.SECURE_REFERRER_POLICY))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        out.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    out.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    if getattr(settings, "CONTENT_SECURITY_POLICY", ""):
        out.append(("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY))
    return out


class _PassOn(Exception):
    """This call is Django's to answer (a refusal, or anything but the plain success)."""


class OnlineApp:
    """The site's WSGI application with the settlement calls answered directly; see above."""

    def __init__(self, django_app: WSGIApp) -> None:
        self.django_app = django_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path == PATH and method == "POST":
            answer = self._settle
        elif path.startswith(PATH + "/") and method == "GET" and "/" not in path[len(PATH) + 1 :]:
            answer = self._get
        else:
            return self.django_app(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            status, body = answer(environ, WSGIRequest(environ))
        except _PassOn:
            signals.request_finished.send(sender=self.__class__)
            return self.django_app(environ, start_response)
        except Exception:
            _log.exception("Internal Server Error: %s", path)
            status = 500
            body = _json({"detail": "Internal Server Error"}, status)
        signals.request_finished.send(sender=self.__class__)
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", api.get_content_type()),
                ("Content-Length", str(len(body))),
                *security_headers(),
            ],
        )
        return [body]

    def _settle(self, environ: dict, request: WSGIRequest) -> tuple[int, bytes]:
        _read_body(environ, request)
        inst = _institution(request)
        try:
            claim = ClaimIn.model_validate(api.parser.parse_body(request))
            inp = claim_input(claim)
        except (ValueError, ValidationError, NinjaValidationError):
            raise _PassOn from None  # a JSON or pydantic error: ninja's 400/422
        try:
            o = services.settle_online(inst, inp, dry_run=claim.dry_run)
        except services.Conflict:
            raise _PassOn from None  # nothing was written; Django answers the 409 again
        return (201 if o.created else 200), _render(o)

    def _get(self, environ: dict, request: WSGIRequest) -> tuple[int, bytes]:
        setl_id = request.path_info[len(PATH) + 1 :]
        inst = _institution(request)
        try:
            return 200, _render(services.outcome_for(services.get_claim(inst, setl_id)))
        except services.NotFound:
            raise _PassOn from None


def _read_body(environ: dict, request: WSGIRequest) -> None:
    """The request's body, put back as the WSGI input for Django should it answer instead."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _PassOn from None
    if not 0 < length <= MAX_BODY:
        raise _PassOn
    try:
        body = request.body
    except RequestDataTooBig:
        raise _PassOn from None
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _institution(request: WSGIRequest) -> Institution:
    """The caller's institution as the API's auth finds it, on an allowed host (else Django's)."""
    try:
        request.get_host()
    except DisallowedHost:
        raise _PassOn from None
    for auth in _AUTH:
        inst = auth(request)
        if inst:
            return inst
    raise _PassOn


def _render(o: services.Outcome) -> bytes:
    """The settlement as the API answers it: SettlementOut's fields, by ninja's renderer."""
    return _json(SettlementOut.model_validate(settlement_json(o)).model_dump(), 200)


def _json(data: Any, status: int) -> bytes:
    return api.renderer.render(None, data, response_status=status).encode()
