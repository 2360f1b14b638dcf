"""Screening straight from the claims ledger: the same result as the engine's own settlement,
cancelled claims counting nothing and re-settled claims counting their adjustments."""

import polars as pl
import pytest
from django.apps import apps

from fangpin.warnings.models import Case
from fangpin.warnings.services import run_screening
from fangpin.warnings.sources import (
    AMOUNT_COLUMNS,
    load_screening_sums,
    load_settled_claims,
    screening_identities,
)
from tests.warnings.helpers import D, inpatient, person, settled

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not apps.is_installed("fangpin.claims"), reason="claims ledger not installed"
    ),
]

PACK = "ningxia-wuzhong-2025"


def settle(institution, who, setl_id: str, date: str, yuan: int):
    from fangpin.claims.services import ClaimInput, settle_online
    from fangpin.policy.registry import load_pack

    return settle_online(
        institution,
        ClaimInput(
            setl_id=setl_id,
            psn_no=who.id_no,
            setl_date=D.fromisoformat(date),
            med_type=21,
            hosp_lv=2,
            in_province=True,
            referral=True,
            medfee_sumamt=yuan * 100,
        ),  # fmt: skip
        pack=load_pack(PACK),
    )


@pytest.fixture
def institution():
    from fangpin.claims.models import Institution

    return Institution.objects.create(code="H64032400001", name="同心县人民医院")


def test_the_ledger_gives_the_engines_own_figures_and_the_same_cases(institution, settings):
    settings.FANGPIN_POLICY = PACK
    p, q = person(), person(identities=(("低保对象", "2024-01-01"),))
    settle(institution, p, "A1", "2025-08-10", 25_000)
    settle(institution, p, "A2", "2025-09-20", 120_000)
    settle(institution, q, "B1", "2025-03-01", 400_000)
    settle(institution, q, "B2", "2025-10-20", 9_000)  # after the screening date: not counted
    frame = load_settled_claims(2025, D(2025, 9, 26)).sort("psn_no", "setl_date")
    # p: 5,400 + 15,520 = 20,920 (see test_screening_runs); q (低保): 8,650 (see the household test)
    sums = dict(frame.group_by("psn_no").agg(pl.col("psn_part_amt").sum()).iter_rows())
    assert sums == {p.id_no: 2092000, q.id_no: 865000}
    assert frame["kind"].to_list() == [2, 2, 2]
    idents = screening_identities(D(2025, 9, 26))
    assert idents.to_dicts() == [
        {"psn_no": q.id_no, "group_bit": 2, "begndate": D(2024, 1, 1), "enddate": None}
    ]
    out = run_screening(D(2025, 9, 26), PACK)  # no frame given: the ledger is read
    assert out.run.source == "ledger" and out.run.claims == 3
    from_ledger = sorted(Case.objects.values_list("psn_no", "rule", "level", "amount_latest"))
    assert from_ledger == [
        (p.id_no, "three-colour", "红色", 2092000),
        (q.id_no, "three-colour", "黄色", 865000),
    ]
    # the engine on the same claims, settled as one batch, flags exactly the same
    batch = settled(
        PACK,
        [
            inpatient(p, "2025-08-10", "25000.00"),
            inpatient(p, "2025-09-20", "120000.00"),
            inpatient(q, "2025-03-01", "400000.00"),
        ],
        [{"psn_no": q.id_no, "psn_idet_type": "低保对象", "begndate": "2024-01-01"}],
    )
    from fangpin.engine.screen import screen
    from fangpin.policy.registry import load_pack

    engine = screen(load_pack(PACK), batch, idents, D(2025, 9, 26))
    assert engine.equals(out.flagged)
    per_claim = screen(
        load_pack(PACK), load_settled_claims(2025, D(2025, 9, 26)), idents, D(2025, 9, 26)
    )
    assert per_claim.equals(out.flagged)


def test_a_cancelled_claim_counts_nothing_and_later_claims_count_their_adjustments(
    institution, settings
):
    from fangpin.claims.services import cancel_online

    settings.FANGPIN_POLICY = PACK
    p = person()
    settle(institution, p, "A1", "2025-08-10", 25_000)
    settle(institution, p, "A2", "2025-09-20", 120_000)
    cancel_online(institution, "A1", "重复结算")
    # A2 alone: hifp 95,600; CI base 24,400 → (24,400 − 15,000) × 0.60 = 5,640;
    # burden 120,000 − 95,600 − 5,640 = 18,760 (the re-settlement's adjustment counts)
    frame = load_settled_claims(2025, D(2025, 9, 26))
    assert frame.select("psn_no", "psn_part_amt").rows() == [(p.id_no, 1876000)]
    # the sums the run screens: the same burden, one valid claim, the scope counted once
    sums = load_screening_sums(2025, D(2025, 9, 26), AMOUNT_COLUMNS)
    assert sums.select("psn_no", "med_type", "claims", "psn_part_amt", "inscp_scp_amt").rows() == [
        (p.id_no, 21, 1, 1876000, 12000000)
    ]
    assert sums.select(AMOUNT_COLUMNS).sum().rows() == frame.select(AMOUNT_COLUMNS).sum().rows()
    run_screening(D(2025, 9, 26), PACK)
    assert list(Case.objects.values_list("level", "amount_latest")) == [("橙色", 1876000)]
