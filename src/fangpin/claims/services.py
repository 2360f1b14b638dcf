"""Online one-stop settlement: settle, pre-settle, cancel, re-settle — one person at a time.

Every settlement of a person-year happens while holding that person-year's `Accumulator` row
(SELECT ... FOR UPDATE on PostgreSQL), so two claims of one person arriving at once are
settled one after the other and no cap is ever exceeded. The row is created inside the
transaction by get_or_create: when two first claims of a year race, one INSERT wins, the other
hits the unique constraint and get_or_create reads (and locks) the winner's row.

The settlement itself is `fangpin.engine.settle.settle_one` — one row through the kernel function
the monthly batch runs per person-year — given the groups the person's identities in the people
ledger give that day and the locked accumulators.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from fangpin import audit
from fangpin.claims import onestep, sums
from fangpin.claims.ledger import (
    acc_from,
    acc_list,
    active_identities,
    contribution,
    kind_of,
)
from fangpin.claims.models import (
    CLAIM_AMOUNTS,
    RESULT_FIELDS,
    Accumulator,
    Claim,
    Institution,
    ResettleRun,
    Settlement,
)
from fangpin.engine import kernel as k
from fangpin.engine.settle import Accumulators, settle_one
from fangpin.people.models import Person
from fangpin.policy.registry import Pack, load_pack
from fangpin.units import fen_to_yuan

IdentityRow = tuple[str, str, str, dt.date, dt.date | None]


class Conflict(Exception):
    """The request contradicts what the ledger holds (answered 409); the message says what."""


class NotFound(Exception):
    """No such settlement for this institution (answered 404, revealing nothing more)."""


@dataclass
class ClaimInput:
    """One claim as received, amounts in fen, already checked field by field."""

    setl_id: str
    psn_no: str
    setl_date: dt.date
    med_type: int
    hosp_lv: int
    in_province: bool
    referral: bool
    medfee_sumamt: int
    fulamt_ownpay_amt: int = 0
    overlmt_selfpay: int = 0
    preselfpay_amt: int = 0

    @property
    def inscp_scp_amt(self) -> int:
        return (
            self.medfee_sumamt - self.fulamt_ownpay_amt - self.overlmt_selfpay - self.preselfpay_amt
        )

    def same_as(self, claim: Claim) -> bool:
        """Whether a stored claim is this one (a replay), field by field."""
        mine = (
            self.psn_no,
            self.setl_date,
            self.med_type,
            self.hosp_lv,
            self.in_province,
            self.referral,
            *(getattr(self, a) for a in CLAIM_AMOUNTS),
        )
        theirs = (
            claim.psn_no,
            claim.setl_date,
            claim.med_type,
            claim.hosp_lv,
            claim.in_province,
            claim.referral,
            *(getattr(claim, a) for a in CLAIM_AMOUNTS),
        )
        return mine == theirs


@dataclass
class Outcome:
    """What a settle call gives back: the stored (or previewed) result and whether it is new."""

    claim: Claim
    settlement: Settlement
    created: bool
    adjustments: dict[str, int] = field(default_factory=dict)  # Σ adjustments of the settlement
    cancelled: bool = False
    preview: bool = False


def current_pack() -> Pack:
    """The county's region pack (settings.FANGPIN_POLICY)."""
    return load_pack(settings.FANGPIN_POLICY)


def find_person(psn_no: str) -> tuple[Person | None, str, list[IdentityRow]]:
    """The ledger person whose psn_no or ID number is `psn_no`, the key of their accumulators,
    and their identities (key, name, group, begin, end)."""
    # One round trip for the person and their identities: this runs on every online claim.
    rows = list(
        Person.objects.filter(Q(psn_no=psn_no) | Q(id_no=psn_no)).values_list(
            "pk",
            "psn_no",
            "id_no",
            "identities__name",
            "identities__group",
            "identities__begin",
            "identities__end",
        )
    )
    if not rows:
        return None, psn_no, []
    pk, psn, id_no = rows[0][:3]
    key = psn or id_no
    person = Person(pk=pk, psn_no=psn, id_no=id_no)  # the key fields only: used as a foreign key
    idents = [(key, *r[3:]) for r in rows if r[0] == pk and r[3] is not None]
    return person, key, idents


