"""The household file (一户一档, seed 000): everything about a household's members on one page.

For each member: the person, their identities (all, dated), the year's settled claims totals
(from the claims ledger when installed), every screening that flagged them and every case with
its visits, measures, feedback and history. The file is read-only; viewing it is audited by the
caller (the page), which knows the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch

from fangpin.people.models import Household, Identity, Person
from fangpin.warnings import sources
from fangpin.warnings.models import Case, RunFlag


@dataclass
class MemberFile:
    person: Person
    key: str  # the person key claims and cases are filed under
    identities: list[Identity]
    claims: dict[str, int] | None  # claims, psn_part_amt, inscp_scp_amt, fund_pay_sumamt, inpatient
    flags: list[RunFlag]
    cases: list[Case]


@dataclass
class HouseholdFile:
    household: Household | None  # None: a person filed in no household, shown on their own
    year: int
    members: list[MemberFile] = field(default_factory=list)

    @property
    def psn_part_amt(self) -> int:
        """The household's burden of the year (fen), over the members with claims."""
        return sum(m.claims["psn_part_amt"] for m in self.members if m.claims)

    @property
    def open_cases(self) -> list[Case]:
        return [c for m in self.members for c in m.cases if c.is_open]


def _members_file(people: list[Person], year: int) -> list[MemberFile]:
    keys = {p.pk: sources.person_key_of(p.psn_no, p.id_no) for p in people}
    totals = sources.claims_totals(sorted(set(keys.values())), year)
    cases = (
        Case.objects.filter(person__in=people)
        .select_related("opened_run", "township", "village")
        .prefetch_related("visits", "measures", "feedback", "events")
        .order_by("-year", "rule", "opened_at")
    )
    by_person: dict[int, list[Case]] = {}
    for c in cases:
        by_person.setdefault(c.person_id, []).append(c)
    flags: dict[int, list[RunFlag]] = {}
    for f in (
        RunFlag.objects.filter(case__person__in=people)
        .select_related("run", "case")
        .order_by("-run__date", "rule")
    ):
        flags.setdefault(f.case.person_id, []).append(f)
    return [
        MemberFile(
            person=p,
            key=keys[p.pk],
            identities=list(p.identities.all()),
            claims=totals.get(keys[p.pk]) if sources.claims_ledger_installed() else None,
            flags=flags.get(p.pk, []),
            cases=by_person.get(p.pk, []),
        )
        for p in people
    ]


def household_file(household: Household | int, *, year: int | None = None) -> HouseholdFile:
    """The file of a household for `year` (default: this year)."""
    year = year or dt.date.today().year
    if not isinstance(household, Household):
        household = Household.objects.get(pk=household)
    people = list(
        Person.objects.filter(household=household)
        .select_related("township", "village")
        .prefetch_related(Prefetch("identities", queryset=Identity.objects.order_by("begin", "pk")))
        .order_by("pk")
    )
    return HouseholdFile(household=household, year=year, members=_members_file(people, year))


def person_file(person: Person | int, *, year: int | None = None) -> HouseholdFile:
    """The file of the household a person belongs to, or of the person alone without one."""
    if not isinstance(person, Person):
        person = Person.objects.get(pk=person)
    if person.household_id is not None:
        return household_file(person.household_id, year=year)
    year = year or dt.date.today().year
    person = (
        Person.objects.filter(pk=person.pk)
        .select_related("township", "village")
        .prefetch_related(Prefetch("identities", queryset=Identity.objects.order_by("begin", "pk")))
        .get()
    )
    return HouseholdFile(household=None, year=year, members=_members_file([person], year))
