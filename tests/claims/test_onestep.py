"""The online settlement in two statements (PostgreSQL): it writes only on the accumulators it
read, writes all or nothing, and hands a person-year that moved meanwhile to the locked path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from tests.claims.conftest import make_person
from tests.claims.yearsums import assert_kept_exact

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2023, 3, 10)


def _input(setl_id: str, psn_no: str, total: int = 3_000_000, day: dt.date = DAY):
    from fangpin.claims.services import ClaimInput

    return ClaimInput(
        setl_id=setl_id,
        psn_no=psn_no,
        setl_date=day,
        med_type=21,
        hosp_lv=2,
        in_province=True,
        referral=True,
        medfee_sumamt=total,
        fulamt_ownpay_amt=100_000,
    )


def _prepared(policy, institution, inp):
    """What the settle call builds between its read and its write: the read, the claim and its
    settlement row, and the accumulators after it."""
    from fangpin.claims import onestep, services
    from fangpin.claims.models import Settlement
    from fangpin.engine.settle import Accumulators

    found = onestep.read(inp.psn_no, inp.setl_date.year)
    before = found.acc or Accumulators()
    amounts, group, after = services._engine(policy, inp, found.key, found.identities, before)
    claim = services._online_claim(policy, institution, inp, found.person, found.key)
    s = services._new_settlement(
        claim, policy, amounts, group, found.identities, before, Settlement.Source.ONLINE
    )
    return found, claim, s, after


def _acc(key: str) -> list[int]:
    from fangpin.claims.models import Accumulator
    from fangpin.claims.services import acc_values

    return acc_values(Accumulator.objects.get(person_key=key, year=DAY.year))


def test_an_uncontended_settlement_is_one_read_and_one_write(hospital, policy):
    from fangpin.claims.services import rebuild_accumulator, settle_online

    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    settle_online(hospital[0], _input("W1", p.id_no))  # the year's row exists from here on
    with CaptureQueriesContext(connection) as q:
        out = settle_online(hospital[0], _input("W2", p.id_no))
    assert out.created and out.claim.pk and out.settlement.claim_id == out.claim.pk
    assert len(q.captured_queries) == 2, [x["sql"][:80] for x in q.captured_queries]
    assert _acc(p.id_no) == [int(x) for x in rebuild_accumulator(p.id_no, DAY.year)]
    assert assert_kept_exact()[(p.id_no, DAY.year)]["n2"] == 2  # the year sums counted both


def test_a_write_on_accumulators_that_moved_writes_nothing(hospital, policy):
    from fangpin.claims import onestep
    from fangpin.claims.models import Claim, Settlement
    from fangpin.claims.services import settle_online

    inst = hospital[0]
    p = make_person([("特困人员", dt.date(2023, 1, 1), None)])
    settle_online(inst, _input("A1", p.id_no))
    found, claim, s, after = _prepared(policy, inst, _input("A2", p.id_no))
    settle_online(inst, _input("A3", p.id_no))  # commits between A2's read and its write
    moved = _acc(p.id_no)
    claims, rows = Claim.objects.count(), Settlement.objects.count()

    assert not onestep.write(found.key, DAY.year, found.acc, after, claim, s)
    assert (Claim.objects.count(), Settlement.objects.count()) == (claims, rows)
    assert _acc(p.id_no) == moved
    assert claim.pk is None
    assert_kept_exact()  # nothing of A2 reached the year sums either


def test_two_first_claims_of_a_year_race_and_the_second_writes_nothing(hospital, policy):
    from fangpin.claims import onestep
    from fangpin.claims.models import Claim

    inst = hospital[0]
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    first = _prepared(policy, inst, _input("F1", p.id_no))
    second = _prepared(policy, inst, _input("F2", p.id_no, total=5_000_000))
    assert first[0].acc is None and second[0].acc is None  # neither saw a row for the year

    assert onestep.write(first[0].key, DAY.year, None, first[3], first[1], first[2])
    assert not onestep.write(second[0].key, DAY.year, None, second[3], second[1], second[2])
    assert list(Claim.objects.values_list("setl_id", flat=True)) == ["F1"]
    assert _acc(p.id_no) == [int(x) for x in first[3].as_array()]


def test_a_used_setl_id_fails_the_whole_statement_and_leaves_the_accumulators(hospital, policy):
    from fangpin.claims import onestep
    from fangpin.claims.services import settle_online

    inst = hospital[0]
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    settle_online(inst, _input("U1", p.id_no))
    held = _acc(p.id_no)
    found, claim, s, after = _prepared(policy, inst, _input("U1", p.id_no))
    with pytest.raises(IntegrityError):
        onestep.write(found.key, DAY.year, found.acc, after, claim, s)
    assert _acc(p.id_no) == held
    assert assert_kept_exact()[(p.id_no, DAY.year)]["n2"] == 1


def test_a_settlement_that_lost_the_race_is_settled_under_the_lock_on_the_new_values(
    hospital, policy
):
    """settle_online falls back when its write finds the accumulators moved: the claim is then
    settled on the values after the claim that came first, as if it had waited for the lock."""
    from fangpin.claims import onestep, services
    from fangpin.claims.models import Settlement

    inst = hospital[0]
    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    services.settle_online(inst, _input("L1", p.id_no))
    real_write = onestep.write
    raced = []

    def write_after_a_rival(*args, **kwargs):
        # Another desk's claim of the same person commits just before this write is sent.
        if not raced:
            raced.append(None)  # the rival's own write goes straight through
            services.settle_online(inst, _input("L0", p.id_no, total=4_000_000))
            raced[0] = _acc(p.id_no)
        return real_write(*args, **kwargs)

    onestep.write = write_after_a_rival
    try:
        out = services.settle_online(inst, _input("L2", p.id_no))
    finally:
        onestep.write = real_write
    assert out.created and raced
    mine = Settlement.objects.get(claim__setl_id="L2")
    # L2 was settled on the accumulators after L0 (the locked path), not on those it first read.
    assert mine.acc_before == raced[0]
    assert _acc(p.id_no) == [int(x) for x in services.rebuild_accumulator(p.id_no, DAY.year)]
    assert Settlement.objects.filter(claim__person_key=p.id_no).count() == 3
    assert assert_kept_exact()[(p.id_no, DAY.year)]["n2"] == 3


def test_a_connection_prepares_the_two_statements_once_and_reuses_them(hospital, policy):
    from fangpin.claims import onestep
    from fangpin.claims.services import settle_online

    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    for i in range(onestep.PREPARE_AFTER + 3):
        settle_online(hospital[0], _input(f"P{i}", p.id_no, total=100_000 + i), pack=policy)

    def prepared() -> list[str]:
        with connection.cursor() as cur:
            cur.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
            return [r[0] for r in cur.fetchall()]

    # The read, and the write on an existing accumulator row (the first claim's write, on a
    # year without a row, ran once only).
    assert prepared() == [onestep._read_sql(), onestep._write_sql(False)]
    settle_online(hospital[0], _input("P-last", p.id_no, total=123_400), pack=policy)
    assert prepared() == [onestep._read_sql(), onestep._write_sql(False)]
    # The site's own queries, on the same connection, still bind on the client unprepared.
    from fangpin.claims.models import Claim

    for _ in range(onestep.PREPARE_AFTER + 3):
        assert Claim.objects.filter(setl_id="P0").count() == 1
    assert prepared() == [onestep._read_sql(), onestep._write_sql(False)]


@pytest.mark.parametrize("known", [True, False])
def test_the_write_parameters_are_what_djangos_own_field_preparation_gives(
    hospital, policy, known
):
    from fangpin.claims import onestep

    psn = make_person([("特困人员", dt.date(2023, 1, 1), None)]).id_no if known else "UNKNOWN"
    _found, claim, s, _after = _prepared(policy, hospital[0], _input("V1", psn))
    for obj, skip in ((claim, ()), (s, ("claim_id",))):
        fields = [f for f in onestep._columns(type(obj)) if f.attname not in skip]
        django = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
        mine = onestep._values(obj, skip)
        assert [repr(v) for v in mine] == [repr(v) for v in django]
        assert [type(v) for v in mine] == [type(v) for v in django]
