"""A small county's claims year through the monthly batch, and the ledger it leaves as plain data.

`build` imports claims files (to settle here, already paid elsewhere, a repeated and a rejected
row), settles two months, learns an identity late, runs missed benefits twice and returns every
row the batch wrote, keyed by what does not depend on the database (setl_id, person key),
never by row ids. The same world on two databases, or with the batch cut into parts of other
sizes, must give the same data.

Run as a module it builds the world on the database the environment names (the embedded SQLite
file of FANGPIN_HOME when FANGPIN_DATABASE_URL is empty) and writes the data as JSON:

    python -m tests.claims.batch_world OUT.json [--chunk N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from tests.people.factories import make_id

POLICY = "shanxi-linxian-2023"
HEADER = (
    "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,medfee_sumamt,"
    "fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt"
)
PAID = ",hifp_pay,hifmi_pay,maf_pay,oth_pay,hosp_part_amt,fund_pay_sumamt,psn_part_amt"

# Fixed numbers, so both databases hold the same people.
P1, P2, P3, P4, P5 = (make_id("19580101", n) for n in (901, 902, 903, 904, 905))
PSN4 = "PSN-904"


def _people() -> None:
    from fangpin.people.models import Identity, Person
    from fangpin.policy.groups import IDENTITIES

    identities = {
        P1: [("特困人员", dt.date(2022, 6, 1), None)],
        P2: [("低保对象", dt.date(2023, 2, 1), None)],
        P3: [],  # learnt late, see build
        P4: [
            ("边缘易致贫户", dt.date(2022, 1, 1), None),
            ("1-2级残疾人", dt.date(2023, 1, 10), None),
        ],
        P5: [("低保对象", dt.date(2021, 3, 1), dt.date(2023, 1, 20))],
    }
    for n, (id_no, rows) in enumerate(identities.items()):
        person = Person.objects.create(
            id_no=id_no, psn_no=PSN4 if id_no == P4 else None, name=f"批量{n}"
        )
        for name, begin, end in rows:
            group, dept = IDENTITIES[name]
            Identity.objects.create(
                person=person, name=name, group=group, department=dept, begin=begin, end=end
            )


def _write(path: Path, lines: list[str], paid: bool = False) -> Path:
    path.write_text("\n".join([HEADER + (PAID if paid else ""), *lines]) + "\n", encoding="utf-8")
    return path


def _files(work: Path) -> tuple[Path, Path, Path]:
    january = _write(
        work / "2023-01.csv",
        [
            f"A1,{P1},2023-01-05,21,3,1,1,80000.00,2000.00,0,0",
            f"A2,{P1},2023-01-20,14,2,1,1,6000.00,0,0,0",
            f"A3,{P1},2023-01-20,11,1,1,1,300.00,0,0,0",
            f"A4,{P2},2023-01-11,21,2,1,1,20000.00,500.00,0,0",
            f"A5,{P3},2023-01-08,21,3,1,1,120000.00,3000.00,0,0",
            f"A6,{P4},2023-01-09,21,2,1,0,30000.00,0,0,0",
            f"A7,{PSN4},2023-01-15,14,2,1,1,8000.00,0,0,0",
            f"A8,{P5},2023-01-19,21,2,1,1,25000.00,0,0,0",
            f"A9,{P5},2023-01-25,21,2,1,1,25000.00,0,0,0",
            "A10,OTHER-9,2023-01-12,11,1,1,1,250.00,0,0,0",
            f"B1,{P2},2023-02-03,21,2,1,1,20000.00,500.00,0,0",  # settled with February
        ],
    )
    february = _write(
        work / "2023-02.csv",
        [
            f"A1,{P1},2023-01-05,21,3,1,1,80000.00,2000.00,0,0",  # known: skipped
            f"B2,{P1},2023-02-14,21,4,1,0,150000.00,50000.00,500.00,0",
            f"B3,{P3},2023-02-02,11,1,1,1,180.00,0,0,0",
            f"B4,{P4},2023-02-20,21,3,0,1,60000.00,1000.00,0,0",
            f"B5,{P4},2023-02-20,11,1,1,1,90.00,0,0,0",
            f"B6,{P1},2023-02-12,21,2,1,1,100.00,200.00,0,0",  # policy scope below zero
            "B7,OTHER-9,2023-02-28,21,2,1,1,9000.00,0,0,0",
        ],
    )
    elsewhere = _write(
        work / "elsewhere.csv",
        [
            f"X1,{P1},2023-02-05,21,4,0,0,50000.00,0,0,0,30000.00,5000.00,4000.00,0,0,39000.00,11000.00",
            f"X2,{P4},2023-01-30,21,4,0,0,20000.00,0,0,0,12000.00,0,0,0,0,12000.00,8000.00",
        ],
        paid=True,
    )
    return january, february, elsewhere


def build(work: Path, chunk: int | None = None) -> dict:
    """Run the world's year on the configured database and return what the ledger holds."""
    from fangpin.claims import batch, resettle
    from fangpin.people.models import Identity, Person
    from fangpin.policy.registry import load_pack

    if chunk is not None:
        batch.CHUNK = resettle.CHUNK = chunk
    pack = load_pack(POLICY)
    work.mkdir(parents=True, exist_ok=True)
    _people()
    january, february, elsewhere = _files(work)
    steps = []
    outcome = batch.import_claims(january, pack)
    steps.append(["import", outcome.claim_import.rows_new, outcome.claim_import.rows_rejected])
    steps.append(["settle", *_summary(batch.settle_month(pack, 2023, 1))])
    Identity.objects.create(
        person=Person.objects.get(id_no=P3),
        name="低保对象",
        group="低保",
        department="民政",
        begin=dt.date(2023, 1, 1),
    )
    for f in (february, elsewhere):
        outcome = batch.import_claims(f, pack)
        steps.append(["import", outcome.claim_import.rows_new, outcome.claim_import.rows_rejected])
    steps.append(["settle", *_summary(batch.settle_month(pack, 2023, 2))])
    steps.append(["settle", *_summary(batch.settle_month(pack, 2023, 2))])  # nothing left
    for _ in range(2):  # the second run finds nothing new
        run = resettle.missed_benefits(pack, 2023).run
        steps.append(["missed", run.person_years, run.claims, run.adjustments, run.notices,
                      run.due_total, run.overpaid_total])  # fmt: skip
    return {"steps": steps, **ledger()}


