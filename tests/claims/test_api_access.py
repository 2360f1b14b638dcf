"""Who may call which API endpoint, over real HTTP on PostgreSQL: keys, institutions, bad calls."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request

import pytest

from tests.claims.conftest import Caller, claim, make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Every endpoint, with a body where it takes one (setl_id S1 is settled by the `settled` fixture).
ENDPOINTS = [
    ("POST", "/settlements", "settle"),
    ("POST", "/settlements", "dry_run"),
    ("GET", "/settlements/S1", None),
    ("POST", "/settlements/S1/cancel", {}),
    ("POST", "/settlements/S1/resettle", None),
    ("GET", "/persons/{psn}/accumulators/2023", None),
]
DOCS = ["/api/openapi.json", "/api/docs"]


@pytest.fixture
def settled(api):
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    status, body = api("POST", "/settlements", claim("S1", p.id_no))
    assert status == 201, body
    return p


def _body(kind, psn: str):
    if kind == "settle":
        return claim("S9", psn)
    if kind == "dry_run":
        return claim("S9", psn, dry_run=True)
    return kind


def _calls(psn: str):
    for method, path, kind in ENDPOINTS:
        yield method, path.replace("{psn}", psn), _body(kind, psn)


def _revoked_key(db_inst) -> str:
    from fangpin.claims.auth import issue_key, revoke_key

    key = issue_key(db_inst, "old")
    assert revoke_key(key[:12]) == 1
    return key


def test_every_endpoint_refuses_a_call_without_a_key_or_with_a_wrong_one(api, settled):
    from fangpin.claims.models import Claim, Settlement

    before = (Claim.objects.count(), Settlement.objects.count())
    for key in (None, "fpk_not-a-key", ""):
        caller = Caller(api.base, key)
        for method, path, body in _calls(settled.id_no):
            status, out = caller(method, path, body)
            assert status == 401, (key, method, path, status, out)
    assert (Claim.objects.count(), Settlement.objects.count()) == before


def test_a_revoked_key_is_refused_at_once_on_every_endpoint(api, settled, hospital):
    from fangpin.claims.auth import revoke_key

    old = Caller(api.base, _revoked_key(hospital[0]))
    for method, path, body in _calls(settled.id_no):
        assert old(method, path, body)[0] == 401, (method, path)
        assert old(method, path, body, header="x-api-key")[0] == 401, (method, path)
    # The institution's key in use a moment ago stops working as soon as it is revoked.
    assert api("GET", "/settlements/S1")[0] == 200
    assert revoke_key(api.key[:12]) == 1
    assert api("GET", "/settlements/S1")[0] == 401


def test_another_institution_gets_404_for_each_endpoint_on_a_settlement_not_its_own(
    api, other_api, settled
):
    from fangpin.claims.models import Settlement

    rows = Settlement.objects.count()
    assert other_api("GET", "/settlements/S1")[0] == 404
    assert other_api("POST", "/settlements/S1/cancel", {})[0] == 404
    assert other_api("POST", "/settlements/S1/resettle")[0] == 404
    status, body = other_api("GET", f"/persons/{settled.id_no}/accumulators/2023")
    assert status == 404 and settled.id_no not in str(body)
    # Nothing was cancelled by the other institution's calls; the owner still sees it valid.
    assert Settlement.objects.count() == rows
    status, mine = api("GET", "/settlements/S1")
    assert status == 200 and mine["state"] == "valid"
    status, acc = api("GET", f"/persons/{settled.id_no}/accumulators/2023")
    assert status == 200 and acc["paid1"] == mine["hifp_pay"]
    # A year the owner settled nothing in is no more open to it than to anyone else.
    assert api("GET", f"/persons/{settled.id_no}/accumulators/2022")[0] == 404


def test_the_api_description_needs_a_key_or_a_signed_in_user(api, live_server, settled):
    for path in DOCS:
        assert Caller(live_server.url, None)("GET", path)[0] == 401, path
        assert Caller(live_server.url, "fpk_not-a-key")("GET", path)[0] == 401, path
        req = urllib.request.Request(live_server.url + path)
        req.add_header("Authorization", f"Bearer {api.key}")
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 200, path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/settlements"),
        ("PUT", "/settlements/S1"),
        ("DELETE", "/settlements/S1"),
        ("GET", "/settlements/S1/cancel"),
        ("GET", "/settlements/S1/resettle"),
        ("POST", "/persons/P/accumulators/2023"),
    ],
)
def test_a_wrong_method_is_405(api, settled, method, path):
    assert api(method, path, {} if method in ("PUT", "POST") else None)[0] == 405


def _raw(api, method: str, path: str, data: bytes, content_type: str = "application/json"):
    req = urllib.request.Request(api.base + path, data=data, method=method)
    req.add_header("Content-Type", content_type)
    req.add_header("Authorization", f"Bearer {api.key}")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_body_that_is_not_json_or_not_a_claim_is_a_clear_4xx(api, settled):
    from fangpin.claims.models import Claim

    n = Claim.objects.count()
    status, text = _raw(api, "POST", "/settlements", b"{not json")
    assert 400 <= status < 500 and "detail" in text, (status, text)
    status, text = _raw(api, "POST", "/settlements", b"[1, 2, 3]")
    assert status == 422 and "detail" in text
    status, text = _raw(api, "POST", "/settlements", b"")
    assert 400 <= status < 500 and "detail" in text, (status, text)
    status, body = api("POST", "/settlements", {**claim("S8", settled.id_no), "hosp_lv": "高"})
    assert status == 422 and any("hosp_lv" in map(str, e["loc"]) for e in body["detail"])
    status, body = api("GET", "/persons/P/accumulators/twenty")
    assert status == 422 and any("year" in map(str, e["loc"]) for e in body["detail"])
    status, body = api("POST", "/settlements/S1/cancel", {"reason": ["not", "text"]})
    assert status == 422 and any("reason" in map(str, e["loc"]) for e in body["detail"])
    assert Claim.objects.count() == n
