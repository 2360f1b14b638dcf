"""Every named route of the web application and what kind of access it has.

`ROUTES` is the table the completeness test holds the URL configuration to: a route missing
from it fails the test by name, so a new view cannot be added without saying who may open it.
Each entry builds, in a `World`, the 豫海镇 record its page is about and returns the URLs (and
the data a POST sends) the matrix tests request.

Kinds:
  Public      open without a login (login, health check, static files)
  OwnAccount  the signed-in user's own settings, read-only accounts included
  Shared      every role may read it and it holds no area's data (the region pack viewer)
  ListPage    a list (or its xlsx export, or figures) narrowed to the user's township
  Record      a page about one scoped record
  Write       a POST on one scoped record
  CountyOnly  township cadres may not open it at all (or POST to it)
  Api         the settlement API, covered in tests/claims/test_api_access.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.access.world import World

YUHAI_CODE = "640324100"


@dataclass(frozen=True)
class Public:
    url: str
    status: int = 200  # what an anonymous GET answers


@dataclass(frozen=True)
class OwnAccount:
    url: str
    method: str = "GET"
    status: int = 200


@dataclass(frozen=True)
class Shared:
    url: str


@dataclass(frozen=True)
class Target:
    """One URL of a list route and the text (or cell) that shows 豫海镇's record in it."""

    url: str
    marker: str
    # What another township's cadre gets asking for 豫海镇 by a `township` parameter.
    foreign_township: int = 200


@dataclass(frozen=True)
class ListPage:
    targets: Callable[[World], list[Target]]


@dataclass(frozen=True)
class Record:
    url: Callable[[World], str]


@dataclass(frozen=True)
class Write:
    """`build` returns the URL, valid POST data and a function telling whether it took effect."""

    build: Callable[[World], tuple[str, dict[str, Any], Callable[[], bool]]]


@dataclass(frozen=True)
class CountyOnly:
    """`build` returns the URL and, for a POST route, the data; `by` opens it (200 or 3xx)."""

    build: Callable[[World], tuple[str, dict[str, Any] | None]]
    method: str = "GET"
    by: str = "county"
    refused: int = 403  # what a township cadre gets


@dataclass(frozen=True)
class Api:
    pass


Entry = Public | OwnAccount | Shared | ListPage | Record | Write | CountyOnly | Api


def _get(url: str, *needs: str) -> Callable[[World], tuple[str, None]]:
    """A GET of `url` once the records named in `needs` exist (so the page has rows to show)."""

    def build(wd: World) -> tuple[str, None]:
        for attr in needs:
            getattr(wd, attr)
        return url, None

    return build


def _post(url: str, data: dict[str, Any]) -> Callable[[World], tuple[str, dict[str, Any]]]:
    return lambda _w: (url, dict(data))


# --- builders of the record pages and writes --------------------------------------------------


def _notice_dispatched(wd: World) -> Any:
    """The notice as the township finds it: dispatched by the county."""
    from fangpin.claims.models import Notice
    from fangpin.claims.services import change_notice

    n = wd.notice
    if n.state == Notice.State.PENDING:
        change_notice(n, Notice.State.DISPATCHED, wd.users.county, "下放豫海镇")
        n.refresh_from_db()
    return n


def _feedback(wd: World):
    item = wd.unenrolled_item
    url = reverse("enrollment:unenrolled_feedback", args=[item.pk])
    return url, {"finding": "已动员参保", "note": ""}, lambda: item.feedback.exists()


def _visit(wd: World):
    case = wd.case
    data = {"action": "visit", "date": "2025-09-29", "finding": "无风险", "visitor": "李专干"}
    return reverse("warnings:case", args=[case.pk]), data, lambda: case.visits.exists()


def _receive(wd: World):
    n = _notice_dispatched(wd)

    def received() -> bool:
        n.refresh_from_db()
        return n.state == "已接收"

    return reverse("claims:notice", args=[n.pk]), {"to_state": "已接收", "note": ""}, received


def _person_search(wd: World) -> list[Target]:
    """The list, and searches by name and by the last digits of the ID number; the row is
    found by its link, since the page repeats what was searched for."""
    p = wd.file_person
    row = f'href="{reverse("people:person", args=[p.pk])}"'
    return [Target(f"/people/{q}", row) for q in ("", f"?q={p.name}", f"?q={p.id_no[-6:]}")]


def _claim_search(wd: World) -> list[Target]:
    row = f'data-setl="{wd.claim.setl_id}"'
    return [Target("/claims/", row), Target(f"/claims/?setl_id={wd.claim.setl_id}", row)]


