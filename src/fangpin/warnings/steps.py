"""The steps of a case's closed loop for many cases at once (RULES §4): a township officer
entering a day's visits, or the demo working a month's cases.

Each verb takes one user and a list of steps, at most one per case, and does for every step
what the one-case verb of `services` does — the same checks, the same rows, events, audit
entries and moves; those verbs are these given one step. The work goes a table at a time: the
cases are read and locked with one statement (in id order, so two batches lock in the same
order), what a move needs (the latest visit's finding, whether feedback exists) is read with
one more, each kind of row goes in with one insert, the events with one and their audit
entries with one, and each new state is set with one UPDATE. Every step is checked before
anything is written; when one is refused the whole batch writes nothing, and the CaseError
names the case (when the batch has more than one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from fangpin.units import fen_to_yuan
from fangpin.warnings.models import (
    Case,
    CaseEvent,
    Feedback,
    Finding,
    Measure,
    MeasureKind,
    State,
    Visit,
)
from fangpin.warnings.services import (
    CaseError,
    _check_photo,
    _photo_name,
    _Trail,
    _user_or_none,
    transition_problem,
)

CHUNK = 5_000  # case ids per IN (...) list
LOOKED_AT = {(): (), ("opened_run",): ("opened_run__date",)}


@dataclass(frozen=True)
class VisitStep:
    case: Case | int
    date: dt.date
    finding: str
    visitor: str = ""
    note: str = ""
    photo: UploadedFile | None = None


@dataclass(frozen=True)
class MeasureStep:
    case: Case | int
    kind: str
    date: dt.date
    amount: int | None = None  # fen
    note: str = ""


@dataclass(frozen=True)
class FeedbackStep:
    case: Case | int
    text: str
    date: dt.date


@dataclass(frozen=True)
class CloseStep:
    case: Case | int
    feedback: str | None = None  # recorded first when given
    date: dt.date | None = None  # of the feedback; today when not given


def _pk(case: Case | int) -> int:
    return case.pk if isinstance(case, Case) else int(case)


class _Batch:
    """The cases of a batch, locked, and how a refusal names its case."""

    def __init__(self, steps: Sequence[Any]):
        self.pks = [_pk(s.case) for s in steps]
        self.many = len(self.pks) > 1
        if len(set(self.pks)) != len(self.pks):
            raise CaseError("同一案件在一批中只能出现一次")
        self.today = timezone.localdate()
        self.cases: dict[int, Case] = {}

    def refuse(self, pk: int, message: str) -> None:
        raise CaseError(f"案件 #{pk}：{message}" if self.many else message)

    def lock(self, *related: str) -> None:
        rows = (
            Case.objects.select_for_update(of=("self",))
            if related
            else Case.objects.select_for_update()
        )
        # Only what the steps look at; the rest of a returned case loads if it is asked for.
        rows = rows.select_related(*related).only("state", "closed_at", *LOOKED_AT[related])
        rows = rows.order_by("pk")
        ordered = sorted(self.pks)  # chunk by chunk, still in one id order
        for i in range(0, len(ordered), CHUNK):
            self.cases.update((c.pk, c) for c in rows.filter(pk__in=ordered[i : i + CHUNK]))
        missing = next((pk for pk in self.pks if pk not in self.cases), None)
        if missing is not None:
            raise Case.DoesNotExist(f"案件 #{missing} 不存在")

    def case(self, step: Any) -> Case:
        return self.cases[_pk(step.case)]

    def open_and_past(self, pk: int, day: dt.date, what: str) -> Case:
        """The case, refused when closed or when `day` is after today."""
        case = self.cases[pk]
        if case.state == State.CLOSED:
            self.refuse(pk, "案件已办结，不能再录入")
        if day > self.today:
            self.refuse(pk, f"{what}不能晚于今天")
        return case

    def latest_visits(self, state: str) -> dict[int, Visit]:
        """The latest visit (by date, then id) of each case of the batch now in `state`."""
        pks = [pk for pk in self.pks if self.cases[pk].state == state]
        out: dict[int, Visit] = {}
        for i in range(0, len(pks), CHUNK):
            for v in (
                Visit.objects.filter(case_id__in=pks[i : i + CHUNK])
                .order_by("case_id", "-date", "-id")
                .only("id", "case_id", "date", "finding")
            ):
                out.setdefault(v.case_id, v)
        return out

    def answered(self, pks: list[int]) -> set[int]:
        """The cases among `pks` that have feedback."""
        out: set[int] = set()
        for i in range(0, len(pks), CHUNK):
            out.update(
                Feedback.objects.filter(case_id__in=pks[i : i + CHUNK])
                .values_list("case_id", flat=True)
                .distinct()
            )
        return out


class _Moves:
    """Moves checked one by one, recorded after each case's own event, and written with one
    UPDATE per new state."""

    def __init__(self, batch: _Batch):
        self.batch = batch
        self.to: dict[int, str] = {}  # case pk -> its new state
        self.now = timezone.now()

    def check(self, case: Case, to_state: str, **known: Any) -> None:
        problem = transition_problem(case, to_state, **known)
        if problem:
            self.batch.refuse(case.pk, problem)
        self.to[case.pk] = to_state

    def record(self, trail: _Trail, case: Case) -> None:
        """The case's checked move, if it has one: its event, and the case as it now is."""
        to_state = self.to.get(case.pk)
        if to_state is None:
            return
        before = case.state
        case.state = to_state
        if to_state == State.CLOSED:
            case.closed_at = self.now
        trail.add(case, CaseEvent.Action.MOVE, f"{before}→{to_state}", from_state=before,
                  to_state=to_state)  # fmt: skip

    def save(self) -> None:
        by_state: dict[str, list[int]] = {}
        for pk, to_state in self.to.items():
            by_state.setdefault(to_state, []).append(pk)
        for to_state, pks in by_state.items():
            fields: dict[str, Any] = {"state": to_state}
            if to_state == State.CLOSED:
                fields["closed_at"] = self.now
            for i in range(0, len(pks), CHUNK):
                Case.objects.filter(pk__in=pks[i : i + CHUNK]).update(**fields)