def lock_accumulator(key: str, year: int) -> Accumulator:
    """The person-year's row, locked until the transaction ends (created when missing)."""
    # get_or_create on a FOR UPDATE queryset: the read locks; a lost INSERT race raises
    # IntegrityError inside get_or_create's savepoint and it re-reads (and locks) the winner's row.
    row, _ = Accumulator.objects.select_for_update().get_or_create(person_key=key, year=year)
    return row


def acc_of(row: Accumulator | None) -> Accumulators:
    if row is None:
        return Accumulators()
    return Accumulators(**{n: getattr(row, n) for n in k.ACC_NAMES})


def store_acc(row: Accumulator, values: np.ndarray | list[int]) -> None:
    for i, n in enumerate(k.ACC_NAMES):
        setattr(row, n, int(values[i]))
    row.save(update_fields=[*k.ACC_NAMES, "updated_at"])


def _engine(pack: Pack, inp: ClaimInput, key: str, idents: list[IdentityRow], acc: Accumulators):
    """The engine's one-claim path (the batch's kernel) on the groups active that day."""
    mask, _names = active_identities(idents, inp.setl_date)
    one = settle_one(
        pack,
        kind=kind_of(inp.med_type),
        hosp_lv=inp.hosp_lv,
        in_province=inp.in_province,
        referral=inp.referral,
        inscp=inp.inscp_scp_amt,
        medfee=inp.medfee_sumamt,
        fulamt=inp.fulamt_ownpay_amt,
        setl_date=inp.setl_date,
        group_mask=mask,
        accumulators=acc,
    )
    return one.amounts, (one.group or ""), one.after


def _new_settlement(
    claim: Claim,
    pack: Pack,
    amounts: dict[str, int],
    group: str,
    idents: list[IdentityRow],
    acc: Accumulators,
    source: str,
) -> Settlement:
    mask, names = active_identities(idents, claim.setl_date)
    return Settlement(
        claim=claim,
        kind=Settlement.Kind.SETTLE,
        source=source,
        group=group,
        group_mask=mask,
        identities=names,
        acc_before=acc_list(acc),
        pack_id=pack.id,
        **amounts,
    )


def settle_online(
    institution: Institution, inp: ClaimInput, *, pack: Pack | None = None, dry_run: bool = False
) -> Outcome:
    """Settle one claim for `institution`; see the module docstring.

    The same setl_id again returns the first result and writes nothing (idempotent); a setl_id
    already used for another claim or by another institution is a Conflict. `dry_run` is the
    pre-settlement (预结算): the same computation on the current accumulators, nothing stored.
    """
    pack = pack or current_pack()
    if inp.inscp_scp_amt < 0:
        raise ValueError("inscp_scp_amt")
    if not dry_run and onestep.available() and not transaction.get_connection().in_atomic_block:
        done = _settle_in_two_statements(pack, institution, inp)
        if done is not None:
            return done
    person, key, idents = find_person(inp.psn_no)
    if dry_run:
        return _preview(pack, institution, inp, person, key, idents)
    try:
        with transaction.atomic():
            acc_row = lock_accumulator(key, inp.setl_date.year)
            # Checked under the lock: a replay, or a twin request committed while this one waited.
            twin = Claim.objects.filter(setl_id=inp.setl_id).first()
            if twin is not None:
                return replay(institution, inp, twin)
            claim = _online_claim(pack, institution, inp, person, key)
            claim.save()
            before = acc_of(acc_row)
            amounts, group, after = _engine(pack, inp, key, idents, before)
            s = _new_settlement(
                claim, pack, amounts, group, idents, before, Settlement.Source.ONLINE
            )
            s.save()
            sums.add_claim(claim, amounts)
            store_acc(acc_row, after.as_array())
    except IntegrityError as exc:
        # The same setl_id committed under another person key meanwhile: answer as a replay.
        return _replay_of_used_id(institution, inp, exc)
    return Outcome(claim, s, created=True)


