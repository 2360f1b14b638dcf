"""Verbs on warnings: the screening run, and each step of a case's closed loop (RULES §4).

`run_screening` loads the year's settled claims up to the date and the identities, calls
`engine.screen.screen` — the function the stateless `fangpin screen` calls — and then, in one
transaction, opens a case for each newly flagged person and rule, escalates an open case whose
person reached a higher level (same case: new level, new deadline), and leaves everything else
as it is: never a second open case, never a downgrade. Run twice on the same data it changes
no case and writes no event; each run is recorded with its counts.

A case moves only along 待核查 → 已核查 → 帮扶中 → 已办结 (and 已核查 → 已办结 when the visit found
no risk), each move checked here against what the case holds: a visit, a finding of risk and a
measure, feedback. Every change appends a `CaseEvent` (who, when, from, to, what) and an audit
entry; every verb runs in one transaction with the case row locked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models import Case as Choose
from django.utils import timezone

from fangpin import audit
from fangpin.engine.screen import counts, screen
from fangpin.engine.workdays import CalendarRangeError, is_workday, working_days_between
from fangpin.policy.registry import load_pack
from fangpin.units import fen_to_yuan
from fangpin.warnings import sources
from fangpin.warnings.bulk import copy_rows, update_columns
from fangpin.warnings.models import (
    Case,
    CaseEvent,
    Change,
    Feedback,
    Finding,
    Measure,
    MeasureKind,
    RunFlag,
    ScreeningRun,
    State,
    Visit,
)
from fangpin.warnings.photos import PhotoRejected, check_photo

SYSTEM_NAME = "fangpin screen-run"  # who a scheduled run is recorded as


class CaseError(Exception):
    """A step the case cannot take now; the message (Chinese) says why and what to do first."""


# --- screening runs -------------------------------------------------------------------------


@dataclass
class ScreeningOutcome:
    run: ScreeningRun
    flagged: pl.DataFrame  # the engine's result: psn_no, rule, level, amount, deadline
    timings: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """What the command prints: the run's totals, then each rule's people per level."""
        r = self.run
        out = [
            f"筛查批次 #{r.pk}：{r.date.isoformat()}，政策包 {r.pack_id}，结算单据 {r.claims} 条，"
            f"预警 {r.flagged} 人次（新增 {r.new_cases}，升级 {r.escalated}，未变 {r.unchanged}）"
        ]
        if r.unmatched:
            out.append(f"  其中 {r.unmatched} 人次不在人员台账中（乡镇未知，由县级分派）")
        for c in r.counts:
            levels = "，".join(f"{name} {n}" for name, n in c["levels"])
            out.append(f"  {c['name']}（{c['rule']}）：{levels}")
        return out


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _username(user: Any) -> str:
    user = _user_or_none(user)
    return user.get_username() if user is not None else SYSTEM_NAME


def run_screening(
    date: dt.date,
    pack_id: str,
    user: Any = None,
    *,
    claims: pl.DataFrame | None = None,
    identities: pl.DataFrame | None = None,
    timings: dict[str, float] | None = None,
) -> ScreeningOutcome:
    """Screen on `date` with pack `pack_id` and bring the cases up to date (module docstring).

    `claims`: settled claims as `engine.screen.screen` takes them (psn_no = person key); loaded
    from the claims ledger when not given. `identities`: the engine's identities frame; loaded
    from the people ledger when not given and a rule's population depends on identities.
    """
    clock = _Clock(timings)
    started = timezone.now()
    pack = load_pack(pack_id)
    rules = pack.policy_at(date).warnings.rules
    source = ScreeningRun.Source.GIVEN
    n_claims = None
    if claims is None:
        # Summed per person and med type in the database (see sources.load_screening_sums).
        selfpay = any(rule.measure == "inscp_selfpay" for rule in rules)
        claims = sources.load_screening_sums(
            date.year, date, sources.AMOUNT_COLUMNS if selfpay else ("psn_part_amt",)
        )
        source = ScreeningRun.Source.LEDGER
        n_claims = int(claims["claims"].sum())
    if identities is None:
        needed = any(rule.population != "all" for rule in rules)
        identities = sources.screening_identities(date) if needed else sources.empty_identities()
    clock.lap("load")
    flagged = screen(pack, claims, identities, date)
    clock.lap("screen")
    ranks = {(r.id, lv.name): i for r in rules for i, lv in enumerate(r.levels, start=1)}
    names = {r.id: r.name for r in rules}
    if n_claims is None:
        n_claims = claims.filter(
            pl.col("setl_date").is_between(dt.date(date.year, 1, 1), date)
        ).height
    with transaction.atomic():
        _serialise_runs()
        run = ScreeningRun.objects.create(
            date=date,
            year=date.year,
            pack_id=pack.id,
            started_by=_user_or_none(user),
            started_at=started,
            finished_at=started,
            source=source,
            claims=n_claims,
            flagged=flagged.height,
            counts=[
                {"rule": rule.id, "name": rule.name, "levels": [[n, c] for n, c in levels]}
                for rule, levels in counts(flagged, pack, date)
            ],
        )
        tally = _apply(run, flagged, ranks, names, user)
        run.new_cases, run.escalated, run.unchanged, run.unmatched = (
            tally[Change.NEW],
            tally[Change.ESCALATED],
            tally[Change.UNCHANGED] + tally[Change.CLOSED],
            tally["unmatched"],
        )
        run.finished_at = timezone.now()
        run.save()
        audit.record(
            _user_or_none(user),
            audit.CHANGE,
            "screening_run",
            run.pk,
            f"高额费用预警筛查 {date.isoformat()} {pack.id}：预警 {run.flagged} 人次，"
            f"新增 {run.new_cases}，升级 {run.escalated}，未变 {run.unchanged}",
            username=None if _user_or_none(user) else SYSTEM_NAME,
        )
    clock.lap("cases")
    return ScreeningOutcome(run, flagged, clock.sink)


def _serialise_runs() -> None:
    """Two runs at once would both see "no case yet": the second waits for the first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('fangpin.warnings.run_screening'))")


