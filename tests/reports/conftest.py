"""A small ledger whose sums are worked out by hand in the tests.

This year (Y), amounts in fen:

| claim | person (township, group)   | month | medfee    | inscp   | hifp    | hifmi   | maf            | oth    | hosp   | fund            | psn             |
|-------|----------------------------|-------|-----------|---------|---------|---------|----------------|--------|--------|-----------------|-----------------|
| C1    | 马低保 (豫海镇, 低保)        | 1     | 1,000,000 | 800,000 | 400,000 | 100,000 | 80,000         | 20,000 | 0      | 600,000         | 400,000         |
| C2    | 马低保                        | 2     | 500,000   | 500,000 | 300,000 | 0       | 50,000 +20,000 | 0      | 10,000 | 350,000 +20,000 | 140,000 −20,000 |
| C3    | 马普通 (豫海镇, none)         | 1     | 200,000   | 150,000 | 90,000  | 0       | 0 +10,000 +20,000 | 0   | 0      | 90,000 +30,000  | 110,000 −30,000 |
| C4    | 马普通, cancelled (冲销)      | 2     | 300,000   | 300,000 | 200,000 | …       |                |        |        |                 |                 |
| C5    | 马特困 (河西镇, 特困)        | 3     | 400,000   | 400,000 | 240,000 | 40,000  | 60,000         | 0      | 0      | 340,000         | 60,000          |
| C6    | 马低保, last year            | 12    | 900,000   | 900,000 | 500,000 | …       |                |        |        |                 |                 |

C3's second adjustment re-settled it as 稳定脱贫 (its current group); C4 was adjusted before it
was cancelled, which counts nothing either.

Warning cases of Y: 豫海镇 红色 open and overdue, 橙色 open, 黄色 closed; 河西镇 红色 open,
黄色 open past its deadline but visited (not overdue); one 红色 of last year in 豫海镇.
Notices of Y: 豫海镇 one open (500.00 元) and one paid; 河西镇 one open (300.00 元).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from tests.people.factories import make_id

PACK = "baseline"


@dataclass
class Ledger:
    year: int
    today: dt.date
    persons: dict[str, Any]
    claims: dict[str, Any]
    cases: dict[str, Any]


def _claim(setl_id: str, person, date: dt.date, medfee: int, inscp: int):
    from fangpin.claims.models import Claim

    return Claim.objects.create(
        setl_id=setl_id,
        psn_no=person.id_no,
        person_key=person.id_no,
        person=person,
        setl_date=date,
        med_type=21,
        hosp_lv=2,
        medfee_sumamt=medfee,
        fulamt_ownpay_amt=medfee - inscp,
        inscp_scp_amt=inscp,
        source=Claim.Source.IMPORT,
        pack_id=PACK,
    )


def _settle(claim, group: str, hifp=0, hifmi=0, maf=0, oth=0, hosp=0):
    from fangpin.claims.models import Settlement

    fund = hifp + hifmi + maf + oth
    return Settlement.objects.create(
        claim=claim,
        kind=Settlement.Kind.SETTLE,
        source=Settlement.Source.BATCH,
        hifp_pay=hifp,
        hifmi_pay=hifmi,
        maf_pay=maf,
        oth_pay=oth,
        hosp_part_amt=hosp,
        fund_pay_sumamt=fund,
        psn_part_amt=claim.medfee_sumamt - fund - hosp,
        group=group,
        pack_id=PACK,
    )


def _cancel(s):
    from fangpin.claims.models import Settlement

    return Settlement.objects.create(
        claim=s.claim,
        kind=Settlement.Kind.CANCEL,
        source=Settlement.Source.ONLINE,
        cancels=s,
        **{f: -v for f, v in s.amounts().items()},
        group=s.group,
        pack_id=PACK,
    )


def _adjust(s, run, group: str, maf: int):
    """An adjustment moving `maf` fen from the person's part to medical assistance."""
    from fangpin.claims.models import Adjustment

    return Adjustment.objects.create(
        claim=s.claim,
        settlement=s,
        run=run,
        maf_pay=maf,
        fund_pay_sumamt=maf,
        psn_part_amt=-maf,
        group=group,
    )


def _case(run, psn: str, township, level: str, rank: int, *, year: int, deadline: dt.date,
          state: str = "待核查"):  # fmt: skip
    from fangpin.warnings.models import Case

    now = timezone.now()
    return Case.objects.create(
        psn_no=psn,
        township=township,
        rule="high-cost",
        rule_name="高额医疗费用预警",
        year=year,
        level=level,
        level_rank=rank,
        level_since=deadline - dt.timedelta(days=10),
        amount_opened=3_000_000,
        amount_latest=3_000_000,
        amount_date=deadline - dt.timedelta(days=10),
        deadline=deadline,
        state=state,
        opened_at=now,
        opened_run=run,
        closed_at=now if state == "已办结" else None,
    )