def _replay_of_used_id(institution: Institution, inp: ClaimInput, exc: IntegrityError) -> Outcome:
    """The answer when writing the claim failed on a unique constraint: a replay of the claim
    that holds its setl_id (`exc` raised again when none does: the failure was something else)."""
    twin = Claim.objects.filter(setl_id=inp.setl_id).first()
    if twin is None:
        raise exc
    return replay(institution, inp, twin)


def _settle_in_two_statements(
    pack: Pack, institution: Institution, inp: ClaimInput
) -> Outcome | None:
    """`onestep`: the settlement when no other settlement of the person-year came between its
    read and its write (None: settle it under the lock instead); a used setl_id is a replay."""
    found = onestep.read(inp.psn_no, inp.setl_date.year)
    before = found.acc or Accumulators()
    amounts, group, after = _engine(pack, inp, found.key, found.identities, before)
    claim = _online_claim(pack, institution, inp, found.person, found.key)
    s = _new_settlement(
        claim, pack, amounts, group, found.identities, before, Settlement.Source.ONLINE
    )
    try:
        written = onestep.write(found.key, inp.setl_date.year, found.acc, after, claim, s)
    except IntegrityError as exc:
        return _replay_of_used_id(institution, inp, exc)
    return Outcome(claim, s, created=True) if written else None


def _online_claim(
    pack: Pack, institution: Institution, inp: ClaimInput, person: Person | None, key: str
) -> Claim:
    """The ledger row of an online claim, not yet saved (a pre-settlement never saves it)."""
    return Claim(
        setl_id=inp.setl_id,
        psn_no=inp.psn_no,
        person_key=key,
        person=person,
        setl_date=inp.setl_date,
        med_type=inp.med_type,
        hosp_lv=inp.hosp_lv,
        in_province=inp.in_province,
        referral=inp.referral,
        **{a: getattr(inp, a) for a in CLAIM_AMOUNTS},
        inscp_scp_amt=inp.inscp_scp_amt,
        institution=institution,
        source=Claim.Source.ONLINE,
        pack_id=pack.id,
    )


def _preview(
    pack: Pack,
    institution: Institution,
    inp: ClaimInput,
    person: Person | None,
    key: str,
    idents: list[IdentityRow],
) -> Outcome:
    row = Accumulator.objects.filter(person_key=key, year=inp.setl_date.year).first()
    before = acc_of(row)
    amounts, group, _after = _engine(pack, inp, key, idents, before)
    claim = _online_claim(pack, institution, inp, person, key)
    s = _new_settlement(claim, pack, amounts, group, idents, before, Settlement.Source.ONLINE)
    return Outcome(claim, s, created=False, preview=True)


def replay(institution: Institution, inp: ClaimInput, claim: Claim) -> Outcome:
    """The answer to a setl_id seen before: its latest settlement, if it is the same claim."""
    if claim.institution_id != institution.pk:
        raise Conflict(f"setl_id {inp.setl_id}: 结算号已被使用")
    if not inp.same_as(claim):
        raise Conflict(f"setl_id {inp.setl_id}: 结算号已存在且单据内容不同")
    return outcome_for(claim)


def outcome_for(claim: Claim) -> Outcome:
    """The claim's latest settle row, whether it is still valid, and its adjustments."""
    s = latest_settlement(claim)
    if s is None:
        raise NotFound(claim.setl_id)
    cancelled = Settlement.objects.filter(cancels=s).exists()
    return Outcome(
        claim,
        s,
        created=False,
        adjustments=adjustment_sums([s.pk]).get(s.pk, {}),
        cancelled=cancelled,
    )


