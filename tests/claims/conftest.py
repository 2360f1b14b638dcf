"""Fixtures for the claims ledger: an institution with a key, people with identities, HTTP."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.people.factories import make_id

RETRIES = 8
POLICY = (
    "shanxi-linxian-2023"  # has every tier: tilt, assistance, re-assistance, hospital-borne excess
)


@dataclass
class Caller:
    """JSON over real HTTP to the live server, as an institution's system would call it."""

    base: str
    key: str | None

    def __call__(
        self, method: str, path: str, body: Any = None, *, header: str = "bearer"
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.key:
            if header == "bearer":
                req.add_header("Authorization", f"Bearer {self.key}")
            else:
                req.add_header("X-Api-Key", self.key)
        for attempt in range(RETRIES):
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    return resp.status, json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                try:
                    return exc.code, json.loads(raw)
                except ValueError:
                    return exc.code, raw.decode(errors="replace")
            except (ConnectionError, urllib.error.URLError):
                # The test server's listen queue is short; fifty connections at once overflow it.
                # Sending the same request again is what a hospital system does, and is safe:
                # the same setl_id is settled once.
                if attempt == RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


@pytest.fixture
def policy(settings):
    settings.FANGPIN_POLICY = POLICY
    from fangpin.policy.registry import load_pack

    return load_pack(POLICY)


@pytest.fixture
def hospital(db):
    from fangpin.claims.auth import issue_key
    from fangpin.claims.models import Institution

    inst = Institution.objects.create(code="H640324001", name="同心县人民医院")
    return inst, issue_key(inst, "his")


@pytest.fixture
def other_hospital(db):
    from fangpin.claims.auth import issue_key
    from fangpin.claims.models import Institution

    inst = Institution.objects.create(code="H640324002", name="同心县中医医院")
    return inst, issue_key(inst, "his")


class LeanServer:
    """The site's WSGI application — the settlement calls answered in front of Django
    (`fangpin.claims.lean.OnlineApp`) — on a real HTTP server in a thread, as gunicorn runs
    `fangpin.site.wsgi:application`. `passed` lists the calls Django answered instead."""

    def __init__(self) -> None:
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

        from fangpin.claims.lean import OnlineApp
        from fangpin.site.wsgi import django_application

        self.passed: list[tuple[str, str]] = []

        def django(environ, start_response):
            self.passed.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
            return django_application(environ, start_response)

        self.httpd = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
        self.httpd.set_app(OnlineApp(django))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="session")
def lean_server(django_db_setup, django_db_blocker) -> Iterator[LeanServer]:
    server = LeanServer()
    yield server
    server.stop()


@pytest.fixture(params=["django", "lean"])
def site_url(request, transactional_db) -> str:
    """The live site, once through Django alone and once with the settlement calls answered
    in front of it (the WSGI application gunicorn serves): every API test runs on both."""
    if request.param == "django":
        return request.getfixturevalue("live_server").url
    server = request.getfixturevalue("lean_server")
    server.passed.clear()
    return server.url


@pytest.fixture
def api(site_url, hospital, policy) -> Caller:
    return Caller(site_url + "/api/v1", hospital[1])


@pytest.fixture
def other_api(site_url, other_hospital, policy) -> Caller:
    return Caller(site_url + "/api/v1", other_hospital[1])


_seq = iter(range(100, 999))


def make_person(
    identities: list[tuple[str, dt.date, dt.date | None]] = (),
    township=None,
    psn_no: str | None = None,
):
    """A ledger person with dated identities (canonical names, RULES §1)."""
    from fangpin.people.models import Identity, Person
    from fangpin.policy.groups import IDENTITIES

    n = next(_seq)
    person = Person.objects.create(
        id_no=make_id("19600101", n), psn_no=psn_no, name=f"测试{n}", township=township
    )
    for name, begin, end in identities:
        group, dept = IDENTITIES[name]
        Identity.objects.create(
            person=person, name=name, group=group, department=dept, begin=begin, end=end
        )
    return person


def claim(
    setl_id: str, psn_no: str, date: str = "2023-03-10", total: str = "30000.00", **kw: Any
) -> dict:
    body = {
        "setl_id": setl_id,
        "psn_no": psn_no,
        "setl_date": date,
        "med_type": "21",
        "hosp_lv": 2,
        "in_province": True,
        "referral": True,
        "medfee_sumamt": total,
        "fulamt_ownpay_amt": "1000.00",
        "overlmt_selfpay": "0.00",
        "preselfpay_amt": "0.00",
    }
    body.update(kw)
    return body
