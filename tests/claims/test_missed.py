"""Missed benefits (应享未享) and overpayments (应退), and the township notice workflow."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.claims.conftest import make_person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _input(setl_id: str, psn_no: str, date: dt.date, total: int = 4_000_000):
    from fangpin.claims.services import ClaimInput

    return ClaimInput(
        setl_id=setl_id,
        psn_no=psn_no,
        setl_date=date,
        med_type=21,
        hosp_lv=2,
        in_province=True,
        referral=True,
        medfee_sumamt=total,
        fulamt_ownpay_amt=100_000,
    )


@pytest.fixture
def setup(policy, hospital, areas):
    """A person with a January claim settled before anyone knew they were 低保."""
    from fangpin.claims.services import settle_online

    person = make_person(township=areas["豫海镇"])
    outcome = settle_online(hospital[0], _input("J1", person.id_no, dt.date(2023, 1, 15)))
    assert outcome.settlement.group == ""
    return person, outcome


def _tag(person, begin=dt.date(2023, 1, 1)):
    """民政 pushes the person as 低保 in March, recognised from 1 January."""
    from fangpin.people.models import Identity

    return Identity.objects.create(
        person=person, name="低保对象", group="低保", department="民政", begin=begin
    )


def test_a_person_tagged_in_march_is_due_what_the_engine_pays_with_the_identity(setup, policy):
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.models import Adjustment, Notice
    from fangpin.claims.resettle import missed_benefits
    from fangpin.claims.services import claim_dict
    from fangpin.engine.settle import settle_batch

    person, outcome = setup
    _tag(person)
    summary = missed_benefits(policy, 2023)

    with_identity = settle_batch(
        policy,
        claim_frame([claim_dict(outcome.claim)]),
        identity_frame([(person.id_no, "低保对象", "低保", dt.date(2023, 1, 1), None)]),
    ).claims.row(0, named=True)
    due = outcome.settlement.psn_part_amt - with_identity["psn_part_amt"]
    assert due > policy.policy_at(dt.date(2023, 12, 31)).missed_notice_threshold  # above 300 yuan
    adj = Adjustment.objects.get(claim=outcome.claim)
    assert adj.maf_pay == with_identity["maf_pay"] - outcome.settlement.maf_pay > 0
    assert adj.due == due and adj.group == "低保"

    [notice] = summary.notices
    assert notice.amount == due and notice.state == Notice.State.PENDING
    assert notice.township.name == "豫海镇" and notice.person_id == person.pk
    assert summary.run.due_total == due and summary.run.notices == 1


def test_a_rerun_changes_nothing_and_keeps_each_notices_progress(setup, policy):
    from fangpin.claims.models import Accumulator, Adjustment, Notice
    from fangpin.claims.resettle import missed_benefits, move_notice
    from fangpin.claims.services import rebuild_accumulator

    person, _ = setup
    _tag(person)
    [notice] = missed_benefits(policy, 2023).notices
    move_notice(notice, Notice.State.DISPATCHED, "county")
    move_notice(notice, Notice.State.RECEIVED, "yuhai")
    acc = Accumulator.objects.get(person_key=person.id_no, year=2023)
    before = [acc.paid1, acc.cum3, acc.paid3]

    again = missed_benefits(policy, 2023)
    assert again.notices == [] and again.run.adjustments == 0
    assert Adjustment.objects.count() == 1 and Notice.objects.count() == 1
    assert Notice.objects.get().state == Notice.State.RECEIVED
    acc.refresh_from_db()
    assert [acc.paid1, acc.cum3, acc.paid3] == before
    assert [
        acc.paid1,
        acc.paid11,
        acc.cum2,
        acc.paid2,
        acc.cum3,
        acc.paid3,
        acc.cum4,
        acc.paid4,
    ] == list(rebuild_accumulator(person.id_no, 2023))


def test_a_dispatch_may_be_recalled_before_receipt_but_not_after(setup, policy):
    from fangpin.claims.models import Notice, NoticeEvent
    from fangpin.claims.resettle import BadTransition, missed_benefits, move_notice

    person, _ = setup
    _tag(person)
    [notice] = missed_benefits(policy, 2023).notices
    with pytest.raises(BadTransition):
        move_notice(notice, Notice.State.PAID, "county")  # no skipping steps
    move_notice(notice, Notice.State.DISPATCHED, "county")
    assert (
        move_notice(notice, Notice.State.PENDING, "county", "名单有误,撤回").state
        == Notice.State.PENDING
    )
    move_notice(notice, Notice.State.DISPATCHED, "county")
    move_notice(notice, Notice.State.RECEIVED, "yuhai")
    with pytest.raises(BadTransition):
        move_notice(notice, Notice.State.PENDING, "county")
    for state in (Notice.State.NOTIFIED, Notice.State.PAID):
        move_notice(notice, state, "yuhai")
    trail = list(NoticeEvent.objects.filter(notice=notice).values_list("from_state", "to_state"))
    assert trail == [
        ("待下放", "已下放"),
        ("已下放", "待下放"),
        ("待下放", "已下放"),
        ("已下放", "已接收"),
        ("已接收", "已通知"),
        ("已通知", "已支付"),
    ]


def test_a_later_claim_online_continues_from_the_corrected_year(setup, policy, hospital):
    """After the run the person-year's accumulators are the re-settled year's, so the next
    claim pays as if the identity had been known all along."""
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.resettle import missed_benefits
    from fangpin.claims.services import claim_dict, settle_online
    from fangpin.engine.settle import settle_batch

    person, first = setup
    _tag(person)
    missed_benefits(policy, 2023)
    second = settle_online(hospital[0], _input("J2", person.id_no, dt.date(2023, 4, 2)))
    both = settle_batch(
        policy,
        claim_frame([claim_dict(first.claim), claim_dict(second.claim)]),
        identity_frame([(person.id_no, "低保对象", "低保", dt.date(2023, 1, 1), None)]),
    ).claims.row(1, named=True)
    assert second.settlement.maf_pay == both["maf_pay"]
    assert second.settlement.psn_part_amt == both["psn_part_amt"]


def test_an_identity_withdrawn_afterwards_lists_the_overpayment_for_review_only(policy, hospital):
    from fangpin.claims.models import Overpaid, Settlement
    from fangpin.claims.resettle import missed_benefits
    from fangpin.claims.services import settle_online

    person = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    o = settle_online(hospital[0], _input("W1", person.id_no, dt.date(2023, 2, 1)))
    assert o.settlement.group == "低保"
    # The department corrects its list: the person was 低保 only from June.
    person.identities.update(begin=dt.date(2023, 6, 1))
    summary = missed_benefits(policy, 2023)
    [item] = summary.overpaid
    assert item.amount > 0 and item.reviewed_at is None
    assert summary.notices == []
    s = Settlement.objects.get(pk=o.settlement.pk)
    assert s.maf_pay == o.settlement.maf_pay  # nothing clawed back: the settlement stands
    assert missed_benefits(policy, 2023).overpaid == [] and Overpaid.objects.count() == 1


def test_only_a_person_with_one_identity_overlapping_the_year_is_re_settled(policy, hospital):
    from fangpin.claims.resettle import affected_keys
    from fangpin.claims.services import settle_online

    # One identity ended before 2023 and another begins after it: none overlaps the year.
    gap = make_person(
        [
            ("低保对象", dt.date(2021, 1, 1), dt.date(2022, 6, 30)),
            ("特困人员", dt.date(2024, 1, 1), None),
        ]
    )
    inside = make_person([("低保对象", dt.date(2022, 1, 1), dt.date(2023, 2, 28))])
    nobody = make_person()
    for n, p in enumerate((gap, inside, nobody)):
        settle_online(hospital[0], _input(f"K{n}", p.id_no, dt.date(2023, 5, 10)))
    assert affected_keys(2023) == [inside.id_no]
