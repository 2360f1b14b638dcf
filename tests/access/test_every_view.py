"""One access matrix over every view of the web application (DESIGN §2, §5).

The three-user rule of the pages: 豫海镇's cadre opens 豫海镇's records, 河西镇's cadre gets 404
for them and never sees them in a list, a read-only colleague (and a leader) gets 403 for any
write, and nothing changes in the database when a write is refused. The routes come from the
URL configuration itself (tests/access/routes.py): a route missing from its table fails here
by name. The settlement API is held to the same rule in tests/claims/test_api_access.py.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import openpyxl
import pytest
from django.apps import apps
from django.test import Client

from fangpin.audit.models import AuditEntry
from tests.access.routes import (
    ROUTES,
    YUHAI_CODE,
    Api,
    CountyOnly,
    ListPage,
    OwnAccount,
    Public,
    Record,
    Shared,
    Write,
    all_routes,
    entries_of,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOGIN = "/accounts/login/"


def params(kind: type) -> list[Any]:
    out, seen = [], set()
    for name, entry in entries_of(kind):
        method = getattr(entry, "method", "GET")
        test_id = name if name not in seen else f"{name}-{method}"
        seen.add(name)
        out.append(pytest.param(name, entry, id=test_id))
    return out


def content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def shown(response) -> list[str]:
    """What a page or an export shows: the text of the page's <main> (not the header with the
    user's own area), or every cell of every sheet of an xlsx file, opened with openpyxl."""
    assert response.status_code == 200, response.status_code
    data = content(response)
    if response["Content-Type"].startswith(XLSX):
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return [
            str(v)
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
            for v in row
            if v is not None
        ]
    html = data.decode()
    main = re.search(r"<main\b.*?</main>", html, re.S)
    assert main, "a page without <main>"
    return [main.group(0)]


def has(response, marker: str) -> bool:
    return any(marker in text for text in shown(response))


def with_param(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit(parts._replace(query=query))


def fingerprint() -> dict[str, list[dict]]:
    """Every row of every fangpin model but the audit trail's, to show that nothing changed."""
    out = {}
    for model in apps.get_models():
        if model.__module__.startswith("fangpin.") and model is not AuditEntry:
            out[model._meta.label] = list(model.objects.order_by("pk").values())
    return out


def changes() -> int:
    return AuditEntry.objects.filter(action="change").count()


def sent_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN + "?next=")


# --- completeness -----------------------------------------------------------------------------


def test_every_route_of_the_url_configuration_has_a_name_and_is_in_the_access_table():
    routes = all_routes()
    unnamed = [r.pattern for r in routes if not r.name]
    assert not unnamed, f"routes without a name, which the access table cannot list: {unnamed}"
    missing = [f"{r.name} ({r.pattern})" for r in routes if r.name not in ROUTES]
    assert not missing, (
        "routes not classified in tests/access/routes.py (say who may open each): "
        + ", ".join(missing)
    )


def test_the_access_table_lists_no_route_the_url_configuration_no_longer_has():
    known = {r.name for r in all_routes()}
    assert sorted(set(ROUTES) - known) == []


def test_only_the_settlement_api_is_left_to_the_api_tests_and_records_take_an_id():
    patterns = {r.name: r.pattern for r in all_routes()}
    for name, _entry in entries_of(Api):
        assert patterns[name].startswith("api/"), name
    for name, entries in ROUTES.items():
        assert entries, name
        if any(isinstance(e, Record | Write) for e in entries):
            assert "<" in patterns[name], f"{name}: a record page with no record in its URL"


# --- no login ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,entry", params(Public))
def test_a_public_route_answers_without_a_login(name, entry, db):
    response = Client().get(entry.url)
    assert response.status_code == entry.status
    if entry.status == 302:
        assert response["Location"] == LOGIN


def _anonymous_requests() -> list[Any]:
    out = []
    for name, entries in ROUTES.items():
        for entry in entries:
            if not isinstance(entry, Public | Api):
                out.append(pytest.param(name, entry, id=f"{name}-{type(entry).__name__}"))
    return out


