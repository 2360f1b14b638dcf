"""Re-settling a cancelled claim puts it back in its place in the year's order (RULES §1, §3).

A claim cancelled in January and settled again in April must be paid what it would have been
paid as the year's first claim, and the claims dated after it are recomputed (adjustments),
so the year's split is the batch engine's for the claims that stand, in (setl_date, setl_id)
order. The checks run over real HTTP against the live server on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.claims.conftest import claim, make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FIELDS = (
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "hosp_part_amt",
    "fund_pay_sumamt",
    "psn_part_amt",
)
IDENTITY = ("低保对象", dt.date(2023, 1, 1), None)


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def current(body: dict) -> dict[str, int]:
    """A claim's amounts as they stand: the settlement plus its adjustments."""
    src = body["adjusted"] or body
    return {f: fen(src[f]) for f in FIELDS}


def _ledger_rows() -> dict[str, list[dict]]:
    from fangpin.claims.models import Adjustment, Claim, Settlement

    return {
        "claims": list(Claim.objects.order_by("id").values()),
        "settlements": list(Settlement.objects.order_by("id").values()),
        "adjustments": list(Adjustment.objects.order_by("id").values()),
    }


def _batch(policy, person, setl_ids: list[str], moved: dict[str, dt.date] | None = None):
    """What the batch engine pays these stored claims of `person`, settled together from
    zero: per setl_id the amounts (fen), and the year's accumulators. `moved` re-dates claims
    (to show that the order matters)."""
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.models import Claim
    from fangpin.claims.services import claim_dict
    from fangpin.engine import kernel as k
    from fangpin.engine.settle import settle_batch

    rows = []
    for c in Claim.objects.filter(setl_id__in=setl_ids).order_by("setl_id"):
        row = claim_dict(c)
        if moved and c.setl_id in moved:
            row["setl_date"] = moved[c.setl_id]
        rows.append(row)
    idents = identity_frame(
        (person.id_no, i.name, i.group, i.begin, i.end) for i in person.identities.all()
    )
    result = settle_batch(policy, claim_frame(rows), idents)
    per_claim = {
        r["setl_id"]: {f: int(r[f]) for f in FIELDS} for r in result.claims.iter_rows(named=True)
    }
    acc = result.accumulators.row(0, named=True)
    return per_claim, [int(acc[n]) for n in k.ACC_NAMES]


def _year(api, person, setl_ids: list[str]) -> tuple[dict[str, dict[str, int]], list[int]]:
    """Each claim's current amounts and the person-year's accumulators, as the API gives them."""
    from fangpin.engine import kernel as k

    per_claim = {}
    for sid in setl_ids:
        status, body = api("GET", f"/settlements/{sid}")
        assert status == 200, body
        per_claim[sid] = current(body)
    _, acc = api("GET", f"/persons/{person.id_no}/accumulators/2023")
    return per_claim, [fen(acc[n]) for n in k.ACC_NAMES]


def _stored_acc(person) -> list[int]:
    from fangpin.claims.models import Accumulator
    from fangpin.engine import kernel as k

    row = Accumulator.objects.get(person_key=person.id_no, year=2023)
    return [getattr(row, n) for n in k.ACC_NAMES]


def _assert_append_only(before: dict[str, list[dict]], after: dict[str, list[dict]], step: str):
    for table, rows in before.items():
        assert after[table][: len(rows)] == rows, f"{table} changed in place by {step}"


@pytest.fixture
def year_with_a_cancelled_january(api, policy):
    """A (January, large) and B (March) settled; A cancelled; C (April) settled after that,
    on a year without A. Returns the person."""
    p = make_person([IDENTITY])
    for body in (
        claim("RA", p.id_no, date="2023-01-10", total="60000.00"),
        claim("RB", p.id_no, date="2023-03-10", total="20000.00"),
    ):
        assert api("POST", "/settlements", body)[0] == 201
    assert api("POST", "/settlements/RA/cancel", {"reason": "身份待核"})[0] == 200
    status, body = api("POST", "/settlements", claim("RC", p.id_no, date="2023-04-05"))
    assert status == 201, body
    return p


