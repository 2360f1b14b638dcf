"""Building blocks for the warnings tests: ledger persons, and claims settled by the engine.

Claims are written as the engine tests write them (yuan as text, inpatient at a level-2
hospital unless said), validated and settled with `settle_batch`, and handed to
`run_screening` as the settled frame; each person's claims are filed under their ID number,
the person key of a ledger person without a platform number.
"""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl

from fangpin.engine.settle import settle_batch
from fangpin.people.areas import AreaResolver
from fangpin.people.models import Household, Identity, Person
from fangpin.policy.groups import IDENTITIES
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import validate_claims, validate_identities
from tests.engine.helpers import claims_frame, identities_frame
from tests.people.factories import make_id

D = dt.date
_setl = itertools.count(1)
_seq = itertools.count(1)


def person(
    name: str = "马某",
    *,
    township: str = "豫海镇",
    village: str = "一村",
    household: Household | None = None,
    identities: tuple[tuple[str, str], ...] = (),
) -> Person:
    """A ledger person in a township and village, with (identity, begin date) pairs."""
    areas = AreaResolver()
    town = areas.township(township)
    vill = areas.village(town, village)
    p = Person.objects.create(
        id_no=make_id("19700101", next(_seq)),
        name=name,
        township=town,
        village=vill,
        household=household,
    )
    for ident, begin in identities:
        group, dept = IDENTITIES[ident]
        Identity.objects.create(
            person=p, name=ident, group=group, department=dept, begin=D.fromisoformat(begin)
        )
    return p


def household(number: str = "H001", township: str = "豫海镇", village: str = "一村") -> Household:
    areas = AreaResolver()
    town = areas.township(township)
    return Household.objects.create(
        number=number, township=town, village=areas.village(town, village)
    )


def inpatient(who: Person | str, date: str, yuan: str, **extra) -> dict:
    """An inpatient claim at a level-2 hospital, settled through the tiers."""
    psn = who if isinstance(who, str) else who.id_no
    return {
        "setl_id": f"S{next(_setl)}",
        "psn_no": psn,
        "setl_date": date,
        "medfee_sumamt": yuan,
        **extra,
    }


def settled(pack_id: str, claims: list[dict], identities: list[dict] = ()) -> pl.DataFrame:
    """The claims settled by the engine with the given identities (as file rows)."""
    c = validate_claims(claims_frame(claims))
    i = validate_identities(identities_frame(list(identities)))
    assert c.rejects.height == 0, c.rejects.to_dicts()
    assert i.rejects.height == 0, i.rejects.to_dicts()
    return settle_batch(load_pack(pack_id), c.good, i.good).claims


def ident_rows(p: Person) -> list[dict]:
    """A ledger person's identities as identity-file rows, to settle their claims with."""
    return [
        {"psn_no": p.id_no, "psn_idet_type": i.name, "begndate": i.begin.isoformat(), "enddate": ""}
        for i in p.identities.all()
    ]