def _year_cases(year: int, rules: list[str]) -> tuple[dict, dict]:
    """The year's cases under these rules: per (person key, rule) the open one as (pk, level,
    rank, amount, amount date), and the highest (rank, pk) any closed one reached."""
    open_cases: dict[tuple[str, str], tuple] = {}
    closed_rank: dict[tuple[str, str], tuple[int, int]] = {}
    rows = Case.objects.filter(year=year, rule__in=rules).values_list(
        "pk", "psn_no", "rule", "state", "level", "level_rank", "amount_latest", "amount_date"
    )
    for pk, psn, rule, state, level, rank, amount, amount_date in rows.iterator(chunk_size=20_000):
        if state != State.CLOSED:
            open_cases[(psn, rule)] = (pk, level, rank, amount, amount_date)
        elif rank >= closed_rank.get((psn, rule), (0, 0))[0]:
            closed_rank[(psn, rule)] = (rank, pk)
    return open_cases, closed_rank


def _apply(
    run: ScreeningRun,
    flagged: pl.DataFrame,
    ranks: dict[tuple[str, str], int],
    names: dict[str, str],
    user: Any,
) -> dict[str, int]:
    """Open, escalate or leave each flagged person's case; write the run's flags and events."""
    now = run.started_at
    who = _user_or_none(user)
    by = (now, who.pk if who else None, _username(user))  # at, user, username of the events
    ESCALATE, OPEN = CaseEvent.Action.ESCALATE.value, CaseEvent.Action.OPEN.value

    def event(pk: int, rule: str, action: str, to_state: str, from_level: str, level: str,
              amount: int, deadline: dt.date) -> tuple:  # fmt: skip
        return (
            pk,
            run.pk,
            *by,
            action,
            "",
            to_state,
            from_level,
            level,
            _what(names[rule], level, amount, deadline),
        )

    tally = dict.fromkeys(
        (Change.NEW, Change.ESCALATED, Change.UNCHANGED, Change.CLOSED, "unmatched"), 0
    )
    if flagged.height == 0:
        return tally
    # A run never reopens a level already dealt with: a closed case covers its level and below.
    open_cases, closed_rank = _year_cases(run.year, list(names))
    opening, escalate, refresh, flags, events = [], [], [], [], []
    for psn, rule, level, amount, deadline in flagged.iter_rows():
        rank = ranks[(rule, level)]
        here = open_cases.get((psn, rule))
        closed = closed_rank.get((psn, rule))
        if here is not None:
            pk, old_level, old_rank, old_amount, amount_date = here
            change = Change.ESCALATED if rank > old_rank else Change.UNCHANGED
            if change == Change.ESCALATED:
                escalate.append((pk, level, rank, run.date, deadline, amount, run.date, now))
                events.append(event(pk, rule, ESCALATE, "", old_level, level, amount, deadline))
            elif amount != old_amount and run.date >= amount_date:
                # The amount follows the latest screening date; an earlier date never rewinds it.
                refresh.append((pk, amount, run.date))
            flags.append((run.pk, pk, rule, level, amount, deadline, change.value))
        elif closed is not None and closed[0] >= rank:
            change = Change.CLOSED
            flags.append((run.pk, closed[1], rule, level, amount, deadline, change.value))
        else:
            change = Change.NEW
            opening.append(
                (psn, rule, level, rank, amount, deadline, closed[1] if closed else None)
            )
        tally[change] += 1
    tally["unmatched"] = _open(run, opening, names)
    if opening:
        opened = Case.objects.filter(opened_run=run).values_list(
            "pk", "rule", "level", "amount_opened", "deadline"
        )
        for pk, rule, level, amount, deadline in opened.iterator(chunk_size=20_000):
            flags.append((run.pk, pk, rule, level, amount, deadline, Change.NEW.value))
            events.append(event(pk, rule, OPEN, State.PENDING.value, "", level, amount, deadline))
    fields = (
        "level",
        "level_rank",
        "level_since",
        "deadline",
        "amount_latest",
        "amount_date",
        "escalated_at",
    )
    update_columns(Case, fields, escalate)
    if escalate:
        # One escalation per case a run at most: the count goes up by one.
        Case.objects.filter(pk__in=[e[0] for e in escalate]).update(
            escalations=F("escalations") + 1
        )
    update_columns(Case, ("amount_latest", "amount_date"), refresh)
    copy_rows(CaseEvent, EVENT_FIELDS, events)
    copy_rows(RunFlag, ("run", "case", "rule", "level", "amount", "deadline", "change"), flags)
    return tally