def _statistics(wd: World) -> list[Target]:
    wd.claim  # noqa: B018 - 2023's figures hold 豫海镇's settled claim
    wd.case  # noqa: B018
    wd.unenrolled_item  # noqa: B018 - 2025's enrollment figures: 豫海镇's 特困 person
    tables = [
        ("claims-township", 2023, "豫海镇"),
        ("claims-group", 2023, "低保"),
        ("enrollment-township", 2025, "豫海镇"),
        # 豫海镇's 特困 person is the only one of that group in the county.
        ("enrollment-group", 2025, "特困"),
        ("warnings-township", 2025, "豫海镇"),
    ]
    return [
        Target(f"/reports/{table}.xlsx?year={year}", marker, foreign_township=404)
        for table, year, marker in tables
    ]


def _dashboard(wd: World) -> list[Target]:
    wd.unenrolled_item  # noqa: B018 - 豫海镇's special population and its open item
    return [Target("/?year=2025", "特困 1")]


ROUTES: dict[str, tuple[Entry, ...]] = {
    # site
    "healthz": (Public("/healthz"),),
    "static": (Public("/static/fangpin/chart.js"),),
    "home": (ListPage(_dashboard),),
    "policy_packs": (Shared("/policy/"),),
    "policy_pack": (Shared("/policy/baseline/"),),
    # accounts and audit
    "accounts:login": (Public("/accounts/login/"),),
    # Without a password entered first, the second step sends the visitor back to the first.
    "accounts:login_totp": (Public("/accounts/login/totp/", status=302),),
    "accounts:logout": (OwnAccount("/accounts/logout/", method="POST", status=302),),
    "accounts:password": (OwnAccount("/accounts/password/"),),
    "accounts:totp_setup": (OwnAccount("/accounts/totp/"),),
    "accounts:users": (CountyOnly(_get("/accounts/users/"), by="admin"),),
    "accounts:unlock": (
        CountyOnly(
            lambda wd: (f"/accounts/users/{wd.users.outsider.pk}/unlock/", {}),
            method="POST",
            by="admin",
        ),
    ),
    "audit:list": (CountyOnly(_get("/audit/", "upload"), by="admin"),),
    "audit:export": (CountyOnly(_get("/audit/export.xlsx"), by="admin"),),
    # people
    "people:search": (ListPage(_person_search),),
    "people:export": (ListPage(lambda wd: [Target("/people/export.xlsx", wd.file_person.name)]),),
    "people:person": (Record(lambda wd: reverse("people:person", args=[wd.file_person.pk])),),
    "people:household": (
        Record(lambda wd: reverse("people:household", args=[wd.file_person.household_id])),
    ),
    "people:uploads": (
        CountyOnly(_get("/people/uploads/", "upload")),
        CountyOnly(lambda wd: ("/people/uploads/", wd.upload_post()), method="POST"),
    ),
    "people:uploads_export": (CountyOnly(_get("/people/uploads/export.xlsx", "upload")),),
    "people:upload": (
        CountyOnly(lambda wd: (reverse("people:upload", args=[wd.upload.pk]), None)),
    ),
    "people:upload_rejects": (
        CountyOnly(lambda wd: (reverse("people:upload_rejects", args=[wd.upload.pk]), None)),
    ),
    "people:upload_original": (
        CountyOnly(lambda wd: (reverse("people:upload_original", args=[wd.upload.pk]), None)),
    ),
    "people:upload_tagged": (
        CountyOnly(
            lambda wd: (reverse("people:upload_tagged", args=[wd.upload.pk]), {}), method="POST"
        ),
    ),
    # enrollment
    "enrollment:overview": (
        ListPage(
            lambda wd: [Target(f"/enrollment/?run={wd.unenrolled_item.opened_run_id}", "豫海镇")]
        ),
    ),
    "enrollment:run": (
        CountyOnly(_post("/enrollment/run/", {"year": 2025, "on": "2025-04-01"}), method="POST"),
    ),
    "enrollment:summary_export": (
        ListPage(
            lambda wd: [
                Target(f"/enrollment/summary.xlsx?run={wd.unenrolled_item.opened_run_id}", "豫海镇")
            ]
        ),
    ),
    "enrollment:unenrolled": (
        ListPage(
            lambda wd: [
                Target("/enrollment/unenrolled/", wd.unenrolled_item.person.name),
                Target(
                    f"/enrollment/unenrolled/?township={YUHAI_CODE}",
                    wd.unenrolled_item.person.name,
                ),
            ]
        ),
    ),
    "enrollment:unenrolled_export": (
        ListPage(
            lambda wd: [
                Target("/enrollment/unenrolled/export.xlsx", wd.unenrolled_item.person.name)
            ]
        ),
    ),
    "enrollment:unenrolled_item": (
        Record(lambda wd: reverse("enrollment:unenrolled_item", args=[wd.unenrolled_item.pk])),
    ),
    "enrollment:unenrolled_feedback": (Write(_feedback),),
    "enrollment:newborns": (
        ListPage(lambda wd: [Target("/enrollment/newborns/", wd.newborn.name)]),
    ),
    "enrollment:newborns_export": (
        ListPage(lambda wd: [Target("/enrollment/newborns/export.xlsx", wd.newborn.name)]),
    ),
    # warnings
    "warnings:worklist": (
        ListPage(
            lambda wd: [
                Target("/warnings/", wd.case.person.name),
                Target("/warnings/?state=", wd.case.person.name),
            ]
        ),
    ),
    "warnings:case": (
        Record(lambda wd: reverse("warnings:case", args=[wd.case.pk])),
        Write(_visit),
    ),
    "warnings:visit_photo": (
        Record(lambda wd: reverse("warnings:visit_photo", args=[wd.case.pk, wd.visit.pk])),
    ),
    "warnings:runs": (CountyOnly(_get("/warnings/runs/", "screening_run")),),
    "warnings:run_list": (
        CountyOnly(
            lambda wd: (reverse("warnings:run_list", args=[wd.screening_run.pk, "民政"]), None)
        ),
    ),
    # claims
    "claims:search": (ListPage(_claim_search),),
    "claims:search_export": (
        ListPage(lambda wd: [Target("/claims/export.xlsx", wd.claim.setl_id)]),
    ),
    "claims:bill": (Record(lambda wd: reverse("claims:bill", args=[wd.claim.setl_id])),),
    "claims:notices": (
        ListPage(
            lambda wd: [
                Target("/claims/notices/", wd.notice.person.name),
                Target(f"/claims/notices/?township={YUHAI_CODE}", wd.notice.person.name),
            ]
        ),
    ),
    "claims:notices_export": (
        ListPage(lambda wd: [Target("/claims/notices/export.xlsx", wd.notice.person.name)]),
    ),
    "claims:notice": (
        Record(lambda wd: reverse("claims:notice", args=[wd.notice.pk])),
        Write(_receive),
    ),
    "claims:overpaid": (CountyOnly(_get("/claims/overpaid/", "overpaid")),),
    "claims:overpaid_export": (CountyOnly(_get("/claims/overpaid/export.xlsx", "overpaid")),),
    "claims:overpaid_review": (
        CountyOnly(
            lambda wd: (reverse("claims:overpaid_review", args=[wd.overpaid.pk]), {"note": "核实"}),
            method="POST",
        ),
    ),
    "claims:imports": (CountyOnly(_get("/claims/imports/", "claim_import")),),
    "claims:imports_export": (CountyOnly(_get("/claims/imports/export.xlsx", "claim_import")),),
    "claims:import": (
        CountyOnly(lambda wd: (reverse("claims:import", args=[wd.claim_import.pk]), None)),
    ),
    "claims:import_rejects": (
        CountyOnly(lambda wd: (reverse("claims:import_rejects", args=[wd.claim_import.pk]), None)),
    ),
    # the settlement API: the docs page's scripts and styles are open; its operations and its
    # documents ask for an institution's key (or a login) and are held to the area rule in
    # tests/claims/test_api_access.py
    "api:asset": (Public("/api/assets/swagger-ui.css"),),
    "api:openapi-view": (Api(),),
    "api:openapi-json": (Api(),),
    "api:api-root": (Api(),),
    "api:settle": (Api(),),
    "api:get_settlement": (Api(),),
    "api:cancel": (Api(),),
    "api:resettle": (Api(),),
    "api:accumulators": (Api(),),
    # reports
    "reports:statistics": (
        ListPage(
            lambda wd: [
                Target("/reports/?year=2023", "豫海镇", foreign_township=404),
                Target("/reports/?year=2025", "豫海镇", foreign_township=404),
            ]
        ),
    ),
    "reports:export": (ListPage(_statistics),),
}


# --- the URL configuration, walked ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str | None  # namespace:name; None for an unnamed route
    pattern: str


def all_routes(resolver: URLResolver | None = None) -> list[Route]:
    """Every route of the URL configuration, with its full pattern, nested includes walked."""
    out: list[Route] = []

    def walk(res: URLResolver, prefix: str, namespace: str | None) -> None:
        for p in res.url_patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                out.append(Route(name, prefix + str(p.pattern)))

    walk(resolver or get_resolver(), "", None)
    return out


def entries_of(kind: type) -> list[tuple[str, Any]]:
    """(route name, entry) for every entry of one kind, in the table's order."""
    return [(name, e) for name, es in ROUTES.items() for e in es if isinstance(e, kind)]
