"""Sections other apps add to a record's page: the person file (人员档案) and the household
file (一户一档).

An app registers its panel in its AppConfig.ready():

    from fangpin.site import panels
    panels.register("person", "claims", "结算记录", "claims/_person_panel.html", claims_panel,
                    roles={Role.COUNTY, Role.TOWNSHIP}, order=30)

`context(request, obj)` returns the panel template's context (available there as `panel`), or
None to leave the panel out for this record. The page has already checked that the user may
see `obj`; the panel still reads its own rows through its app's access.py, since what a user
may see of claims or warnings is that app's rule, not the person page's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

PAGES: tuple[str, ...] = ("person", "household")

PanelContext = Callable[[HttpRequest, Any], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    page: str
    key: str
    title: str
    template: str
    context: PanelContext
    roles: frozenset[str] | None
    order: int


_panels: dict[tuple[str, str], Panel] = {}


def register(
    page: str,
    key: str,
    title: str,
    template: str,
    context: PanelContext,
    *,
    roles: Iterable[str] | None = None,
    order: int = 100,
) -> None:
    """Add a panel to a page (registering the same page and key again replaces it)."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; pages: {', '.join(PAGES)}")
    _panels[(page, key)] = Panel(
        page, key, title, template, context, frozenset(roles) if roles is not None else None, order
    )


def unregister(page: str, key: str) -> None:
    _panels.pop((page, key), None)


def for_page(page: str, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
    """The panels to show on `page` for `obj`, in order: key, title, template, context."""
    from fangpin.accounts.access import role_of

    role = role_of(request.user)
    out = []
    for p in sorted(
        (p for p in _panels.values() if p.page == page), key=lambda p: (p.order, p.key)
    ):
        if p.roles is not None and role not in p.roles:
            continue
        context = p.context(request, obj)
        if context is None:
            continue
        out.append({"key": p.key, "title": p.title, "template": p.template, "context": context})
    return out