def _open(run: ScreeningRun, opening: list[tuple], names: dict[str, str]) -> int:
    """Insert the new cases; returns how many are of people the people ledger does not know."""
    # Only the people who get a new case are looked up in the people ledger.
    persons = sources.persons_by_key(sorted({row[0] for row in opening}))
    rows, unmatched = [], 0
    for psn, rule, level, rank, amount, deadline, previous in opening:
        person, household, township, village = persons.get(psn, (None, None, None, None))
        unmatched += person is None
        rows.append((psn, person, household, township, village, rule, names[rule], run.year, level, rank,
                     run.date, amount, amount, run.date, deadline, State.PENDING.value, run.started_at, run.pk,
                     0, previous))  # fmt: skip
    copy_rows(Case, NEW_CASE_FIELDS, rows)
    return unmatched


NEW_CASE_FIELDS = (
    "psn_no", "person", "household", "township", "village", "rule", "rule_name", "year", "level",
    "level_rank", "level_since", "amount_opened", "amount_latest", "amount_date", "deadline", "state",
    "opened_at", "opened_run", "escalations", "previous",
)  # fmt: skip
EVENT_FIELDS = (
    "case", "run", "at", "user", "username", "action", "from_state", "to_state", "from_level",
    "to_level", "what",
)  # fmt: skip


