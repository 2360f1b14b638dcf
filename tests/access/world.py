"""Records in 豫海镇, built on demand, for the access matrix over every view.

Each property builds its record the first time it is asked for, through the same services
the apps use (the department list import, the reconciliation run, the screening run, online
settlement, the missed-benefit run, the claims import), so a test pays only for what its route
needs. Every person has a name no other record shares: a list page shows it to 豫海镇's cadre
and must not show it to 河西镇's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cached_property
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.fixtures_users import Users
from tests.people.factories import make_id, write_workbook, wrong_check

D = dt.date
# Claims and notices are settled under this pack: it has every tier of the three-tier payout.
CLAIMS_PACK = "shanxi-linxian-2023"
SCREENING_PACK = "ningxia-shizuishan-2025"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
_seq = itertools.count(500)

# The distinctive names, one per record, that list pages are checked for.
FILE_PERSON = "豫海档案甲"
UNENROLLED_PERSON = "豫海未参保乙"
NEWBORN = "豫海新生丙"
CASE_PERSON = "豫海预警丁"
CLAIM_PERSON = "豫海结算戊"
NOTICE_PERSON = "豫海通知己"
OVERPAID_PERSON = "豫海应退庚"
UPLOAD_FILE = "民政-豫海-202503.xlsx"
CLAIM_SETL = "YH-S-0001"
IMPORT_FILE = "豫海-2023-07.csv"


class World:
    """豫海镇's records; `areas` and `users` are the fixtures of tests/fixtures_users.py."""

    def __init__(self, areas: dict[str, Any], users: Users, tmp_path: Path) -> None:
        self.areas = areas
        self.users = users
        self.tmp = tmp_path
        self.yuhai = areas["豫海镇"]

    # --- people ------------------------------------------------------------------------------

    def person(self, name: str, identities: tuple[tuple[str, D, D | None], ...] = ()) -> Any:
        """A ledger person of 豫海镇 with dated identities (canonical names, RULES §1)."""
        from fangpin.people.models import Identity, Person
        from fangpin.policy.groups import IDENTITIES

        p = Person.objects.create(
            id_no=make_id("19600101", next(_seq) % 1000),
            name=name,
            township=self.yuhai,
            household=None,
        )
        for ident, begin, end in identities:
            group, dept = IDENTITIES[ident]
            Identity.objects.create(
                person=p, name=ident, group=group, department=dept, begin=begin, end=end
            )
        return p

    @cached_property
    def household(self) -> Any:
        from fangpin.people.models import Household

        return Household.objects.create(number="YH-H-001", township=self.yuhai)

    @cached_property
    def file_person(self) -> Any:
        """A 低保 person of 豫海镇 in household YH-H-001: the person file and household file."""
        p = self.person(FILE_PERSON, (("低保对象", D(2024, 1, 1), None),))
        p.household = self.household
        p.save(update_fields=["household"])
        return p

    @cached_property
    def upload(self) -> Any:
        """民政's list sent by the county: one 豫海镇 row taken in, one rejected (bad ID)."""
        from fangpin.people.services import import_list

        path = write_workbook(
            self.tmp / UPLOAD_FILE,
            ["乡镇", "姓名", "身份证号", "人员类别", "认定日期"],
            [
                ["豫海镇", "豫海名单甲", make_id("19810303", 31), "低保对象", "2024-01-01"],
                ["豫海镇", "豫海名单乙", wrong_check(make_id("19820404", 32)), "低保对象", ""],
            ],
        )
        return import_list("民政", path, D(2025, 3, 31), self.users.county).upload

    def upload_post(self) -> dict[str, Any]:
        """A department list as the upload form posts it."""
        path = write_workbook(
            self.tmp / "民政-豫海-202504.xlsx",
            ["乡镇", "姓名", "身份证号", "人员类别"],
            [["豫海镇", "豫海名单丙", make_id("19830505", 33), "低保对象"]],
        )
        file = SimpleUploadedFile(path.name, path.read_bytes())
        return {"department": "民政", "list_date": "2025-04-30", "file": file}

    # --- enrollment ----------------------------------------------------------------------------

    @cached_property
    def unenrolled_item(self) -> Any:
        """A 特困 person of 豫海镇 with no enrollment record, found by the March 2025 run."""
        from fangpin.enrollment.models import UnenrolledItem

        person = self.person(UNENROLLED_PERSON, (("特困人员", D(2024, 1, 1), None),))
        self.enrollment_run  # noqa: B018 - the run finds the person
        return UnenrolledItem.objects.get(person=person)

    @cached_property
    def enrollment_run(self) -> Any:
        from fangpin.enrollment.services import run_reconciliation

        return run_reconciliation(2025, D(2025, 3, 1)).run

    @cached_property
    def newborn(self) -> Any:
        from fangpin.enrollment.models import NewbornItem

        run = self.enrollment_run
        return NewbornItem.objects.create(
            id_no="YH-NB-01", name=NEWBORN, birth_date=D(2025, 1, 1), township=self.yuhai,
            due_date=D(2025, 1, 31), month=run.month, opened_run=run,
        )  # fmt: skip

    # --- warnings --------------------------------------------------------------------------------

    @cached_property
    def case(self) -> Any:
        """A red case of 豫海镇 from the screening of 26 September 2025."""
        from fangpin.warnings.models import Case
        from fangpin.warnings.services import run_screening
        from tests.warnings.helpers import inpatient, settled

        person = self.person(CASE_PERSON)
        claims = settled(SCREENING_PACK, [inpatient(person, "2025-03-01", "150000.00")])
        run_screening(D(2025, 9, 26), SCREENING_PACK, claims=claims)
        return Case.objects.get(person=person)

    @cached_property
    def visit(self) -> Any:
        """The case's first visit, with the photo of its signed form."""
        from fangpin.warnings.services import record_visit

        photo = SimpleUploadedFile("核查表.jpg", JPEG, content_type="image/jpeg")
        return record_visit(
            self.case, date=D(2025, 9, 29), finding="有风险", user=self.users.cadre, photo=photo
        )

    @cached_property
    def screening_run(self) -> Any:
        return self.case.opened_run

    # --- claims ----------------------------------------------------------------------------------

    @cached_property
    def institution(self) -> Any:
        from fangpin.claims.models import Institution

        return Institution.objects.get_or_create(
            code="H640324001", defaults={"name": "同心县人民医院"}
        )[0]

    def settle(self, setl_id: str, person: Any, date: D, total: int) -> Any:
        from fangpin.claims.services import ClaimInput, settle_online

        inp = ClaimInput(setl_id, person.id_no, date, 21, 2, True, True, total, 100_000)
        return settle_online(self.institution, inp)

    @cached_property
    def claim(self) -> Any:
        """A 低保 person's inpatient stay of 2023, settled online through the three tiers."""
        person = self.person(CLAIM_PERSON, (("低保对象", D(2023, 1, 1), None),))
        return self.settle(CLAIM_SETL, person, D(2023, 2, 1), 5_000_000).settlement.claim

    def _missed(self, person: Any) -> None:
        from fangpin.claims.resettle import missed_benefits
        from fangpin.claims.services import current_pack

        missed_benefits(current_pack(), 2023, keys=[person.id_no])

    @cached_property
    def notice(self) -> Any:
        """A January claim of someone tagged 低保 from January only later: a notice, 待下放."""
        from fangpin.claims.models import Notice
        from fangpin.people.models import Identity

        person = self.person(NOTICE_PERSON)
        self.settle("YH-N-0001", person, D(2023, 1, 15), 4_000_000)
        Identity.objects.create(
            person=person, name="低保对象", group="低保", department="民政", begin=D(2023, 1, 1)
        )
        self._missed(person)
        return Notice.objects.get(person=person)

    @cached_property
    def overpaid(self) -> Any:
        """Settled as 低保, whose identity turned out to have ended the year before: 应退复核."""
        from fangpin.claims.models import Overpaid
        from fangpin.people.models import Identity

        person = self.person(OVERPAID_PERSON, (("低保对象", D(2022, 1, 1), None),))
        self.settle("YH-W-0001", person, D(2023, 4, 1), 5_000_000)
        Identity.objects.filter(person=person).update(end=D(2022, 12, 31))
        self._missed(person)
        return Overpaid.objects.get(person_key=person.id_no)

    @cached_property
    def claim_import(self) -> Any:
        """A monthly claims file: one row of 豫海镇's claim person, one rejected."""
        from fangpin.claims.batch import import_claims
        from fangpin.claims.services import current_pack

        header = (
            "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,medfee_sumamt,"
            "fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt"
        )
        id_no = self.claim.person.id_no
        path = self.tmp / IMPORT_FILE
        lines = [
            header,
            f"YH-I-0001,{id_no},2023-07-02,21,2,1,1,30000.00,500.00,0,0",
            f"YH-I-0002,{id_no},2023-07-32,21,2,1,1,100.00,0,0,0",
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return import_claims(path, current_pack()).claim_import
