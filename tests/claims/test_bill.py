"""The settlement bill: the same figures as the engine's explanation, a printable page, access."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.claims.conftest import make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _settle(hospital, setl_id, psn, date, total, med_type=21, lv=3):
    from fangpin.claims.services import ClaimInput, settle_online

    return settle_online(
        hospital[0], ClaimInput(setl_id, psn, date, med_type, lv, True, True, total, 50_000)
    )


def test_frames_built_from_rows_have_the_validated_files_schema():
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.tabular.claims import validate_claims, validate_identities

    raw = pl.DataFrame(
        {
            "setl_id": ["A"],
            "psn_no": ["P"],
            "setl_date": ["2023-03-01"],
            "med_type": ["21"],
            "hosp_lv": ["2"],
            "in_province": ["1"],
            "referral": ["0"],
            "medfee_sumamt": ["300.00"],
            "fulamt_ownpay_amt": ["1.00"],
            "overlmt_selfpay": ["0"],
            "preselfpay_amt": ["0"],
        }
    )
    from_file = validate_claims(raw, row0=0).good
    ours = claim_frame(
        [
            {
                "setl_id": "A",
                "person_key": "P",
                "setl_date": dt.date(2023, 3, 1),
                "med_type": 21,
                "hosp_lv": 2,
                "in_province": True,
                "referral": False,
                "medfee_sumamt": 30_000,
                "fulamt_ownpay_amt": 100,
                "overlmt_selfpay": 0,
                "preselfpay_amt": 0,
                "inscp_scp_amt": 29_900,
            }
        ]
    )
    assert ours.schema == from_file.schema
    assert ours.to_dicts() == from_file.to_dicts()
    ids = validate_identities(
        pl.DataFrame(
            {
                "psn_no": ["P"],
                "psn_idet_type": ["低保对象"],
                "begndate": ["2023-01-01"],
                "enddate": [None],
            },
            schema_overrides={"enddate": pl.String},
        ),
        row0=0,
    ).good
    mine = identity_frame([("P", "低保对象", "低保", dt.date(2023, 1, 1), None)])
    assert mine.schema == ids.schema and mine.to_dicts() == ids.to_dicts()


def test_a_stored_settlements_bill_matches_the_engines_explanation(policy, hospital):
    from fangpin.claims.bill import explain_settlement
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.services import claim_dict
    from fangpin.engine.explain import explain_claim, render_bill

    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    outcomes = [
        _settle(hospital, "B1", p.id_no, dt.date(2023, 2, 1), 9_000_000),
        _settle(hospital, "B2", p.id_no, dt.date(2023, 5, 1), 3_000_000, med_type=14, lv=2),
        _settle(hospital, "B3", p.id_no, dt.date(2023, 9, 1), 12_000_000, lv=4),
    ]
    claims = claim_frame(claim_dict(o.claim) for o in outcomes)
    idents = identity_frame([(p.id_no, "低保对象", "低保", dt.date(2023, 1, 1), None)])
    for o in outcomes:
        ours = explain_settlement(o.claim, o.settlement, policy)
        theirs = explain_claim(policy, claims, idents, o.claim.setl_id)
        assert render_bill(ours) == render_bill(theirs)


def test_the_bill_page_prints_for_the_county_and_the_persons_township_only(
    policy, hospital, users, client_for, areas
):
    from fangpin.audit.models import AuditEntry

    p = make_person([("特困人员", dt.date(2023, 1, 1), None)], township=areas["豫海镇"])
    o = _settle(hospital, "P1", p.id_no, dt.date(2023, 3, 1), 6_000_000)
    url = "/claims/bill/P1/"
    page = client_for(users.county).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "医疗费用一站式结算单" in html and "@media print" in html
    assert f"{o.settlement.psn_part_amt // 100}.{o.settlement.psn_part_amt % 100:02d} 元" in html
    assert "医疗救助" in html and "610100" in html
    assert p.id_no in html  # county officers see whole ID numbers
    cadre = client_for(users.cadre).get(url)
    assert cadre.status_code == 200 and p.id_no not in cadre.content.decode()  # masked
    assert client_for(users.outsider).get(url).status_code == 404
    assert client_for(users.liaison).get(url).status_code == 403
    assert AuditEntry.objects.filter(action="view", obj_id="P1").count() == 2