def latest_settlement(claim: Claim) -> Settlement | None:
    return claim.settlements.filter(kind=Settlement.Kind.SETTLE).order_by("-id").first()


def valid_settlement(claim: Claim) -> Settlement | None:
    """The claim's settle row that no cancel row points at (at most one)."""
    return (
        claim.settlements.filter(kind=Settlement.Kind.SETTLE, cancelled_by__isnull=True)
        .order_by("-id")
        .first()
    )


def adjustment_sums(settlement_ids: list[int]) -> dict[int, dict[str, int]]:
    """Σ adjustments per settlement, for the ones that have any."""
    from fangpin.claims.models import Adjustment

    rows = (
        Adjustment.objects.filter(settlement_id__in=settlement_ids)
        .values("settlement_id")
        .annotate(**{f"s_{f}": Sum(f) for f in RESULT_FIELDS})
    )
    return {r["settlement_id"]: {f: int(r[f"s_{f}"]) for f in RESULT_FIELDS} for r in rows}


def current_amounts(s: Settlement, adjustments: dict[str, int] | None = None) -> dict[str, int]:
    adj = adjustments or {}
    return {f: getattr(s, f) + adj.get(f, 0) for f in RESULT_FIELDS}


def claim_dict(claim: Claim) -> dict[str, Any]:
    return {
        "setl_id": claim.setl_id,
        "person_key": claim.person_key,
        "setl_date": claim.setl_date,
        "med_type": claim.med_type,
        "hosp_lv": claim.hosp_lv,
        "in_province": claim.in_province,
        "referral": claim.referral,
        "inscp_scp_amt": claim.inscp_scp_amt,
        **{a: getattr(claim, a) for a in CLAIM_AMOUNTS},
    }


def get_claim(institution: Institution, setl_id: str) -> Claim:
    """The institution's own claim; another institution's answers as if it did not exist."""
    claim = Claim.objects.filter(setl_id=setl_id, institution=institution).first()
    if claim is None:
        raise NotFound(setl_id)
    return claim


def _order(claim: Claim) -> tuple[dt.date, str]:
    """A claim's place in its person-year (RULES §1)."""
    return (claim.setl_date, claim.setl_id)


def _year_valid(claim: Claim) -> list[Settlement]:
    """The valid settle rows of the claim's person-year, other than the claim's own."""
    return list(
        Settlement.objects.filter(
            kind=Settlement.Kind.SETTLE,
            cancelled_by__isnull=True,
            claim__person_key=claim.person_key,
            claim__setl_date__year=claim.setl_date.year,
        )
        .exclude(claim=claim)
        .select_related("claim")
    )


def _recompute_year(pack: Pack, claim: Claim, kind: str) -> None:
    """Re-settle the claim's person-year (held locked by the caller) in settlement order:
    `resettle.resettle_person_years` adds an adjustment to every claim whose amounts change and
    sets the accumulators to the year's."""
    from fangpin.claims.resettle import resettle_person_years

    resettle_person_years(pack, claim.setl_date.year, [claim.person_key], kind=kind, locked=True)


