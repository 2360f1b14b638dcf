"""The online settlement API over real HTTP on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.claims.conftest import claim, make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def test_a_claim_settles_with_the_persons_identity_and_the_bill_shows_each_tier(api):
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    status, body = api("POST", "/settlements", claim("S1", p.id_no))
    assert status == 201, body
    assert body["state"] == "valid" and body["group"] == "低保"
    total = fen(body["fund_pay_sumamt"]) + fen(body["psn_part_amt"]) + fen(body["hosp_part_amt"])
    assert total == fen(body["medfee_sumamt"]) == 3_000_000
    assert fen(body["maf_pay"]) > 0
    codes = {d["fund_pay_type"] for d in body["setldetail"]}
    assert {"390100", "610100"} <= codes
    tiers = {t["fund_pay_type"]: t for t in body["bill"]["tiers"]}
    assert tiers["390100"]["deductible"] == "500.00" and tiers["390100"]["ratio"] == "0.8"
    assert tiers["390100"]["result"] == body["hifp_pay"]
    assert tiers["610100"]["result"] == body["maf_pay"]
    assert body["bill"]["psn_part_amt"] == body["psn_part_amt"]


def test_the_same_setl_id_twice_returns_the_first_result_and_writes_no_second_row(api):
    from fangpin.claims.models import Claim, Settlement

    p = make_person()
    first = api("POST", "/settlements", claim("S2", p.id_no))
    again = api("POST", "/settlements", claim("S2", p.id_no), header="x-api-key")
    assert first[0] == 201 and again[0] == 200
    assert again[1] == first[1]
    assert Claim.objects.count() == 1 and Settlement.objects.count() == 1


def test_a_setl_id_reused_for_another_claim_is_a_conflict(api):
    p = make_person()
    assert api("POST", "/settlements", claim("S3", p.id_no))[0] == 201
    status, body = api("POST", "/settlements", claim("S3", p.id_no, total="35000.00"))
    assert status == 409 and "S3" in body["detail"]


def test_pre_settlement_computes_on_the_current_year_and_records_nothing(api):
    from fangpin.claims.models import Claim

    p = make_person()
    api("POST", "/settlements", claim("S4", p.id_no, total="20000.00"))
    status, pre = api("POST", "/settlements", claim("S5", p.id_no, dry_run=True))
    assert status == 200 and pre["state"] == "preview"
    assert Claim.objects.filter(setl_id="S5").count() == 0
    status, real = api("POST", "/settlements", claim("S5", p.id_no))
    assert status == 201
    assert {k: real[k] for k in ("hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt")} == {
        k: pre[k] for k in ("hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt")
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"medfee_sumamt": "12.345"}, "medfee_sumamt"),
        ({"medfee_sumamt": "-1.00"}, "medfee_sumamt"),
        ({"med_type": "99"}, "med_type"),
        ({"hosp_lv": 7}, "hosp_lv"),
        ({"setl_date": "2023-02-30"}, "setl_date"),
        ({"fulamt_ownpay_amt": "40000.00"}, "inscp_scp_amt"),
    ],
)
def test_bad_input_is_422_naming_the_field(api, change, field):
    status, body = api("POST", "/settlements", claim("BAD", "X1", **change))
    assert status == 422
    assert any(field in [str(x) for x in e["loc"]] for e in body["detail"]), body


def test_a_missing_field_is_422_naming_it(api):
    body = claim("BAD2", "X1")
    del body["psn_no"]
    status, out = api("POST", "/settlements", body)
    assert status == 422 and any("psn_no" in e["loc"] for e in out["detail"])


def test_calls_without_a_valid_key_are_refused(api, live_server):
    from tests.claims.conftest import Caller

    assert Caller(api.base, None)("GET", "/settlements/S1")[0] == 401
    assert Caller(api.base, "fpk_not-a-key")("GET", "/settlements/S1")[0] == 401


def test_an_institution_cannot_see_or_cancel_another_institutions_settlement(api, other_api):
    p = make_person()
    assert api("POST", "/settlements", claim("S6", p.id_no))[0] == 201
    assert api("GET", "/settlements/S6")[0] == 200
    assert other_api("GET", "/settlements/S6")[0] == 404
    assert other_api("POST", "/settlements/S6/cancel", {})[0] == 404
    assert other_api("GET", "/settlements/NOPE")[0] == 404
    # Using its setl_id is refused without revealing anything about it.
    status, body = other_api("POST", "/settlements", claim("S6", p.id_no))
    assert status == 409 and "psn" not in str(body)


def test_cancel_releases_the_year_and_a_resettlement_pays_the_same_again(api):
    from fangpin.claims.models import Settlement
    from fangpin.claims.services import rebuild_accumulator

    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    _, first = api("POST", "/settlements", claim("S7", p.id_no))
    _, acc = api("GET", f"/persons/{p.id_no}/accumulators/2023")
    assert acc["paid1"] == first["hifp_pay"]
    status, cancelled = api("POST", "/settlements/S7/cancel", {"reason": "录入错误"})
    assert status == 200 and cancelled["state"] == "cancelled"
    _, acc = api("GET", f"/persons/{p.id_no}/accumulators/2023")
    assert set(acc.values()) - {p.id_no, 2023} == {"0.00"}
    # Cancelling twice answers the same and adds nothing.
    assert api("POST", "/settlements/S7/cancel", {})[1]["state"] == "cancelled"
    assert Settlement.objects.filter(kind="cancel").count() == 1
    status, again = api("POST", "/settlements/S7/resettle")
    assert status == 201 and again["state"] == "valid"
    assert {k: again[k] for k in ("hifp_pay", "maf_pay", "psn_part_amt")} == {
        k: first[k] for k in ("hifp_pay", "maf_pay", "psn_part_amt")
    }
    assert api("POST", "/settlements/S7/resettle")[0] == 409
    rows = list(
        Settlement.objects.filter(claim__setl_id="S7")
        .order_by("id")
        .values_list("kind", "hifp_pay")
    )
    assert [r[0] for r in rows] == ["settle", "cancel", "settle"]
    assert rows[1][1] == -rows[0][1]
    from fangpin.claims.models import Accumulator

    row = Accumulator.objects.get(person_key=p.id_no, year=2023)
    assert [
        getattr(row, n)
        for n in ("paid1", "paid11", "cum2", "paid2", "cum3", "paid3", "cum4", "paid4")
    ] == list(rebuild_accumulator(p.id_no, 2023))


def test_cancelling_an_earlier_claim_recomputes_the_later_ones(api, policy):
    """After a cancellation the year's later claims are recomputed: the year then pays what
    the batch engine pays for the claims that remain."""
    from fangpin.claims.models import Adjustment
    from fangpin.claims.services import rebuild_accumulator

    p = make_person()
    api("POST", "/settlements", claim("E1", p.id_no, date="2023-02-01", total="15000.00"))
    _, second = api(
        "POST", "/settlements", claim("E2", p.id_no, date="2023-03-01", total="60000.00")
    )
    api("POST", "/settlements/E1/cancel", {})
    assert Adjustment.objects.filter(claim__setl_id="E2").exists()
    _, now = api("GET", "/settlements/E2")
    alone = api(
        "POST", "/settlements", claim("E3", "SOMEONE-ELSE", date="2023-03-01", total="60000.00")
    )[1]
    assert second["hifmi_pay"] != "0.00" and alone["hifmi_pay"] == "0.00"
    for f in ("hifp_pay", "hifmi_pay", "psn_part_amt"):
        assert now["adjusted"][f] == alone[f]
        assert now[f] == second[f]  # the settlement row itself is untouched
    from fangpin.claims.models import Accumulator

    row = Accumulator.objects.get(person_key=p.id_no, year=2023)
    assert row.paid2 == rebuild_accumulator(p.id_no, 2023)[3]


def test_the_api_describes_itself_to_a_caller_with_a_key(api, live_server):
    from tests.claims.conftest import Caller

    status, doc = Caller(live_server.url, api.key)("GET", "/api/openapi.json")
    assert status == 200
    paths = doc["paths"]
    assert "/api/v1/settlements" in paths and "/api/v1/settlements/{setl_id}/cancel" in paths
    import urllib.request

    req = urllib.request.Request(live_server.url + "/api/docs")
    req.add_header("X-Api-Key", api.key)
    with urllib.request.urlopen(req) as resp:
        page = resp.read().decode()
    assert "swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    with urllib.request.urlopen(live_server.url + "/api/assets/swagger-ui-bundle.js") as resp:
        assert resp.status == 200


def _ledger_rows():
    from fangpin.claims.models import Adjustment, Claim, Settlement

    return {
        "claims": list(Claim.objects.order_by("id").values()),
        "settlements": list(Settlement.objects.order_by("id").values()),
        "adjustments": list(Adjustment.objects.order_by("id").values()),
    }


def test_cancel_and_resettle_only_add_rows_and_every_earlier_row_stays_as_it_was(api):
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    api("POST", "/settlements", claim("A1", p.id_no, date="2023-02-01"))
    api("POST", "/settlements", claim("A2", p.id_no, date="2023-04-01", total="80000.00"))
    steps = [
        ("POST", "/settlements/A1/cancel", {"reason": "重复结算"}),
        ("POST", "/settlements/A1/resettle", None),
    ]
    before = _ledger_rows()
    for method, path, body in steps:
        status, _ = api(method, path, body)
        assert status in (200, 201), path
        after = _ledger_rows()
        for table, rows in before.items():
            assert len(after[table]) >= len(rows), table
            assert after[table][: len(rows)] == rows, f"{table} changed in place by {path}"
        before = after
    counts = {t: len(r) for t, r in before.items()}
    # 2 claims; settle A1, settle A2, cancel A1, settle A1 again (4 settlement rows); the
    # cancellation recomputed A2 (adjustment rows, A2's own settlement row untouched)
    assert counts["claims"] == 2 and counts["settlements"] == 4
    assert counts["adjustments"] >= 1


def test_the_fund_codes_name_each_tier_including_the_reassistance(api):
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    status, body = api("POST", "/settlements", claim("F1", p.id_no, hosp_lv=4, total="400000.00"))
    assert status == 201
    detail = {d["fund_pay_type"]: d for d in body["setldetail"]}
    assert set(detail) == {"390100", "390200", "610100", "610200"}
    assert detail["390100"]["fund_payamt"] == body["hifp_pay"]
    assert detail["390200"]["fund_payamt"] == body["hifmi_pay"]
    assert detail["610100"]["fund_payamt"] == body["maf_pay"]
    assert detail["610200"]["fund_payamt"] == body["oth_pay"] != "0.00"
    assert "倾斜救助" in detail["610200"]["fund_pay_type_name"]
    paid = sum(fen(d["fund_payamt"]) for d in detail.values())
    assert paid == fen(body["fund_pay_sumamt"])
