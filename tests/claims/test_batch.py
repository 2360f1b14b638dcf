"""The monthly batch: import-claims and settle-month, through the `fangpin` command."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from fangpin.cli import main
from tests.claims.conftest import POLICY, make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HEADER = (
    "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,medfee_sumamt,"
    "fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt"
)
PAID = ",hifp_pay,hifmi_pay,maf_pay,oth_pay,hosp_part_amt,fund_pay_sumamt,psn_part_amt"


def write(path: Path, lines: list[str], paid: bool = False) -> Path:
    path.write_text("\n".join([HEADER + (PAID if paid else ""), *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def person(policy):
    return make_person([("特困人员", dt.date(2022, 6, 1), None)])


def test_a_months_file_is_imported_once_and_settled_month_by_month_as_the_batch_engine_does(
    tmp_path, person, policy, capsys
):
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.models import Accumulator, Claim, ClaimImport, ImportReject, Settlement
    from fangpin.claims.services import claim_dict, rebuild_accumulator
    from fangpin.engine import kernel as k
    from fangpin.engine.settle import settle_batch

    pid = person.id_no
    f = write(
        tmp_path / "2023-01.csv",
        [
            f"M1,{pid},2023-01-05,21,3,1,1,80000.00,2000.00,0,0",
            f"M2,{pid},2023-01-20,14,2,1,1,6000.00,0,0,0",
            f"M3,{pid},2023-02-11,21,4,1,0,150000.00,50000.00,500.00,0",
            "M4,OTHER-1,2023-02-11,11,1,1,1,300.00,0,0,0",
            f"M5,{pid},2023-02-12,21,2,1,1,100.00,200.00,0,0",  # policy scope below zero
        ],
    )
    assert main(["import-claims", str(f), "--policy", POLICY]) == 1
    assert "4 new claims" in capsys.readouterr().out
    [reject] = ImportReject.objects.all()
    assert reject.row == 6 and reject.setl_id == "M5" and "inscp_scp_amt" in reject.reason
    assert main(["import-claims", str(f), "--policy", POLICY]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert ClaimImport.objects.count() == 1 and Claim.objects.count() == 4

    assert main(["settle-month", "--year", "2023", "--month", "1", "--policy", POLICY]) == 0
    assert Settlement.objects.count() == 2
    assert main(["settle-month", "--year", "2023", "--month", "2", "--policy", POLICY]) == 0
    assert (
        main(["settle-month", "--year", "2023", "--month", "2", "--policy", POLICY]) == 0
    )  # re-run: nothing
    assert "settled 0 claims" in capsys.readouterr().out.splitlines()[-1]
    assert Settlement.objects.count() == 4

    claims = list(Claim.objects.order_by("setl_id"))
    idents = identity_frame([(pid, "特困人员", "特困", dt.date(2022, 6, 1), None)])
    whole = settle_batch(policy, claim_frame(claim_dict(c) for c in claims), idents).claims
    for c, row in zip(claims, whole.iter_rows(named=True), strict=True):
        s = Settlement.objects.get(claim=c)
        assert [getattr(s, f) for f in k.OUT_COLUMNS[:-1]] == [
            row[f] for f in k.OUT_COLUMNS[:-1]
        ], c.setl_id
        assert s.group == (row["group"] or "")
    acc = Accumulator.objects.get(person_key=pid, year=2023)
    assert [getattr(acc, n) for n in k.ACC_NAMES] == list(rebuild_accumulator(pid, 2023))
    assert (
        Settlement.objects.get(claim__setl_id="M3").hosp_part_amt > 0
    )  # 特困: excess borne by the hospital


def test_claims_paid_elsewhere_count_in_the_year_and_an_online_claim_continues_from_them(
    tmp_path, person, policy, hospital
):
    from fangpin.claims.models import Accumulator, ImportReject, Settlement
    from fangpin.claims.services import ClaimInput, settle_online

    pid = person.id_no
    f = write(
        tmp_path / "other-province.csv",
        [
            f"X1,{pid},2023-01-05,21,4,0,0,50000.00,0,0,0,30000.00,5000.00,4000.00,0,0,39000.00,11000.00",
            f"X2,{pid},2023-01-06,21,4,0,0,50000.00,0,0,0,30000.00,5000.00,4000.00,0,0,39999.00,10001.00",
        ],
        paid=True,
    )
    assert main(["import-claims", str(f), "--policy", POLICY]) == 1
    assert "fund_pay_sumamt" in ImportReject.objects.get().reason
    s = Settlement.objects.get(claim__setl_id="X1")
    assert s.source == "external" and s.maf_pay == 400_000 and s.acc_before is None
    acc = Accumulator.objects.get(person_key=pid, year=2023)
    assert (acc.paid1, acc.cum2, acc.paid2, acc.paid3) == (3_000_000, 2_000_000, 500_000, 400_000)
    o = settle_online(
        hospital[0], ClaimInput("X3", pid, dt.date(2023, 3, 1), 21, 2, True, True, 1_000_000)
    )
    assert o.settlement.acc_before[0] == 3_000_000  # carried from the imported claim


def test_a_known_setl_id_in_a_later_file_is_skipped(tmp_path, person, policy, capsys):
    from fangpin.claims.models import Claim

    pid = person.id_no
    write(tmp_path / "a.csv", [f"K1,{pid},2023-05-05,11,1,1,1,200.00,0,0,0"])
    write(
        tmp_path / "b.csv",
        [f"K1,{pid},2023-05-05,11,1,1,1,200.00,0,0,0", f"K2,{pid},2023-05-06,11,1,1,1,90.00,0,0,0"],
    )
    assert main(["import-claims", str(tmp_path / "a.csv"), "--policy", POLICY]) == 0
    assert main(["import-claims", str(tmp_path / "b.csv"), "--policy", POLICY]) == 0
    assert "1 new claims" in capsys.readouterr().out.splitlines()[-1]
    assert Claim.objects.count() == 2


def test_an_unknown_institution_or_missing_payment_column_is_a_usage_error(
    tmp_path, policy, capsys
):
    f = write(tmp_path / "a.csv", ["K1,P,2023-05-05,11,1,1,1,200.00,0,0,0"])
    assert main(["import-claims", str(f), "--institution", "NOPE"]) == 2
    df = pl.read_csv(f, infer_schema=False).with_columns(pl.lit("1.00").alias("hifp_pay"))
    df.write_csv(tmp_path / "b.csv")
    assert main(["import-claims", str(tmp_path / "b.csv")]) == 2
    assert "hifmi_pay" in capsys.readouterr().err