def _what(rule_name: str, level: str, amount: int, deadline: dt.date) -> str:
    return f"{rule_name}{level}预警：年度累计 {fen_to_yuan(amount)} 元，{deadline.isoformat()} 前入户核查"


class _Clock:
    def __init__(self, sink: dict[str, float] | None):
        import time

        self._now = time.perf_counter
        self.sink = sink if sink is not None else {}
        self.t = self._now()

    def lap(self, name: str) -> None:
        t = self._now()
        self.sink[name] = t - self.t
        self.t = t


# --- the case's closed loop -----------------------------------------------------------------

# The moves RULES §4 allows; what each needs is checked by `transition_problem`.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (State.PENDING, State.VERIFIED),
        (State.VERIFIED, State.ASSISTING),
        (State.VERIFIED, State.CLOSED),
        (State.ASSISTING, State.CLOSED),
    }
)


def latest_visit(case: Case) -> Visit | None:
    return case.visits.order_by("-date", "-id").first()


def transition_problem(case: Case, to_state: str) -> str | None:
    """Why `case` cannot move to `to_state` now (Chinese), or None when it can."""
    if (case.state, to_state) not in TRANSITIONS:
        if case.state == State.CLOSED:
            return "案件已办结，不能再变更状态"
        return (
            f"不能从“{case.state}”直接转为“{to_state}”：须按 待核查→已核查→帮扶中→已办结 逐步办理"
        )
    visit = latest_visit(case)
    if to_state == State.VERIFIED and visit is None:
        return "尚无入户核查记录，不能转为已核查"
    if to_state == State.ASSISTING:
        if visit is None or visit.finding != Finding.RISK:
            return "核查结论不是“有风险”，不能转为帮扶中"
        if not case.measures.exists():
            return "尚未录入帮扶措施，不能转为帮扶中"
    if to_state == State.CLOSED:
        if case.state == State.VERIFIED and (visit is None or visit.finding != Finding.NO_RISK):
            return "核查结论为有风险，须落实帮扶措施（帮扶中）后才能办结"
        if not case.feedback.exists():
            return "尚无帮扶反馈，不能办结"
    return None


def _locked(case: Case | int) -> Case:
    pk = case.pk if isinstance(case, Case) else case
    return Case.objects.select_for_update().get(pk=pk)


def _event(
    case: Case, user: Any, action: str, what: str, *, from_state: str = "", to_state: str = ""
) -> CaseEvent:
    who = _user_or_none(user)
    event = CaseEvent.objects.create(
        case=case,
        at=timezone.now(),
        user=who,
        username=_username(user) if who else "",
        action=action,
        from_state=from_state,
        to_state=to_state,
        what=what[:500],
    )
    audit.record(who, audit.CHANGE, "warning_case", case.pk, f"{action}：{what}"[:500])
    return event


def _move(case: Case, to_state: str, user: Any, note: str = "") -> None:
    problem = transition_problem(case, to_state)
    if problem:
        raise CaseError(problem)
    before = case.state
    case.state = to_state
    fields = ["state"]
    if to_state == State.CLOSED:
        case.closed_at = timezone.now()
        fields.append("closed_at")
    case.save(update_fields=fields)
    _event(
        case,
        user,
        CaseEvent.Action.MOVE,
        note or f"{before}→{to_state}",
        from_state=before,
        to_state=to_state,
    )


def move(case: Case | int, to_state: str, *, user: Any = None, note: str = "") -> Case:
    """Move a case to `to_state` if RULES §4 allows it now; CaseError otherwise."""
    with transaction.atomic():
        case = _locked(case)
        _move(case, to_state, user, note)
    return case