def cancel_online(institution: Institution, setl_id: str, reason: str = "") -> Outcome:
    """Cancel (冲销) the claim's valid settlement: a cancel row with the negated amounts, the
    accumulators less the claim's contribution. When the person-year holds a claim dated after
    it (setl_date, setl_id), or one settled after it, the year is re-settled so those are
    recomputed (adjustments record it). Cancelling an already-cancelled claim answers with the
    cancellation again."""
    claim = get_claim(institution, setl_id)
    with transaction.atomic():
        acc_row = lock_accumulator(claim.person_key, claim.setl_date.year)
        valid = valid_settlement(claim)
        if valid is None:
            return outcome_for(claim)
        pack = load_pack(valid.pack_id or claim.pack_id)
        adj = adjustment_sums([valid.pk]).get(valid.pk, {})
        current = current_amounts(valid, adj)
        Settlement.objects.create(
            claim=claim,
            kind=Settlement.Kind.CANCEL,
            source=valid.source,
            cancels=valid,
            pack_id=valid.pack_id,
            group=valid.group,
            reason=reason[:200],
            **{f: -getattr(valid, f) for f in RESULT_FIELDS},
        )
        sums.add_claim(claim, current, cancelled=True)
        left = np.array([getattr(acc_row, n) for n in k.ACC_NAMES], dtype=np.int64)
        store_acc(acc_row, left - contribution(pack, claim_dict(claim), current))
        # A re-settled claim's row is the year's newest, yet the claims dated after it were
        # recomputed with it: both kinds of "later" depend on the cancelled claim.
        if any(_order(s.claim) > _order(claim) or s.pk > valid.pk for s in _year_valid(claim)):
            _recompute_year(pack, claim, "cancel")
        audit.record(
            None, audit.CHANGE, "settlement", setl_id, "冲销", username=f"机构 {institution.code}"
        )
    return outcome_for(claim)


def _before_in_order(claim: Claim, others: list[Settlement]) -> Accumulators:
    """The person-year's accumulators over the valid claims ordered before `claim`: the sum of
    their contributions at their current amounts (each claim's own pack, as
    rebuild_accumulator)."""
    earlier = [s for s in others if _order(s.claim) < _order(claim)]
    adj = adjustment_sums([s.pk for s in earlier])
    total = np.zeros(k.N_ACC, dtype=np.int64)
    for s in earlier:
        pack = load_pack(s.pack_id or s.claim.pack_id)
        total += contribution(pack, claim_dict(s.claim), current_amounts(s, adj.get(s.pk)))
    return acc_from(total)


def resettle_online(institution: Institution, setl_id: str) -> Outcome:
    """Settle a cancelled claim again (重新结算) in its place in the year's order (RULES §1, §3).

    Under the person-year's lock: the claim is settled on the accumulators of the valid claims
    ordered before it, so its new settlement row is what the year's batch pays it; when valid
    claims are ordered after it, the year is re-settled (`resettle_person_years`) and each of
    them whose amounts change gets an adjustment. Nothing stored is changed. A claim whose
    settlement is still valid is refused (Conflict): re-settling twice writes nothing.
    """
    claim = get_claim(institution, setl_id)
    with transaction.atomic():
        acc_row = lock_accumulator(claim.person_key, claim.setl_date.year)
        if valid_settlement(claim) is not None:
            raise Conflict(f"setl_id {setl_id}: 结算有效,须先冲销才能重新结算")
        pack = current_pack()
        _person, _key, idents = find_person(claim.psn_no)
        inp = ClaimInput(
            setl_id=claim.setl_id,
            psn_no=claim.psn_no,
            setl_date=claim.setl_date,
            med_type=claim.med_type,
            hosp_lv=claim.hosp_lv,
            in_province=claim.in_province,
            referral=claim.referral,
            **{a: getattr(claim, a) for a in CLAIM_AMOUNTS},
        )
        others = _year_valid(claim)
        before = _before_in_order(claim, others)
        amounts, group, after = _engine(pack, inp, claim.person_key, idents, before)
        s = _new_settlement(claim, pack, amounts, group, idents, before, Settlement.Source.ONLINE)
        s.save()
        sums.add_claim(claim, amounts)
        if any(_order(o.claim) > _order(claim) for o in others):
            _recompute_year(pack, claim, ResettleRun.Kind.RESETTLE)
        else:
            store_acc(acc_row, after.as_array())
        audit.record(
            None,
            audit.CHANGE,
            "settlement",
            setl_id,
            "重新结算",
            username=f"机构 {institution.code}",
        )
    out = outcome_for(claim)
    out.created = True
    return out


