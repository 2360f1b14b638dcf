"""The ledger's year sums (claims.YearSum) stay exact through every kind of write.

After each write the kept table is held against a recomputation from settlements and
adjustments (tests/claims/yearsums.py). Real PostgreSQL, the services and commands themselves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fangpin.cli import main
from tests.claims.conftest import POLICY, make_person
from tests.claims.yearsums import assert_kept_exact, recomputed, stored

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

IDENTITY = ("低保对象", dt.date(2023, 1, 1), None)
HEADER = (
    "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,medfee_sumamt,"
    "fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt"
)
PAID = ",hifp_pay,hifmi_pay,maf_pay,oth_pay,hosp_part_amt,fund_pay_sumamt,psn_part_amt"


def _input(setl_id: str, psn_no: str, date: str, total: int = 3_000_000, med_type: int = 21):
    from fangpin.claims.services import ClaimInput

    return ClaimInput(
        setl_id=setl_id,
        psn_no=psn_no,
        setl_date=dt.date.fromisoformat(date),
        med_type=med_type,
        hosp_lv=2,
        in_province=True,
        referral=True,
        medfee_sumamt=total,
        fulamt_ownpay_amt=total // 30,
    )


def _settle(hospital, *args, **kw):
    from fangpin.claims.services import settle_online

    return settle_online(hospital[0], _input(*args, **kw))


def _write(path: Path, lines: list[str], paid: bool = False) -> Path:
    path.write_text("\n".join([HEADER + (PAID if paid else ""), *lines]) + "\n", encoding="utf-8")
    return path


def test_online_settlements_of_every_kind_and_year_are_counted_once_each(policy, hospital):
    p = make_person([IDENTITY])
    q = make_person(psn_no="PSN-Q-1")
    first = _settle(hospital, "S1", p.id_no, "2023-02-01", 4_000_000)
    _settle(hospital, "S2", p.id_no, "2023-03-01", 30_000, med_type=11)
    _settle(hospital, "S3", p.id_no, "2023-04-01", 600_000, med_type=14)
    _settle(hospital, "S4", p.id_no, "2024-01-10", 1_000_000)
    _settle(hospital, "S5", q.id_no, "2023-05-01", 2_000_000, med_type=23)  # 23 counts as 21
    _settle(hospital, "S1", p.id_no, "2023-02-01", 4_000_000)  # a replay writes nothing
    kept = assert_kept_exact()
    assert set(kept) == {(p.id_no, 2023), (p.id_no, 2024), ("PSN-Q-1", 2023)}
    year = kept[(p.id_no, 2023)]
    assert (year["n0"], year["n1"], year["n2"]) == (1, 1, 1)
    assert year["psn_part_amt_2"] == first.settlement.psn_part_amt
    assert year["inscp_scp_amt_2"] == first.claim.inscp_scp_amt
    assert year["maf_pay_2"] == first.settlement.maf_pay > 0  # 低保: assistance paid
    assert kept[("PSN-Q-1", 2023)]["n2"] == 1


def test_a_cancellation_takes_the_claim_away_and_the_later_claims_adjustments_count(
    policy, hospital
):
    from fangpin.claims.models import Adjustment
    from fangpin.claims.services import cancel_online

    p = make_person([IDENTITY])
    _settle(hospital, "C1", p.id_no, "2023-01-10", 6_000_000)
    _settle(hospital, "C2", p.id_no, "2023-03-10", 2_000_000)
    _settle(hospital, "C3", p.id_no, "2023-04-10", 3_000_000)
    cancel_online(hospital[0], "C1", "重复结算")
    assert Adjustment.objects.filter(claim__setl_id__in=["C2", "C3"]).exists()
    kept = assert_kept_exact()
    assert kept[(p.id_no, 2023)]["n2"] == 2
    cancel_online(hospital[0], "C1")  # cancelling again answers, and changes nothing
    assert stored() == kept
    for sid in ("C2", "C3"):
        cancel_online(hospital[0], sid)
    assert stored() == {} and recomputed() == {}


def test_a_resettled_claim_counts_again_with_the_later_claims_recomputed(policy, hospital):
    from fangpin.claims.models import Adjustment
    from fangpin.claims.services import cancel_online, resettle_online

    p = make_person([IDENTITY])
    _settle(hospital, "R1", p.id_no, "2023-01-10", 6_000_000)
    _settle(hospital, "R2", p.id_no, "2023-03-10", 2_000_000)
    cancel_online(hospital[0], "R1", "身份待核")
    _settle(hospital, "R3", p.id_no, "2023-04-05", 3_000_000)
    adjusted = Adjustment.objects.count()
    resettle_online(hospital[0], "R1")
    assert Adjustment.objects.count() > adjusted  # R2 and R3 recomputed behind R1
    kept = assert_kept_exact()
    assert kept[(p.id_no, 2023)]["n2"] == 3


def test_the_monthly_batch_adds_its_claims_many_person_years_at_once(tmp_path, policy):
    """Three hundred person-years in one chunk: the sums go in through COPY."""
    from fangpin.claims import sums
    from fangpin.claims.models import YearSum

    p = make_person([("特困人员", dt.date(2022, 6, 1), None)])
    lines = [f"B{i:04d},OUT-{i:04d},2023-01-{1 + i % 28:02d},11,1,1,1,{100 + i}.00,0,0,0" for i in range(300)]  # fmt: skip
    lines += [
        f"BP1,{p.id_no},2023-01-05,21,3,1,1,80000.00,2000.00,0,0",
        f"BP2,{p.id_no},2023-01-20,14,2,1,1,6000.00,0,0,0",
        f"BP3,{p.id_no},2023-02-11,21,3,1,1,50000.00,0,0,0",
        "BP4,OUT-0001,2023-02-11,21,1,1,1,9000.00,0,0,0",
    ]
    f = _write(tmp_path / "2023-01.csv", lines)
    assert main(["import-claims", str(f), "--policy", POLICY]) == 0
    assert not YearSum.objects.exists()  # claims to settle here count once settled
    assert main(["settle-month", "--year", "2023", "--month", "1", "--policy", POLICY]) == 0
    assert len(assert_kept_exact()) == 301 > sums.SMALL
    assert main(["settle-month", "--year", "2023", "--month", "2", "--policy", POLICY]) == 0
    kept = assert_kept_exact()
    assert (kept[(p.id_no, 2023)]["n1"], kept[(p.id_no, 2023)]["n2"]) == (1, 2)
    assert (kept[("OUT-0001", 2023)]["n0"], kept[("OUT-0001", 2023)]["n2"]) == (1, 1)


def test_claims_paid_elsewhere_count_at_import_even_two_files_in_one_transaction(tmp_path, policy):
    from django.db import transaction

    from fangpin.claims.batch import import_claims

    def paid(prefix: str, n: int, date: str) -> list[str]:
        # 1,000 yuan: 600 basic, 100 assistance, 300 borne by the person
        return [
            f"{prefix}{i:04d},EXT-{i:04d},{date},21,2,0,1,1000.00,0,0,0,600.00,0,100.00,0,0,700.00,300.00"
            for i in range(n)
        ]  # fmt: skip

    first = _write(tmp_path / "a.csv", paid("E", 250, "2023-06-01"), paid=True)
    second = _write(tmp_path / "b.csv", paid("F", 3, "2024-02-01"), paid=True)
    with transaction.atomic():
        import_claims(first, policy)
        import_claims(second, policy)
    kept = assert_kept_exact()
    assert len(kept) == 253
    assert kept[("EXT-0001", 2023)] == {
        **dict.fromkeys(kept[("EXT-0001", 2023)], 0),
        "n2": 1,
        "psn_part_amt_2": 30_000,
        "inscp_scp_amt_2": 100_000,
        "hifp_pay_2": 60_000,
        "maf_pay_2": 10_000,
    }
    assert kept[("EXT-0002", 2024)]["n2"] == 1


def test_missed_benefits_adjustments_lower_the_burden_the_sums_hold(policy, hospital):
    from fangpin.claims.models import Adjustment
    from fangpin.claims.resettle import missed_benefits
    from fangpin.people.models import Identity

    p = make_person()
    before = _settle(hospital, "M1", p.id_no, "2023-01-15", 4_000_000)
    assert before.settlement.group == ""
    Identity.objects.create(
        person=p, name="低保对象", group="低保", department="民政", begin=dt.date(2023, 1, 1)
    )
    missed_benefits(policy, 2023)
    [adj] = Adjustment.objects.all()
    kept = assert_kept_exact()
    year = kept[(p.id_no, 2023)]
    assert year["psn_part_amt_2"] == before.settlement.psn_part_amt + adj.psn_part_amt
    assert adj.psn_part_amt < 0 and year["n2"] == 1
    missed_benefits(policy, 2023)  # a re-run finds nothing and adds nothing
    assert stored() == kept


def test_a_rebuild_recomputes_the_table_from_the_ledger_for_one_year_or_all(policy, hospital):
    from fangpin.claims.models import YearSum
    from fangpin.claims.services import cancel_online
    from fangpin.claims.sums import rebuild_year_sums

    p = make_person([IDENTITY])
    _settle(hospital, "Y1", p.id_no, "2023-01-10", 6_000_000)
    _settle(hospital, "Y2", p.id_no, "2023-03-10", 2_000_000, med_type=14)
    _settle(hospital, "Y3", p.id_no, "2024-03-10", 2_000_000)
    cancel_online(hospital[0], "Y1")
    kept = assert_kept_exact()
    YearSum.objects.update(n1=99, psn_part_amt_2=-1)  # spoil both years
    assert rebuild_year_sums(2023) == 1
    assert stored()[(p.id_no, 2023)] == kept[(p.id_no, 2023)]
    assert stored()[(p.id_no, 2024)]["n1"] == 99  # the other year untouched
    YearSum.objects.all().delete()
    assert rebuild_year_sums() == 2
    assert stored() == kept