@pytest.mark.parametrize("name,entry", _anonymous_requests())
def test_an_anonymous_visitor_is_sent_to_the_login_page_from_every_other_route(name, entry, world):
    c = Client()
    if isinstance(entry, OwnAccount | Shared):
        url, method, data = entry.url, getattr(entry, "method", "GET"), {}
    elif isinstance(entry, ListPage):
        url, method, data = entry.targets(world)[0].url, "GET", {}
    elif isinstance(entry, Record):
        url, method, data = entry.url(world), "GET", {}
    elif isinstance(entry, Write):
        url, data, _ = entry.build(world)
        method = "POST"
    else:
        url, data = entry.build(world)
        method = entry.method
    before = fingerprint()
    response = c.post(url, data or {}) if method == "POST" else c.get(url)
    assert sent_to_login(response), (response.status_code, response.get("Location"))
    if method == "POST":
        assert fingerprint() == before


# --- one's own account, and pages every role reads --------------------------------------------


@pytest.mark.parametrize("name,entry", params(OwnAccount))
def test_a_users_own_account_pages_open_for_every_role_read_only_included(
    name, entry, users, client_for
):
    for user in (users.colleague, users.leader, users.outsider, users.liaison):
        c = client_for(user)
        response = c.post(entry.url) if entry.method == "POST" else c.get(entry.url)
        assert response.status_code == entry.status, user.username


@pytest.mark.parametrize("name,entry", params(Shared))
def test_a_page_without_an_areas_data_opens_for_every_role(name, entry, users, client_for):
    for user in users.all():
        assert client_for(user).get(entry.url).status_code == 200, user.username


# --- records, writes, lists -------------------------------------------------------------------


@pytest.mark.parametrize("name,entry", params(Record))
def test_a_record_page_opens_for_its_townships_cadres_and_is_404_for_another_township(
    name, entry, world, users, client_for
):
    url = entry.url(world)
    assert client_for(users.cadre).get(url).status_code == 200
    assert client_for(users.colleague).get(url).status_code == 200
    assert client_for(users.county).get(url).status_code == 200
    assert client_for(users.outsider).get(url).status_code == 404
    # A department's liaison opens nobody's record, in any township.
    assert client_for(users.liaison).get(url).status_code == 403
    # A refused look leaves no trace of having seen the record.
    for user in (users.outsider, users.liaison):
        assert not AuditEntry.objects.filter(user=user, action="view").exists()


@pytest.mark.parametrize("name,entry", params(Write))
def test_a_write_is_refused_to_read_only_users_and_another_township_and_changes_nothing(
    name, entry, world, users, client_for
):
    url, data, took_effect = entry.build(world)
    refusals = (
        (users.colleague, 403),
        (users.leader, 403),
        (users.liaison, 403),
        (users.outsider, 404),
    )
    for user in refusals:
        client_for(user[0])  # signed in before the snapshot
    before, changed = fingerprint(), changes()
    for user, status in refusals:
        response = client_for(user).post(url, data)
        assert response.status_code == status, user.username
    assert fingerprint() == before and changes() == changed and not took_effect()
    # The same data from the township's own cadre is taken, and the change is audited.
    response = client_for(users.cadre).post(url, data)
    assert 200 <= response.status_code < 400 and took_effect()
    assert changes() > changed


@pytest.mark.parametrize("name,entry", params(ListPage))
def test_a_list_shows_a_townships_record_to_its_cadres_and_never_to_another_township(
    name, entry, world, users, client_for
):
    for target in entry.targets(world):
        for user in (users.cadre, users.colleague):
            response = client_for(user).get(target.url)
            assert has(response, target.marker), (target.url, user.username)
        outsider = client_for(users.outsider)
        assert not has(outsider.get(target.url), target.marker), target.url
        asked = outsider.get(with_param(target.url, township=YUHAI_CODE))
        assert asked.status_code == target.foreign_township, target.url
        if asked.status_code == 200:
            assert not has(asked, target.marker), target.url


@pytest.mark.parametrize("name,entry", params(CountyOnly))
def test_a_county_page_is_refused_to_township_cadres_and_opens_for_the_county(
    name, entry, world, users, client_for
):
    def request(user):
        url, data = entry.build(world)
        c = client_for(user)
        return c.post(url, data or {}) if entry.method == "POST" else c.get(url)

    township = (users.cadre, users.colleague, users.outsider)
    entry.build(world)  # the records exist before the snapshot
    for user in township:
        client_for(user)
    before, changed = fingerprint(), changes()
    for user in township:
        assert request(user).status_code == entry.refused, user.username
    assert fingerprint() == before and changes() == changed
    response = request(getattr(users, entry.by))
    if entry.method == "POST":
        assert response.status_code in (200, 302) and changes() > changed
    else:
        assert response.status_code == 200
        if response["Content-Type"].startswith(XLSX):
            shown(response)  # the export opens as a workbook