def _summary(s) -> list[int]:
    return [s.claims, s.person_years, s.fund, s.earlier_unsettled]


def ledger() -> dict:
    """Every row of the claims ledger, as lists keyed by setl_id and person key."""
    from fangpin.claims.models import (
        RESULT_FIELDS,
        Accumulator,
        Adjustment,
        Claim,
        ImportReject,
        Notice,
        Overpaid,
        Settlement,
        YearSum,
    )
    from fangpin.claims.sums import COLUMNS
    from fangpin.engine import kernel as k

    claim_fields = ("setl_id", "psn_no", "person_key", "person__id_no", "setl_date", "med_type",
                    "hosp_lv", "in_province", "referral", "medfee_sumamt", "fulamt_ownpay_amt",
                    "inscp_scp_amt", "source", "claim_import__file_name")  # fmt: skip
    settlement_fields = ("claim__setl_id", "kind", "source", *RESULT_FIELDS, "group",
                         "group_mask", "identities", "acc_before", "pack_id", "reason")  # fmt: skip
    tables = {
        "claims": Claim.objects.values_list(*claim_fields),
        "settlements": Settlement.objects.values_list(*settlement_fields),
        "adjustments": Adjustment.objects.values_list("claim__setl_id", *RESULT_FIELDS, "group"),
        "accumulators": Accumulator.objects.values_list("person_key", "year", *k.ACC_NAMES),
        "year_sums": YearSum.objects.values_list("person_key", "year", *COLUMNS),
        "notices": Notice.objects.values_list("person_key", "year", "amount", "state"),
        "overpaid": Overpaid.objects.values_list("person_key", "year", "amount"),
        "rejects": ImportReject.objects.values_list(
            "claim_import__file_name", "row", "setl_id", "reason"
        ),
    }
    # Sorted by their JSON text: rows may hold None where others hold a list.
    return {
        name: sorted((list(r) for r in rows), key=lambda r: json.dumps(r, default=str))
        for name, rows in tables.items()
    }


def as_json(data: dict) -> dict:
    """The data as JSON gives it back (dates as text, tuples as lists)."""
    return json.loads(json.dumps(data, default=str))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.claims.batch_world")
    ap.add_argument("out", type=Path)
    ap.add_argument("--chunk", type=int)
    args = ap.parse_args(argv)
    from fangpin.people.bootstrap import setup_django

    setup_django()
    from django.db import connection

    data = build(args.out.parent / "files", args.chunk)
    args.out.write_text(json.dumps({"vendor": connection.vendor, **as_json(data)}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