def accumulator_for(
    psn_no: str, year: int, institution: Institution | None = None
) -> tuple[str, Accumulators]:
    """A person's year-to-date accumulators (zeros when nothing was settled yet). With an
    institution: only when it has a claim of that person in that year, else NotFound."""
    _person, key, _ = find_person(psn_no)
    if institution is not None:
        mine = Claim.objects.filter(
            person_key=key, setl_date__year=year, institution=institution
        ).exists()
        if not mine:
            raise NotFound(psn_no)
    return key, acc_of(Accumulator.objects.filter(person_key=key, year=year).first())


def rebuild_accumulator(key: str, year: int) -> np.ndarray:
    """The person-year's accumulators recomputed from its claims' current amounts: what the
    stored row must equal (see models' docstring)."""
    total = np.zeros(k.N_ACC, dtype=np.int64)
    valid = list(
        Settlement.objects.filter(
            kind=Settlement.Kind.SETTLE,
            cancelled_by__isnull=True,
            claim__person_key=key,
            claim__setl_date__year=year,
        ).select_related("claim")
    )
    adj = adjustment_sums([s.pk for s in valid])
    for s in valid:
        pack = load_pack(s.pack_id or s.claim.pack_id)
        total += contribution(pack, claim_dict(s.claim), current_amounts(s, adj.get(s.pk)))
    return total


def acc_values(row: Accumulator) -> list[int]:
    return [getattr(row, n) for n in k.ACC_NAMES]


# --- the bureau's pages: the notice workflow and the overpaid review --------------------------


class ReviewError(Exception):
    """A review the ledger cannot take (already reviewed); the message says why, in Chinese."""


def _actor_user(actor: Any) -> Any:
    # `actor` is the page's request (so the audit entry has its address) or a user.
    return getattr(actor, "user", actor)


def change_notice(notice: Any, to_state: str, actor: Any, note: str = "") -> Any:
    """Move a missed-benefit notice one step (`resettle.move_notice`, which refuses a move the
    workflow does not allow) and write the audit entry, in one transaction."""
    from fangpin import audit
    from fangpin.claims.resettle import move_notice

    with transaction.atomic():
        moved = move_notice(notice, to_state, _actor_user(actor), note)
        event = moved.events.order_by("-at", "-id").first()
        what = f"应享未享通知 {event.from_state} → {event.to_state}" + (f"：{note}" if note else "")
        audit.record(actor, audit.CHANGE, "missed_notice", moved.pk, what[:500])
    return moved


def review_overpaid(row: Any, actor: Any, note: str = "") -> Any:
    """Mark an overpaid (应退) person-year as reviewed, once; nothing is clawed back (RULES §7)."""
    from fangpin import audit
    from fangpin.claims.models import Overpaid

    user = _actor_user(actor)
    with transaction.atomic():
        locked = Overpaid.objects.select_for_update().get(pk=row.pk)
        if locked.reviewed_at is not None:
            raise ReviewError(f"该记录已由 {locked.reviewed_by or '他人'} 复核，不能重复复核。")
        locked.reviewed_at = timezone.now()
        locked.reviewed_by = (user.get_full_name() or user.get_username())[:150]
        locked.note = note[:200]
        locked.save(update_fields=["reviewed_at", "reviewed_by", "note"])
        what = f"应退复核 {locked.year} 年度 {fen_to_yuan(locked.amount)} 元" + (
            f"：{note}" if note else ""
        )
        audit.record(actor, audit.CHANGE, "overpaid", locked.pk, what[:500])
    return locked


__all__ = [
    "ClaimInput",
    "Conflict",
    "ReviewError",
    "NotFound",
    "Outcome",
    "accumulator_for",
    "acc_from",
    "cancel_online",
    "change_notice",
    "find_person",
    "lock_accumulator",
    "rebuild_accumulator",
    "resettle_online",
    "review_overpaid",
    "settle_online",
]