def test_the_order_matters_for_these_claims(api, policy, year_with_a_cancelled_january):
    """The scenario has teeth: A as the year's first claim is paid differently from A settled
    after B and C, in a tier that depends on the year so far."""
    p = year_with_a_cancelled_january
    in_order, _ = _batch(policy, p, ["RA", "RB", "RC"])
    a_last, _ = _batch(policy, p, ["RA", "RB", "RC"], moved={"RA": dt.date(2023, 12, 31)})
    assert in_order["RA"] != a_last["RA"]
    assert in_order["RB"] != a_last["RB"]


def test_a_resettled_claim_takes_its_place_and_the_later_claims_are_recomputed(
    api, policy, year_with_a_cancelled_january
):
    from fangpin.claims.services import rebuild_accumulator

    p = year_with_a_cancelled_january
    before = _ledger_rows()
    status, again = api("POST", "/settlements/RA/resettle")
    assert status == 201, again
    assert again["state"] == "valid"
    _assert_append_only(before, _ledger_rows(), "resettle")

    expected, expected_acc = _batch(policy, p, ["RA", "RB", "RC"])
    # The re-settled claim's own settlement is the in-order figure (what the desk's bill shows).
    assert {f: fen(again[f]) for f in FIELDS} == expected["RA"]
    assert again["adjusted"] is None
    got, acc = _year(api, p, ["RA", "RB", "RC"])
    assert got == expected
    assert acc == expected_acc == _stored_acc(p) == list(rebuild_accumulator(p.id_no, 2023))
    # The later claims' recompute is recorded as a re-settlement's, not a cancellation's.
    from fangpin.claims.models import ResettleRun

    assert list(ResettleRun.objects.values_list("kind", flat=True).order_by("id")) == [
        "cancel",
        "resettle",
    ]


def test_resettling_a_claim_again_is_refused_and_writes_nothing(
    api, policy, year_with_a_cancelled_january
):
    p = year_with_a_cancelled_january
    assert api("POST", "/settlements/RA/resettle")[0] == 201
    before = _ledger_rows()
    acc_before = _stored_acc(p)
    status, body = api("POST", "/settlements/RA/resettle")
    assert status == 409
    assert "RA" in body["detail"] and "冲销" in body["detail"]
    assert _ledger_rows() == before
    assert _stored_acc(p) == acc_before


def test_cancelling_a_resettled_claim_gives_the_later_claims_back_their_year_without_it(
    api, policy, year_with_a_cancelled_january
):
    """The re-settled claim's settlement row is the newest of the year, yet the claims dated
    after it depend on it: cancelling it again recomputes them."""
    from fangpin.claims.services import rebuild_accumulator

    p = year_with_a_cancelled_january
    assert api("POST", "/settlements/RA/resettle")[0] == 201
    before = _ledger_rows()
    status, body = api("POST", "/settlements/RA/cancel", {})
    assert status == 200 and body["state"] == "cancelled"
    _assert_append_only(before, _ledger_rows(), "cancel")

    expected, expected_acc = _batch(policy, p, ["RB", "RC"])
    got, acc = _year(api, p, ["RB", "RC"])
    assert got == expected
    assert acc == expected_acc == _stored_acc(p) == list(rebuild_accumulator(p.id_no, 2023))


def test_a_resettled_claim_dated_last_is_settled_on_the_year_so_far(api, policy):
    """With nothing dated after it, re-settling adds no adjustment anywhere."""
    from fangpin.claims.models import Adjustment

    p = make_person([IDENTITY])
    assert api("POST", "/settlements", claim("RL1", p.id_no, date="2023-02-01"))[0] == 201
    assert api("POST", "/settlements", claim("RL2", p.id_no, date="2023-06-01"))[0] == 201
    assert api("POST", "/settlements/RL2/cancel", {})[0] == 200
    assert api("POST", "/settlements/RL2/resettle")[0] == 201
    assert not Adjustment.objects.exists()
    expected, expected_acc = _batch(policy, p, ["RL1", "RL2"])
    got, acc = _year(api, p, ["RL1", "RL2"])
    assert got == expected and acc == expected_acc


def test_the_batch_helper_reads_the_stored_claims_unchanged(api, policy):
    """A claim settled alone online is what the batch pays it alone (the comparison is fair)."""
    p = make_person([IDENTITY])
    status, body = api("POST", "/settlements", claim("RS", p.id_no, date="2023-05-01"))
    assert status == 201
    expected, _ = _batch(policy, p, ["RS"])
    assert current(body) == expected["RS"]