def record_visits(steps: Sequence[VisitStep], *, user: Any = None) -> list[Visit]:
    """Record household visits; a case's first visit moves it 待核查 → 已核查."""
    if not steps:
        return []
    batch = _Batch(steps)
    for s in steps:
        if s.finding not in Finding.values:
            batch.refuse(_pk(s.case), f"核查结论须为 {'、'.join(Finding.values)}")
        if s.photo is not None:
            try:
                _check_photo(s.photo)
            except CaseError as exc:
                batch.refuse(_pk(s.case), str(exc))
    trail, who = _Trail(user), _user_or_none(user)
    with transaction.atomic():
        batch.lock("opened_run")
        moves = _Moves(batch)
        visits = []
        for s in steps:
            case = batch.open_and_past(_pk(s.case), s.date, "核查日期")
            if s.date < case.opened_run.date:
                batch.refuse(
                    case.pk, f"核查日期早于预警筛查日期 {case.opened_run.date.isoformat()}"
                )
            visit = Visit(case=case, date=s.date, visitor=s.visitor[:64], finding=s.finding, note=s.note,
                          recorded_by=who, recorded_at=timezone.now())  # fmt: skip
            if case.state == State.PENDING:
                # A case waiting for its visit has none before this one.
                moves.check(case, State.VERIFIED, visit=visit)
            visits.append(visit)
        for s, visit in zip(steps, visits, strict=True):
            if s.photo is not None:
                visit.form_photo.save(_photo_name(visit.case, s.photo), s.photo, save=False)
        Visit.objects.bulk_create(visits)
        for s, visit in zip(steps, visits, strict=True):
            what = f"{s.date.isoformat()} 入户核查：{s.finding}" + (
                f"（{s.note}）" if s.note else ""
            )
            trail.add(visit.case, CaseEvent.Action.VISIT, what)
            moves.record(trail, visit.case)
        moves.save()
        trail.write()
    return visits


