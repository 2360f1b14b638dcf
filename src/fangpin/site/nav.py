"""The side navigation: a registry apps add their pages to.

An app registers its pages in its AppConfig.ready():

    from fangpin.site import nav
    nav.register("人员档案", "人员查询", "people:list", roles={Role.COUNTY, Role.TOWNSHIP})

The menu shows a link only when its URL name resolves (so a page not built yet simply does not
appear) and the user's role is among `roles` (any role when None). A section without a link
the user can follow is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

SECTIONS: tuple[str, ...] = (
    "首页",
    "部门数据",
    "人员档案",
    "参保监测",
    "结算",
    "预警",
    "统计",
    "政策",
    "审计",
)


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url_name: str
    roles: frozenset[str] | None
    order: int


_items: dict[tuple[str, str], NavItem] = {}


def register(
    section: str, label: str, url_name: str, *, roles: Iterable[str] | None = None, order: int = 100
) -> None:
    """Add a link to a section (re-registering the same URL name replaces it)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}; sections: {', '.join(SECTIONS)}")
    _items[(section, url_name)] = NavItem(
        section, label, url_name, frozenset(roles) if roles is not None else None, order
    )


def unregister(section: str, url_name: str) -> None:
    _items.pop((section, url_name), None)


def menu(role: str | None, path: str = "") -> list[dict]:
    """The sections and links for a role, each link with `active` when `path` is under it."""
    if role is None:
        return []
    out = []
    for section in SECTIONS:
        links = []
        for item in sorted(
            (i for i in _items.values() if i.section == section), key=lambda i: (i.order, i.label)
        ):
            if item.roles is not None and role not in item.roles:
                continue
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            links.append({"label": item.label, "url": url, "active": False})
        if links:
            out.append({"section": section, "links": links})
    # One link is active: the one whose URL is the longest prefix of the path (so /claims/notices/
    # marks 应享未享通知, not also 结算查询 at /claims/); the home page only on itself.
    candidates = [
        link
        for s in out
        for link in s["links"]
        if (path == link["url"] if link["url"] == "/" else path.startswith(link["url"]))
    ]
    if candidates:
        max(candidates, key=lambda link: len(link["url"]))["active"] = True
    return out


def nav_context(request: HttpRequest) -> dict:
    """Template context processor: `fp_nav` for the side navigation."""
    from fangpin.accounts.access import role_of

    return {"fp_nav": menu(role_of(getattr(request, "user", None)), request.path)}


# The site's own pages. Apps add theirs from their AppConfig.ready().
register("首页", "首页", "home", order=0)
register("政策", "区域政策包", "policy_packs", order=10)
