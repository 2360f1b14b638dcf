"""Screening sums read from the ledger's kept year sums give what the claims themselves give,
whatever the screening date: the kept rows as they stand, less the claims dated after the date,
or the claims up to the date summed directly when those are the fewer."""

from __future__ import annotations

import polars as pl
import pytest
from django.apps import apps

from tests.warnings.helpers import D, person

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not apps.is_installed("fangpin.claims"), reason="claims ledger not installed"
    ),
]

PACK = "ningxia-wuzhong-2025"


@pytest.fixture
def institution(settings):
    from fangpin.claims.models import Institution

    settings.FANGPIN_POLICY = PACK
    return Institution.objects.create(code="H64032400009", name="同心县中医医院")


def settle(institution, who, setl_id: str, date: str, yuan: int, med_type: int = 21):
    from fangpin.claims.services import ClaimInput, settle_online
    from fangpin.policy.registry import load_pack

    return settle_online(
        institution,
        ClaimInput(
            setl_id=setl_id,
            psn_no=who.id_no,
            setl_date=D.fromisoformat(date),
            med_type=med_type,
            hosp_lv=2,
            in_province=True,
            referral=True,
            medfee_sumamt=yuan * 100,
            fulamt_ownpay_amt=yuan * 5,
        ),  # fmt: skip
        pack=load_pack(PACK),
    )


def per_claim(year: int, upto):
    """The sums the claims themselves give: the per-claim path grouped per person and kind."""
    from fangpin.warnings.sources import AMOUNT_COLUMNS, load_settled_claims

    frame = load_settled_claims(year, upto)
    return (
        frame.group_by("psn_no", "kind")
        .agg(pl.len().cast(pl.Int64).alias("claims"), *(pl.col(c).sum() for c in AMOUNT_COLUMNS))
        .sort("psn_no", "kind")
        .select("psn_no", "kind", "claims", *AMOUNT_COLUMNS)
    )


def from_sums(year: int, upto, measures=None):
    from fangpin.warnings.sources import AMOUNT_COLUMNS, load_screening_sums

    sums = load_screening_sums(year, upto, measures or AMOUNT_COLUMNS)
    assert sums["setl_date"].unique().to_list() in ([], [min(upto, D(year, 12, 31))])
    return sums.sort("psn_no", "kind").select("psn_no", "kind", "claims", *AMOUNT_COLUMNS)


def how(year: int, upto) -> str:
    from fangpin.warnings.sources import AMOUNT_COLUMNS, screening_sums_wide

    return screening_sums_wide(year, upto, AMOUNT_COLUMNS)[1]


@pytest.fixture
def year(institution):
    """Two people's year: claims of three kinds, a cancelled one with later claims recomputed
    (adjustments), a cancelled claim in November, and one of the next year."""
    from fangpin.claims.services import cancel_online

    p = person()
    q = person(identities=(("低保对象", "2024-01-01"),))
    settle(institution, p, "P1", "2025-02-10", 60_000)
    settle(institution, p, "P2", "2025-03-05", 300, med_type=11)
    settle(institution, p, "P3", "2025-04-20", 6_000, med_type=14)
    settle(institution, p, "P4", "2025-06-01", 25_000)
    settle(institution, q, "Q1", "2025-01-15", 40_000)
    settle(institution, q, "Q2", "2025-05-15", 120_000, med_type=24)
    cancel_online(institution, "P1", "重复结算")  # P4 is recomputed: an adjustment
    settle(institution, q, "Q3", "2025-07-20", 9_000)
    settle(institution, p, "P5", "2025-11-02", 15_000)
    cancel_online(institution, "P5")
    settle(institution, p, "N1", "2026-01-05", 80_000)
    return p, q


def test_with_no_claim_after_the_date_the_kept_rows_are_the_answer(year):
    from fangpin.claims.models import Adjustment

    assert Adjustment.objects.exists()
    assert how(2025, D(2026, 3, 1)) == "kept"  # past the year: its last day, nothing counted
    assert from_sums(2025, D(2025, 12, 31)).equals(per_claim(2025, D(2025, 12, 31)))
    assert how(2025, D(2025, 11, 10)) == "kept"
    assert from_sums(2025, D(2025, 11, 10)).equals(per_claim(2025, D(2025, 11, 10)))
    # only the cancelled November claim comes after October: taken away, it changes nothing
    assert how(2025, D(2025, 10, 31)) == "kept-less-later"
    assert from_sums(2025, D(2025, 10, 31)).equals(per_claim(2025, D(2025, 10, 31)))
    assert from_sums(2026, D(2026, 1, 31)).equals(per_claim(2026, D(2026, 1, 31)))
    assert how(2026, D(2026, 1, 31)) == "kept"
    assert per_claim(2025, D(2025, 12, 31))["claims"].sum() == 6  # P1 and P5 count nothing


def test_a_date_with_few_later_claims_takes_them_away_from_the_kept_rows(year):
    p, q = year
    upto = D(2025, 5, 20)  # Q3 (July), P4 (June) and the cancelled P5 come after
    assert how(2025, upto) == "kept-less-later"
    got = from_sums(2025, upto)
    assert got.equals(per_claim(2025, upto))
    assert got.filter(pl.col("psn_no") == p.id_no)["kind"].to_list() == [0, 1]  # P2, P3
    assert got.filter(pl.col("psn_no") == q.id_no)["claims"].to_list() == [2]  # Q1, Q2 (24)


def test_a_date_with_more_claims_after_it_than_before_sums_the_claims_up_to_it(year):
    upto = D(2025, 2, 1)  # only Q1 before; nine claims after
    assert how(2025, upto) == "summed"
    got = from_sums(2025, upto)
    assert got.equals(per_claim(2025, upto)) and got.height == 1
    assert from_sums(2025, D(2024, 12, 31)).height == 0  # before the year: nothing


def test_one_measure_alone_leaves_the_other_amounts_zero(year):
    from fangpin.warnings.sources import load_screening_sums

    upto = D(2025, 6, 15)
    only = load_screening_sums(2025, upto, ("psn_part_amt",)).sort("psn_no", "kind")
    full = per_claim(2025, upto)
    assert only["psn_part_amt"].to_list() == full["psn_part_amt"].to_list()
    assert only["claims"].to_list() == full["claims"].to_list()
    assert only["hifp_pay"].sum() == 0 and full["hifp_pay"].sum() > 0


def test_screening_on_a_mid_year_date_with_later_claims_flags_as_the_per_claim_path(year):
    from fangpin.engine.screen import screen
    from fangpin.policy.registry import load_pack
    from fangpin.warnings.services import run_screening
    from fangpin.warnings.sources import load_settled_claims, screening_identities

    p, q = year
    pack = load_pack(PACK)
    flagged = []
    for upto in (D(2025, 5, 20), D(2025, 2, 1), D(2025, 12, 31)):
        out = run_screening(upto, PACK)
        expected = screen(pack, load_settled_claims(2025, upto), screening_identities(upto), upto)
        assert out.flagged.equals(expected), upto
        flagged.append(sorted(out.flagged["psn_no"].to_list()))
        assert out.run.claims == per_claim(2025, upto)["claims"].sum()
    # q is flagged in May (the June and July claims not yet counted), p only by the year's end
    assert flagged == [[q.id_no], [], sorted([p.id_no, q.id_no])]


def test_the_kept_table_holds_every_amount_a_screening_may_sum():
    from fangpin.claims.models import SUM_AMOUNTS
    from fangpin.warnings.sources import AMOUNT_COLUMNS

    assert tuple(SUM_AMOUNTS) == AMOUNT_COLUMNS