def add_measures(steps: Sequence[MeasureStep], *, user: Any = None) -> list[Measure]:
    """Record assistance measures; a case's first one after a visit that found risk moves it
    已核查 → 帮扶中. Amounts are in fen."""
    if not steps:
        return []
    batch = _Batch(steps)
    for s in steps:
        if s.kind not in MeasureKind.values:
            batch.refuse(_pk(s.case), f"帮扶措施须为 {'、'.join(MeasureKind.values)} 之一")
        if s.amount is not None and (
            not isinstance(s.amount, int) or isinstance(s.amount, bool) or s.amount < 0
        ):
            batch.refuse(_pk(s.case), "金额须为不小于 0 的整数（分）")
    trail, who = _Trail(user), _user_or_none(user)
    with transaction.atomic():
        batch.lock()
        latest = batch.latest_visits(State.VERIFIED)
        moves = _Moves(batch)
        measures = []
        for s in steps:
            case = batch.open_and_past(_pk(s.case), s.date, "措施日期")
            if case.state == State.PENDING:
                batch.refuse(case.pk, "尚未入户核查，不能录入帮扶措施")
            if case.state == State.VERIFIED:
                visit = latest.get(case.pk)
                if visit is None or visit.finding != Finding.RISK:
                    batch.refuse(
                        case.pk, "核查结论为无风险，不能录入帮扶措施；如情况有变请先重新核查"
                    )
                moves.check(case, State.ASSISTING, visit=visit, measured=True)
            measures.append(Measure(case=case, kind=s.kind, amount=s.amount, date=s.date, note=s.note,
                                    recorded_by=who, recorded_at=timezone.now()))  # fmt: skip
        Measure.objects.bulk_create(measures)
        for s, measure in zip(steps, measures, strict=True):
            money = f" {fen_to_yuan(s.amount)} 元" if s.amount is not None else ""
            what = f"{s.date.isoformat()} {s.kind}{money}" + (f"（{s.note}）" if s.note else "")
            trail.add(measure.case, CaseEvent.Action.MEASURE, what)
            moves.record(trail, measure.case)
        moves.save()
        trail.write()
    return measures


def _feedback(batch: _Batch, pk: int, text: str, day: dt.date, who: Any) -> Feedback:
    """A checked feedback row for the case, not yet written."""
    case = batch.open_and_past(pk, day, "反馈日期")
    if case.state == State.PENDING:
        batch.refuse(pk, "尚未入户核查，不能反馈")
    return Feedback(case=case, text=text, date=day, recorded_by=who, recorded_at=timezone.now())


def _feedback_event(trail: _Trail, feedback: Feedback) -> None:
    trail.add(feedback.case, CaseEvent.Action.FEEDBACK,
              f"{feedback.date.isoformat()} 反馈：{feedback.text}")  # fmt: skip


def add_feedbacks(steps: Sequence[FeedbackStep], *, user: Any = None) -> list[Feedback]:
    """Record the township's feedback (帮扶反馈) on visited cases."""
    if not steps:
        return []
    batch = _Batch(steps)
    texts = [(s.text or "").strip() for s in steps]
    for s, text in zip(steps, texts, strict=True):
        if not text:
            batch.refuse(_pk(s.case), "反馈内容不能为空")
    trail, who = _Trail(user), _user_or_none(user)
    with transaction.atomic():
        batch.lock()
        rows = [
            _feedback(batch, _pk(s.case), text, s.date, who)
            for s, text in zip(steps, texts, strict=True)
        ]
        Feedback.objects.bulk_create(rows)
        for feedback in rows:
            _feedback_event(trail, feedback)
        trail.write()
    return rows


def close_cases(steps: Sequence[CloseStep], *, user: Any = None) -> list[Case]:
    """Close cases (已办结), each step's feedback recorded first when given. A case is refused
    without feedback, from 待核查, and from 已核查 when its visit found risk."""
    if not steps:
        return []
    batch = _Batch(steps)
    trail, who = _Trail(user), _user_or_none(user)
    with transaction.atomic():
        batch.lock()
        for s in steps:
            case = batch.case(s)
            # Refused before anything else is looked at, as from the case's page.
            if case.state == State.PENDING or case.state == State.CLOSED:
                batch.refuse(case.pk, transition_problem(case, State.CLOSED) or "不能办结")
        latest = batch.latest_visits(State.VERIFIED)
        answered = batch.answered([_pk(s.case) for s in steps if not s.feedback])
        moves = _Moves(batch)
        rows: dict[int, Feedback] = {}
        for s in steps:
            case = batch.case(s)
            known: dict[str, Any] = {"answered": case.pk in answered}
            if case.state == State.VERIFIED:
                known["visit"] = latest.get(case.pk)
            if s.feedback:
                text = s.feedback.strip()
                if not text:
                    batch.refuse(case.pk, "反馈内容不能为空")
                rows[case.pk] = _feedback(batch, case.pk, text, s.date or batch.today, who)
                known["answered"] = True
            moves.check(case, State.CLOSED, **known)
        Feedback.objects.bulk_create(list(rows.values()))
        cases = [batch.case(s) for s in steps]
        for case in cases:
            if case.pk in rows:
                _feedback_event(trail, rows[case.pk])
            moves.record(trail, case)
        moves.save()
        trail.write()
    return cases
