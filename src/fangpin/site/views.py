"""The site's own pages: home (dashboard) and the region pack viewer."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangpin.accounts.access import role_required
from fangpin.reports.dashboard import dashboard

# A pack id is a slug. load_pack also accepts a path to a YAML file: a URL must never reach it.
PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@role_required()
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    from fangpin.reports.views import year_choices, year_from

    year = year_from(request)
    board = dashboard(request.user, year=year)
    context = {"board": board, "years": year_choices(board.year)}
    return render(request, "home.html", context)


def _known_packs() -> tuple[list, Any]:
    from fangpin.policy.registry import list_packs, load_pack

    return list_packs(), load_pack("baseline")


def display_value(raw: Any) -> str:
    """A pack value as text: lists and mappings written out the way the YAML files read."""
    if isinstance(raw, dict):
        return "{" + "，".join(f"{k}: {display_value(v)}" for k, v in raw.items()) + "}"
    if isinstance(raw, list):
        return "[" + "，".join(display_value(v) for v in raw) + "]"
    return str(raw)


@role_required()
@require_GET
def policy_packs(request: HttpRequest) -> HttpResponse:
    packs, baseline = _known_packs()
    return render(
        request,
        "policy/packs.html",
        {"packs": packs, "baseline": baseline, "in_use": settings.FANGPIN_POLICY},
    )


@role_required()
@require_GET
def policy_pack(request: HttpRequest, pack_id: str) -> HttpResponse:
    from fangpin.policy.registry import flatten, load_pack

    packs, baseline = _known_packs()
    known = {p.id for p in packs} | {baseline.id}
    if not PACK_ID.match(pack_id) or pack_id not in known:
        raise Http404("没有这个政策包")
    pack = load_pack(pack_id)
    date_error = ""
    date = timezone.localdate()
    if request.GET.get("date"):
        try:
            date = dt.date.fromisoformat(request.GET["date"])
        except ValueError:
            date_error = (
                f"日期“{request.GET['date']}”无法识别，请用 年-月-日 格式；以下为今天的值。"
            )
    rows = []
    for key, value in flatten(pack.tree_at(date)):
        seeded = value.source == "seed"
        rows.append(
            {
                "key": key,
                "value": display_value(value.raw),
                "seeded": seeded,
                "mark": "●" if seeded else "○",
                "source": value.seed if seeded else "假定值",
                "file": value.file.rsplit("/", 1)[-1],
            }
        )
    context = {
        "pack": pack,
        "date": date,
        "date_error": date_error,
        "rows": rows,
        "n_seed": sum(r["seeded"] for r in rows),
        "n_assumed": sum(not r["seeded"] for r in rows),
        "versions": [pack.effective_from, *pack.change_dates()],
        "in_use": pack.id == settings.FANGPIN_POLICY,
    }
    return render(request, "policy/pack.html", context)