def _not_closed(case: Case) -> None:
    if case.state == State.CLOSED:
        raise CaseError("案件已办结，不能再录入")


def _not_future(day: dt.date, what: str) -> None:
    if day > timezone.localdate():
        raise CaseError(f"{what}不能晚于今天")


def record_visit(
    case: Case | int,
    *,
    date: dt.date,
    finding: str,
    user: Any = None,
    visitor: str = "",
    note: str = "",
    photo: UploadedFile | None = None,
) -> Visit:
    """Record a household visit; the first visit moves 待核查 → 已核查."""
    if finding not in Finding.values:
        raise CaseError(f"核查结论须为 {'、'.join(Finding.values)}")
    if photo is not None:
        _check_photo(photo)
    with transaction.atomic():
        case = _locked(case)
        _not_closed(case)
        _not_future(date, "核查日期")
        if date < case.opened_run.date:
            raise CaseError(f"核查日期早于预警筛查日期 {case.opened_run.date.isoformat()}")
        visit = Visit(case=case, date=date, visitor=visitor[:64], finding=finding, note=note,
                      recorded_by=_user_or_none(user), recorded_at=timezone.now())  # fmt: skip
        if photo is not None:
            visit.form_photo.save(_photo_name(case, photo), photo, save=False)
        visit.save()
        _event(
            case,
            user,
            CaseEvent.Action.VISIT,
            f"{date.isoformat()} 入户核查：{finding}" + (f"（{note}）" if note else ""),
        )
        if case.state == State.PENDING:
            _move(case, State.VERIFIED, user)
    return visit


def attach_visit_form(visit: Visit | int, photo: UploadedFile, *, user: Any = None) -> Visit:
    """Attach (or replace) the photo of the signed visit form; the old file stays on disk."""
    _check_photo(photo)
    with transaction.atomic():
        visit = Visit.objects.select_for_update().get(
            pk=visit.pk if isinstance(visit, Visit) else visit
        )
        visit.form_photo.save(_photo_name(visit.case, photo), photo, save=False)
        visit.save(update_fields=["form_photo"])
        _event(
            visit.case, user, CaseEvent.Action.PHOTO, f"上传 {visit.date.isoformat()} 核查表照片"
        )
    return visit


def _check_photo(photo: UploadedFile) -> str:
    try:
        return check_photo(photo)
    except PhotoRejected as exc:
        raise CaseError(str(exc)) from None


def _photo_name(case: Case, photo: UploadedFile) -> str:
    # The stored name says nothing about the person (no ID number in a file name).
    suffix = ".png" if _check_photo(photo) == "png" else ".jpg"
    return f"case{case.pk}-{timezone.now():%Y%m%d%H%M%S}{suffix}"


def add_measure(
    case: Case | int,
    *,
    kind: str,
    date: dt.date,
    user: Any = None,
    amount: int | None = None,
    note: str = "",
) -> Measure:
    """Record an assistance measure; the first one after a visit that found risk moves the case
    已核查 → 帮扶中. `amount` is in fen."""
    if kind not in MeasureKind.values:
        raise CaseError(f"帮扶措施须为 {'、'.join(MeasureKind.values)} 之一")
    if amount is not None and (
        not isinstance(amount, int) or isinstance(amount, bool) or amount < 0
    ):
        raise CaseError("金额须为不小于 0 的整数（分）")
    with transaction.atomic():
        case = _locked(case)
        _not_closed(case)
        _not_future(date, "措施日期")
        if case.state == State.PENDING:
            raise CaseError("尚未入户核查，不能录入帮扶措施")
        visit = latest_visit(case)
        if case.state == State.VERIFIED and (visit is None or visit.finding != Finding.RISK):
            raise CaseError("核查结论为无风险，不能录入帮扶措施；如情况有变请先重新核查")
        measure = Measure.objects.create(case=case, kind=kind, amount=amount, date=date, note=note,
                                         recorded_by=_user_or_none(user), recorded_at=timezone.now())  # fmt: skip
        money = f" {fen_to_yuan(amount)} 元" if amount is not None else ""
        _event(
            case,
            user,
            CaseEvent.Action.MEASURE,
            f"{date.isoformat()} {kind}{money}" + (f"（{note}）" if note else ""),
        )
        if case.state == State.VERIFIED:
            _move(case, State.ASSISTING, user)
    return measure