@pytest.fixture
def ledger(db, areas, settings) -> Ledger:
    from fangpin.claims.models import Notice, ResettleRun
    from fangpin.people.models import Identity, Person
    from fangpin.warnings.models import ScreeningRun, Visit

    settings.FANGPIN_POLICY = PACK
    today = timezone.localdate()
    y = today.year
    yuhai, hexi = areas["豫海镇"], areas["河西镇"]

    def person(name: str, town, n: int, identity: tuple[str, str, str] | None = None):
        p = Person.objects.create(id_no=make_id("19700101", n), name=name, township=town)
        if identity:
            ident, group, dept = identity
            Identity.objects.create(
                person=p, name=ident, group=group, department=dept, begin=dt.date(y - 2, 1, 1)
            )
        return p

    dibao = person("马低保", yuhai, 11, ("低保对象", "低保", "民政"))
    plain = person("马普通", yuhai, 12)
    tekun = person("马特困", hexi, 13, ("特困人员", "特困", "民政"))
    run = ResettleRun.objects.create(kind=ResettleRun.Kind.MISSED, year=y, pack_id=PACK)

    c1 = _claim("C1", dibao, dt.date(y, 1, 10), 1_000_000, 800_000)
    _settle(c1, "低保", hifp=400_000, hifmi=100_000, maf=80_000, oth=20_000)
    c2 = _claim("C2", dibao, dt.date(y, 2, 5), 500_000, 500_000)
    s2 = _settle(c2, "低保", hifp=300_000, maf=50_000, hosp=10_000)
    _adjust(s2, run, "低保", 20_000)
    c3 = _claim("C3", plain, dt.date(y, 1, 20), 200_000, 150_000)
    s3 = _settle(c3, "", hifp=90_000)
    _adjust(s3, run, "", 10_000)
    _adjust(s3, run, "稳定脱贫", 20_000)
    c4 = _claim("C4", plain, dt.date(y, 2, 10), 300_000, 300_000)
    s4 = _settle(c4, "", hifp=200_000)
    _adjust(s4, run, "", 5_000)
    _cancel(s4)
    c5 = _claim("C5", tekun, dt.date(y, 3, 1), 400_000, 400_000)
    _settle(c5, "特困", hifp=240_000, hifmi=40_000, maf=60_000)
    c6 = _claim("C6", dibao, dt.date(y - 1, 12, 20), 900_000, 900_000)
    _settle(c6, "低保", hifp=500_000)

    now = timezone.now()
    screening = ScreeningRun.objects.create(
        date=today, year=y, pack_id=PACK, started_at=now, finished_at=now,
        source=ScreeningRun.Source.LEDGER,
    )  # fmt: skip
    past, future = today - dt.timedelta(days=40), today + dt.timedelta(days=40)
    cases = {
        "yuhai-red": _case(screening, "P1", yuhai, "红色", 3, year=y, deadline=past),
        "yuhai-orange": _case(screening, "P2", yuhai, "橙色", 2, year=y, deadline=future),
        "yuhai-yellow": _case(screening, "P3", yuhai, "黄色", 1, year=y, deadline=past, state="已办结"),
        "hexi-red": _case(screening, "P4", hexi, "红色", 3, year=y, deadline=future),
        "hexi-yellow": _case(screening, "P5", hexi, "黄色", 1, year=y, deadline=past, state="已核查"),
        "yuhai-red-last-year": _case(screening, "P6", yuhai, "红色", 3, year=y - 1, deadline=past),
    }  # fmt: skip
    Visit.objects.create(
        case=cases["hexi-yellow"], date=past - dt.timedelta(days=5), finding="有风险",
        recorded_at=now,
    )  # fmt: skip
    for town, amount, state in ((yuhai, 50_000, "待下放"), (yuhai, 70_000, "已支付"), (hexi, 30_000, "已接收")):  # fmt: skip
        Notice.objects.create(
            run=run, person_key=f"N{amount}", year=y, township=town, amount=amount, state=state
        )
    return Ledger(
        y,
        today,
        {"dibao": dibao, "plain": plain, "tekun": tekun},
        {"C1": c1, "C2": c2, "C3": c3, "C4": c4, "C5": c5, "C6": c6},
        cases,
    )
