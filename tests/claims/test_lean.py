"""The settlement calls answered in front of Django (`fangpin.claims.lean`), over real HTTP on
PostgreSQL: the same answers as Django's, byte for byte, and every refusal left to Django."""

from __future__ import annotations

import datetime as dt
import http.client
import json
from urllib.parse import urlsplit

import pytest

from tests.claims.conftest import claim, make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Headers that differ between two servers for the same answer, and Vary: Cookie, which only
# Django's session middleware adds (the lean answers read no cookie).
NOT_COMPARED = {"date", "server", "vary", "connection"}


def call(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection: (status, headers in lower case, raw body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, "/api/v1" + path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def keyed(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **more}


def post(base: str, key: str, body: dict) -> tuple[int, dict[str, str], bytes]:
    return call(base, "POST", "/settlements", json.dumps(body).encode(), keyed(key))


@pytest.fixture
def both(live_server, lean_server, hospital, policy):
    """(Django's URL, the lean server, the institution's key), the lean server's log emptied."""
    lean_server.passed.clear()
    return live_server.url, lean_server, hospital[1]


def test_the_site_application_answers_the_settlement_calls_in_front_of_django():
    from fangpin.claims.lean import OnlineApp
    from fangpin.site import wsgi

    assert isinstance(wsgi.application, OnlineApp)
    assert wsgi.application.django_app is wsgi.django_application


def test_settling_replaying_previewing_and_reading_never_reach_django(both):
    django, lean, key = both
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    status, _, first = post(lean.url, key, claim("L1", p.id_no))
    assert status == 201
    assert post(lean.url, key, claim("L1", p.id_no))[::2] == (200, first)
    status, _, pre = post(lean.url, key, claim("L2", p.id_no, dry_run=True))
    assert status == 200 and json.loads(pre)["state"] == "preview"
    status, _, got = call(lean.url, "GET", "/settlements/L1", headers=keyed(key))
    assert status == 200 and got == first
    # The X-Api-Key header is the API's other way to give the key.
    status, _, got = call(lean.url, "GET", "/settlements/L1", headers={"X-Api-Key": key})
    assert status == 200 and got == first
    assert lean.passed == []


def test_answers_are_djangos_byte_for_byte_with_its_headers(both):
    from fangpin.claims.models import Claim

    django, lean, key = both
    poor = make_person([("特困人员", dt.date(2023, 1, 1), None)])
    plain = make_person()
    claims = [
        claim("B1", poor.id_no, hosp_lv=4, total="400000.00"),  # every tier, caps reached
        claim("B2", poor.id_no, date="2023-05-02", total="2500.00"),  # after the caps
        claim("B3", plain.id_no, med_type="11", total="300.00", fulamt_ownpay_amt="0.00"),
        claim("B4", plain.id_no, med_type=14, total="12345.67", referral=False),
        claim("B5", "NOT-IN-THE-LEDGER", total="8000.00"),
    ]
    for body in claims:
        # A pre-settlement on each server (nothing is written), then the settlement on the lean
        # one, then its replay and lookup on Django's.
        pre = [post(url, key, {**body, "dry_run": True}) for url in (lean.url, django)]
        assert pre[0][0] == pre[1][0] == 200 and pre[0][2] == pre[1][2], body["setl_id"]
        status, headers, settled = post(lean.url, key, body)
        assert status == 201, settled
        status, django_headers, replayed = post(django, key, body)
        assert (status, replayed) == (200, settled)
        got = call(django, "GET", f"/settlements/{body['setl_id']}", headers=keyed(key))
        assert got[0] == 200 and got[2] == settled
        mine = {k: v for k, v in headers.items() if k not in NOT_COMPARED}
        theirs = {k: v for k, v in django_headers.items() if k not in NOT_COMPARED}
        assert mine == theirs
    assert Claim.objects.count() == len(claims)
    assert lean.passed == []


def _refusals(key: str, other_key: str, revoked: str, psn: str) -> list[tuple]:
    good = json.dumps(claim("R1", psn)).encode()
    bad = {"medfee_sumamt": "12.345", "med_type": "99", "hosp_lv": 7, "setl_date": "2023-02-30"}
    return [
        ("POST", "/settlements", good, {"Content-Type": "application/json"}),
        ("POST", "/settlements", good, keyed("fpk_not-a-key")),
        ("POST", "/settlements", good, keyed(revoked)),
        ("POST", "/settlements", good, {"X-Api-Key": revoked}),
        ("POST", "/settlements", good, keyed(key, Host="elsewhere.example")),
        ("POST", "/settlements", b"{not json", keyed(key)),
        ("POST", "/settlements", b"[1, 2, 3]", keyed(key)),
        ("POST", "/settlements", b"", keyed(key)),
        *(
            ("POST", "/settlements", json.dumps(claim("R2", psn, **{f: v})).encode(), keyed(key))
            for f, v in bad.items()
        ),
        # A negative in-scope amount, a used setl_id with other amounts, another's setl_id.
        (
            "POST",
            "/settlements",
            json.dumps(claim("R3", psn, fulamt_ownpay_amt="40000.00")).encode(),
            keyed(key),
        ),
        ("POST", "/settlements", json.dumps(claim("S1", psn, total="999.00")).encode(), keyed(key)),
        ("POST", "/settlements", json.dumps(claim("S1", psn)).encode(), keyed(other_key)),
        ("GET", "/settlements/S1", None, keyed(other_key)),
        ("GET", "/settlements/NOPE", None, keyed(key)),
        ("GET", "/settlements/S1", None, keyed("fpk_not-a-key")),
    ]


def test_every_refusal_is_left_to_django_and_answered_as_django_answers_it(both, other_hospital):
    from fangpin.claims.auth import issue_key, revoke_key
    from fangpin.claims.models import Claim, Settlement

    django, lean, key = both
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    assert post(django, key, claim("S1", p.id_no))[0] == 201
    revoked = issue_key(other_hospital[0], "old")
    revoke_key(revoked[:12])
    rows = (Claim.objects.count(), Settlement.objects.count())
    refusals = _refusals(key, other_hospital[1], revoked, p.id_no)
    for method, path, body, headers in refusals:
        mine = call(lean.url, method, path, body, headers)
        theirs = call(django, method, path, body, headers)
        assert 400 <= mine[0] < 500, (path, headers, mine)
        assert (mine[0], mine[2]) == (theirs[0], theirs[2]), (path, headers)
    assert len(lean.passed) == len(refusals)
    assert (Claim.objects.count(), Settlement.objects.count()) == rows


def test_a_key_revoked_between_two_calls_is_refused_by_the_second(both):
    from fangpin.claims.auth import revoke_key

    django, lean, key = both
    p = make_person()
    assert post(lean.url, key, claim("K1", p.id_no))[0] == 201
    assert revoke_key(key[:12]) == 1
    status, _, body = post(lean.url, key, claim("K2", p.id_no))
    assert status == 401 and json.loads(body) == {"detail": "Unauthorized"}
    assert lean.passed == [("POST", "/api/v1/settlements")]