def add_feedback(case: Case | int, *, text: str, date: dt.date, user: Any = None) -> Feedback:
    """Record the township's feedback (帮扶反馈) on a visited case."""
    text = (text or "").strip()
    if not text:
        raise CaseError("反馈内容不能为空")
    with transaction.atomic():
        case = _locked(case)
        _not_closed(case)
        _not_future(date, "反馈日期")
        if case.state == State.PENDING:
            raise CaseError("尚未入户核查，不能反馈")
        feedback = Feedback.objects.create(case=case, text=text, date=date, recorded_by=_user_or_none(user),
                                           recorded_at=timezone.now())  # fmt: skip
        _event(case, user, CaseEvent.Action.FEEDBACK, f"{date.isoformat()} 反馈：{text}")
    return feedback


def close_case(
    case: Case | int, *, user: Any = None, feedback: str | None = None, date: dt.date | None = None
) -> Case:
    """Close a case (已办结); `feedback`, when given, is recorded first. Refused without feedback,
    from 待核查, and from 已核查 when the visit found risk."""
    with transaction.atomic():
        case = _locked(case)
        # Checked before the feedback is written, so a refused close leaves nothing behind.
        if case.state == State.PENDING or case.state == State.CLOSED:
            raise CaseError(transition_problem(case, State.CLOSED) or "不能办结")
        if feedback:
            add_feedback(case, text=feedback, date=date or timezone.localdate(), user=user)
        _move(case, State.CLOSED, user)
    return case


# --- overdue ---------------------------------------------------------------------------------


def last_working_day(today: dt.date) -> dt.date:
    """The latest working day on or before `today` (today itself when it is one)."""
    day = today
    try:
        for _ in range(31):
            if is_workday(day):
                return day
            day -= dt.timedelta(days=1)
    except CalendarRangeError:
        pass
    # Outside the known calendar: count the deadline in calendar days rather than fail a page.
    return today


def _visited_since_level() -> Exists:
    return Exists(Visit.objects.filter(case=OuterRef("pk"), date__gte=OuterRef("level_since")))


def overdue(queryset: QuerySet, today: dt.date) -> QuerySet:
    """The open cases of `queryset` past their deadline by at least one working day with no
    visit since they reached their current level (an escalation needs a visit of its own)."""
    return (
        queryset.exclude(state=State.CLOSED)
        .filter(deadline__lt=last_working_day(today))
        .exclude(_visited_since_level())
    )


def with_overdue(queryset: QuerySet, today: dt.date) -> QuerySet:
    """`queryset` with `is_overdue` annotated, overdue cases first, then by deadline."""
    cutoff = last_working_day(today)
    flag = Choose(
        When(
            Q(deadline__lt=cutoff) & ~Q(state=State.CLOSED) & ~_visited_since_level(),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )
    return queryset.annotate(is_overdue=flag).order_by("-is_overdue", "deadline", "pk")


def overdue_working_days(case: Case, today: dt.date) -> int:
    """How many working days `case` is overdue on `today` (0 when it is not)."""
    if case.state == State.CLOSED or case.visits.filter(date__gte=case.level_since).exists():
        return 0
    try:
        return max(0, working_days_between(case.deadline, today))
    except CalendarRangeError:
        return max(0, (today - case.deadline).days)


def is_overdue(case: Case, today: dt.date) -> bool:
    return overdue_working_days(case, today) > 0
