"""/api/: the settlement API, its OpenAPI document and docs page, and the docs page's assets."""

from __future__ import annotations

from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path

from fangpin.claims.api import api

# The docs page's scripts and styles, from the installed django-ninja package (never copied).
_ASSETS = Path(ninja.__file__).parent / "static" / "ninja"
_ALLOWED = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.png": "image/png",
}


def asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in _ALLOWED:
        raise Http404(name)
    # FileResponse closes the file when the response is done.
    response = FileResponse((_ASSETS / name).open("rb"), content_type=_ALLOWED[name])  # noqa: SIM115
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _open(patterns: list) -> list:
    # The API authenticates institutions by key, not by a user's session: its views are open
    # to the site's login middleware, and each operation's own auth decides.
    for p in patterns:
        p.callback.login_required = False
    return patterns


app_name = "api"
urlpatterns = _open([path("assets/<str:name>", asset, name="asset"), *api.urls[0]])
