"""Verbs on warnings: the screening run, and each step of a case's closed loop (RULES §4).

`run_screening` loads the year's settled claims up to the date and the identities, calls
`engine.screen.screen` — the function the stateless `fangpin screen` calls — and then, in one
transaction, opens a case for each newly flagged person and rule, escalates an open case whose
person reached a higher level (same case: new level, new deadline), and leaves everything else
as it is: never a second open case, never a downgrade. Each case opened or escalated gets its
event (who started the run, when, which run, what); run twice on the same data it changes no
case and writes no event. Each run is recorded with its counts and gets one audit entry, which
names the run and its counts: the run is one action of one account (or of the schedule), and
a county's first run would otherwise bury the month's audit log under tens of thousands of
entries the run's events already hold case by case. A county's first run opens tens of thousands of cases,
so this part works on whole columns (Polars joins of the flagged people with the year's cases)
and writes each table in one COPY (PostgreSQL) or one prepared insert (SQLite).

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
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models import Case as Choose
from django.utils import timezone

from fangpin import audit
from fangpin.engine.screen import counts, lowest_bounds, screen
from fangpin.engine.workdays import CalendarRangeError, is_workday, working_days_between
from fangpin.people.bulk import insert_rows
from fangpin.policy.registry import load_pack
from fangpin.warnings import sources
from fangpin.warnings.bulk import copy_frame, select_frame, update_columns
from fangpin.warnings.models import (
    Case,
    CaseEvent,
    Change,
    Feedback,
    Finding,
    Measure,
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
        # Summed per person and med type in the database, and only the people some rule's
        # lowest bound lets through (see sources.read_screening_sums): the others cannot be
        # flagged, and on a county's ledger they are nearly everyone.
        selfpay = any(rule.measure == "inscp_selfpay" for rule in rules)
        sums = sources.read_screening_sums(
            date.year,
            date,
            sources.AMOUNT_COLUMNS if selfpay else ("psn_part_amt",),
            floors=lowest_bounds(pack, date),
        )
        claims, n_claims = sums.claims, sums.total
        source = ScreeningRun.Source.LEDGER
        clock.part("load.sums")
    if identities is None:
        needed = any(rule.population != "all" for rule in rules)
        if not needed:
            identities = sources.empty_identities()
        elif source == ScreeningRun.Source.LEDGER:
            # Only the identities of the people read.
            identities = sources.screening_identities(date, keys=claims["psn_no"].unique())
        else:
            identities = sources.screening_identities(date)
        clock.part("load.identities")
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
        clock.part("cases.run")
        tally = _apply(run, flagged, ranks, names, user, clock)
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
        clock.part("cases.run")
    clock.part("cases.commit")
    clock.lap("cases")
    return ScreeningOutcome(run, flagged, clock.sink)


def _serialise_runs() -> None:
    """Two runs at once would both see "no case yet": the second waits for the first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('fangpin.warnings.run_screening'))")


def _year_cases(year: int, rules: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The year's cases under these rules, as frames keyed on (psn_no, rule): the open case
    (open_pk, open_level, open_rank, open_amount, open_amount_date; at most one, which the
    database enforces), and the highest rank a closed case reached with that case's pk
    (closed_rank, closed_pk; of equal ranks the later case)."""
    cases = select_frame(
        Case,
        ("id", "psn_no", "rule", "state", "level", "level_rank", "amount_latest", "amount_date"),
        f"{{year}} = %s AND {{rule}} IN ({', '.join(['%s'] * len(rules))})",
        [year, *rules],
    )
    closed = pl.col("state") == State.CLOSED.value
    open_cases = cases.filter(~closed).select(
        "psn_no",
        "rule",
        pl.col("id").alias("open_pk"),
        pl.col("level").alias("open_level"),
        pl.col("level_rank").alias("open_rank"),
        pl.col("amount_latest").alias("open_amount"),
        pl.col("amount_date").alias("open_amount_date"),
    )
    closed_cases = (
        cases.filter(closed)
        .sort("level_rank", "id")
        .group_by("psn_no", "rule")
        .agg(
            pl.col("level_rank").last().alias("closed_rank"), pl.col("id").last().alias("closed_pk")
        )
    )
    return open_cases, closed_cases


def _apply(
    run: ScreeningRun,
    flagged: pl.DataFrame,
    ranks: dict[tuple[str, str], int],
    names: dict[str, str],
    user: Any,
    clock: _Clock | None = None,
) -> dict[str, int]:
    """Open, escalate or leave each flagged person's case; write the run's flags and the
    cases' events. Worked on whole columns (joins of the flagged frame with
    the year's cases), and written with one COPY or prepared insert per table."""
    tally = dict.fromkeys(
        (Change.NEW, Change.ESCALATED, Change.UNCHANGED, Change.CLOSED, "unmatched"), 0
    )
    if flagged.height == 0:
        return tally
    clock = clock or _Clock(None)
    keys = ["psn_no", "rule"]
    levels = pl.DataFrame(
        [(rule, level, rank) for (rule, level), rank in ranks.items()],
        schema={"rule": pl.String, "level": pl.String, "rank": pl.Int64},
        orient="row",
    )
    open_cases, closed_cases = _year_cases(run.year, list(names))
    here = pl.col("open_pk").is_not_null()
    # A run never reopens a level already dealt with: a closed case covers its level and below.
    change = (
        pl.when(here & (pl.col("rank") > pl.col("open_rank")))
        .then(pl.lit(Change.ESCALATED.value))
        .when(here)
        .then(pl.lit(Change.UNCHANGED.value))
        .when(pl.col("closed_rank") >= pl.col("rank"))
        .then(pl.lit(Change.CLOSED.value))
        .otherwise(pl.lit(Change.NEW.value))
    )
    f = (
        flagged.join(levels, on=["rule", "level"], how="left")
        .join(open_cases, on=keys, how="left")
        .join(closed_cases, on=keys, how="left")
        .with_columns(
            change.alias("change"),
            pl.col("rule").replace_strict(names, return_dtype=pl.String).alias("rule_name"),
        )
        .sort(keys)
    )
    for value, n in f["change"].value_counts().iter_rows():
        tally[Change(value)] = n
    clock.part("cases.year_cases")
    new = f.filter(pl.col("change") == Change.NEW.value)
    opened, tally["unmatched"] = _open(run, new, clock)
    f = f.join(opened, on=keys, how="left").with_columns(
        pl.when(here)
        .then(pl.col("open_pk"))
        .when(pl.col("change") == Change.CLOSED.value)
        .then(pl.col("closed_pk"))
        .otherwise(pl.col("new_pk"))
        .alias("case")
    )
    escalated = f.filter(pl.col("change") == Change.ESCALATED.value)
    update_columns(
        Case,
        ("level", "level_rank", "level_since", "deadline", "amount_latest", "amount_date",
         "escalated_at"),
        [(pk, level, rank, run.date, deadline, amount, run.date, run.started_at)
         for pk, level, rank, deadline, amount
         in escalated.select("open_pk", "level", "rank", "deadline", "amount").iter_rows()],
        add_one=("escalations",),  # one escalation per case a run at most
    )  # fmt: skip
    # The amount follows the latest screening date; an earlier date never rewinds it.
    refresh = f.filter(
        (pl.col("change") == Change.UNCHANGED.value)
        & (pl.col("amount") != pl.col("open_amount"))
        & (pl.col("open_amount_date") <= run.date)
    )
    update_columns(
        Case,
        ("amount_latest", "amount_date"),
        [(pk, amount, run.date) for pk, amount in refresh.select("open_pk", "amount").iter_rows()],
    )
    clock.part("cases.updates")
    _write_events(
        run,
        user,
        f.filter(pl.col("change").is_in([Change.NEW.value, Change.ESCALATED.value])),
        clock,
    )
    copy_frame(
        RunFlag,
        f.select(
            pl.lit(run.pk, dtype=pl.Int64).alias("run"),
            "case", "rule", "level", "amount", "deadline", "change",
        ),
    )  # fmt: skip
    clock.part("cases.flags")
    return tally


def _open(
    run: ScreeningRun, new: pl.DataFrame, clock: _Clock | None = None
) -> tuple[pl.DataFrame, int]:
    """Insert the new cases (rows of `_apply`'s frame); returns (psn_no, rule, new_pk) of each
    and how many are of people the people ledger does not know."""
    keys = ["psn_no", "rule"]
    if new.height == 0:
        return pl.DataFrame(schema={"psn_no": pl.String, "rule": pl.String, "new_pk": pl.Int64}), 0
    # Only the people who get a new case are looked up in the people ledger.
    clock = clock or _Clock(None)
    ledger = sources.persons_frame(new["psn_no"].unique().to_list())
    clock.part("cases.persons")
    rows = new.join(ledger, on="psn_no", how="left").select(
        "psn_no", "person", "household", "township", "village", "rule", "rule_name",
        pl.lit(run.year, dtype=pl.Int64).alias("year"), "level",
        pl.col("rank").alias("level_rank"), pl.lit(run.date).alias("level_since"),
        pl.col("amount").alias("amount_opened"), pl.col("amount").alias("amount_latest"),
        pl.lit(run.date).alias("amount_date"), "deadline",
        pl.lit(State.PENDING.value).alias("state"),
        pl.lit(run.started_at, dtype=pl.Datetime("us", "UTC")).alias("opened_at"),
        pl.lit(run.pk, dtype=pl.Int64).alias("opened_run"),
        pl.lit(0, dtype=pl.Int64).alias("escalations"), pl.col("closed_pk").alias("previous"),
    )  # fmt: skip
    unmatched = rows["person"].null_count()
    if connection.vendor == "postgresql":
        # Ids taken first, so the events and flags need no read-back.
        rows = rows.with_columns(sources.take_ids(Case, rows.height))
        clock.part("cases.ids")
        copy_frame(Case, rows)
        clock.part("cases.case_rows")
        return rows.select(*keys, pl.col("id").alias("new_pk")), unmatched
    copy_frame(Case, rows)
    back = select_frame(Case, ("id", "psn_no", "rule"), "{opened_run} = %s", [run.pk])
    return back.select(*keys, pl.col("id").alias("new_pk")), unmatched


def _write_events(
    run: ScreeningRun, user: Any, changed: pl.DataFrame, clock: _Clock | None = None
) -> None:
    """The 开案 and 升级 events of a run's new and escalated cases, in one COPY. Their audit
    trail is the run's own entry (module docstring)."""
    who = _user_or_none(user)
    opening = pl.col("change") == Change.NEW.value
    action = (
        pl.when(opening)
        .then(pl.lit(CaseEvent.Action.OPEN.value))
        .otherwise(pl.lit(CaseEvent.Action.ESCALATE.value))
    )
    events = changed.select(
        "case",
        pl.lit(run.pk, dtype=pl.Int64).alias("run"),
        pl.lit(run.started_at, dtype=pl.Datetime("us", "UTC")).alias("at"),
        pl.lit(who.pk if who else None, dtype=pl.Int64).alias("user"),
        pl.lit(_username(user)).alias("username"),
        action.alias("action"),
        pl.lit("").alias("from_state"),
        pl.when(opening).then(pl.lit(State.PENDING.value)).otherwise(pl.lit("")).alias("to_state"),
        pl.when(opening).then(pl.lit("")).otherwise(pl.col("open_level")).alias("from_level"),
        pl.col("level").alias("to_level"),
        _what(pl.col("rule_name"), pl.col("level"), pl.col("amount"), pl.col("deadline"))
        .str.slice(0, 500)
        .alias("what"),
    )
    copy_frame(CaseEvent, events)
    (clock or _Clock(None)).part("cases.events")


def _yuan(fen: pl.Expr) -> pl.Expr:
    """`units.fen_to_yuan` of a column of fen."""
    whole = fen.abs()
    return pl.concat_str(
        pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (whole // 100).cast(pl.String),
        pl.lit("."),
        (whole % 100).cast(pl.String).str.zfill(2),
    )


def _what(rule_name: pl.Expr, level: pl.Expr, amount: pl.Expr, deadline: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        rule_name,
        level,
        pl.lit("预警：年度累计 "),
        _yuan(amount),
        pl.lit(" 元，"),
        deadline.dt.strftime("%Y-%m-%d"),
        pl.lit(" 前入户核查"),
    )


class _Clock:
    """Seconds per stage of a run (`lap`), and within a stage per part (`part`, named
    "stage.part"; a part named twice adds up)."""

    def __init__(self, sink: dict[str, float] | None):
        import time

        self._now = time.perf_counter
        self.sink = sink if sink is not None else {}
        self.t = self.p = self._now()

    def lap(self, name: str) -> None:
        t = self._now()
        self.sink[name] = t - self.t
        self.t = self.p = t

    def part(self, name: str) -> None:
        t = self._now()
        self.sink[name] = self.sink.get(name, 0.0) + t - self.p
        self.p = t


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


_LOOK = object()  # "not known to the caller: look it up"


def transition_problem(
    case: Case, to_state: str, *, visit: Any = _LOOK, measured: Any = _LOOK, answered: Any = _LOOK
) -> str | None:
    """Why `case` cannot move to `to_state` now (Chinese), or None when it can.

    A step that has just written or read what a move needs passes it, so it is not read again:
    `visit` the case's latest visit (or None), `measured` / `answered` whether it has a measure
    / feedback. What is not passed is read from the database, and only when the move needs it.
    """
    if (case.state, to_state) not in TRANSITIONS:
        if case.state == State.CLOSED:
            return "案件已办结，不能再变更状态"
        return (
            f"不能从“{case.state}”直接转为“{to_state}”：须按 待核查→已核查→帮扶中→已办结 逐步办理"
        )
    # Every move but 帮扶中 → 已办结 depends on the latest visit.
    if visit is _LOOK and (case.state, to_state) != (State.ASSISTING, State.CLOSED):
        visit = latest_visit(case)
    if to_state == State.VERIFIED and visit is None:
        return "尚无入户核查记录，不能转为已核查"
    if to_state == State.ASSISTING:
        if visit is None or visit.finding != Finding.RISK:
            return "核查结论不是“有风险”，不能转为帮扶中"
        if not (case.measures.exists() if measured is _LOOK else measured):
            return "尚未录入帮扶措施，不能转为帮扶中"
    if to_state == State.CLOSED:
        if case.state == State.VERIFIED and (visit is None or visit.finding != Finding.NO_RISK):
            return "核查结论为有风险，须落实帮扶措施（帮扶中）后才能办结"
        if not (case.feedback.exists() if answered is _LOOK else answered):
            return "尚无帮扶反馈，不能办结"
    return None


def _locked(case: Case | int, *related: str) -> Case:
    """The case read again with its row locked (PostgreSQL: SELECT … FOR UPDATE), so two
    officers working it at once take their steps one after the other."""
    pk = case.pk if isinstance(case, Case) else case
    rows = (
        Case.objects.select_for_update(of=("self",))
        if related
        else Case.objects.select_for_update()
    )
    return rows.select_related(*related).get(pk=pk)


EVENT_FIELDS = ("case", "run", "at", "user", "username", "action", "from_state", "to_state",
                "from_level", "to_level", "what")  # fmt: skip


class _Trail:
    """The events one step (or one batch of steps) records on cases, and their audit entries:
    written at the end, all events in one insert (plain rows: a batch writes thousands) and all
    audit entries in another."""

    def __init__(self, user: Any):
        self.who = _user_or_none(user)
        self.username = _username(user) if self.who else ""
        self.events: list[tuple] = []
        self.summaries: list[str] = []

    def add(
        self, case: Case, action: str, what: str, *, from_state: str = "", to_state: str = ""
    ) -> None:
        self.events.append(
            (case.pk, None, timezone.now(), self.who.pk if self.who else None, self.username,
             action, from_state, to_state, "", "", what[:500])
        )  # fmt: skip
        self.summaries.append(f"{action}：{what}"[:500])

    def write(self) -> None:
        insert_rows(CaseEvent, EVENT_FIELDS, self.events)
        audit.record_many(
            self.who, audit.CHANGE, "warning_case", [e[0] for e in self.events], self.summaries
        )


def _move(case: Case, to_state: str, trail: _Trail, note: str = "", **known: Any) -> None:
    problem = transition_problem(case, to_state, **known)
    if problem:
        raise CaseError(problem)
    before = case.state
    case.state = to_state
    fields = ["state"]
    if to_state == State.CLOSED:
        case.closed_at = timezone.now()
        fields.append("closed_at")
    case.save(update_fields=fields)
    trail.add(case, CaseEvent.Action.MOVE, note or f"{before}→{to_state}", from_state=before,
              to_state=to_state)  # fmt: skip


def move(case: Case | int, to_state: str, *, user: Any = None, note: str = "") -> Case:
    """Move a case to `to_state` if RULES §4 allows it now; CaseError otherwise."""
    trail = _Trail(user)
    with transaction.atomic():
        case = _locked(case)
        _move(case, to_state, trail, note)
        trail.write()
    return case


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
    from fangpin.warnings.steps import VisitStep, record_visits

    return record_visits([VisitStep(case, date, finding, visitor, note, photo)], user=user)[0]


def attach_visit_form(visit: Visit | int, photo: UploadedFile, *, user: Any = None) -> Visit:
    """Attach (or replace) the photo of the signed visit form; the old file stays on disk."""
    _check_photo(photo)
    trail = _Trail(user)
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update(of=("self",))
            .select_related("case")
            .get(pk=visit.pk if isinstance(visit, Visit) else visit)
        )
        visit.form_photo.save(_photo_name(visit.case, photo), photo, save=False)
        visit.save(update_fields=["form_photo"])
        trail.add(visit.case, CaseEvent.Action.PHOTO, f"上传 {visit.date.isoformat()} 核查表照片")
        trail.write()
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
    from fangpin.warnings.steps import MeasureStep, add_measures

    return add_measures([MeasureStep(case, kind, date, amount, note)], user=user)[0]


def add_feedback(case: Case | int, *, text: str, date: dt.date, user: Any = None) -> Feedback:
    """Record the township's feedback (帮扶反馈) on a visited case."""
    from fangpin.warnings.steps import FeedbackStep, add_feedbacks

    return add_feedbacks([FeedbackStep(case, text, date)], user=user)[0]


def close_case(
    case: Case | int, *, user: Any = None, feedback: str | None = None, date: dt.date | None = None
) -> Case:
    """Close a case (已办结); `feedback`, when given, is recorded first. Refused without feedback,
    from 待核查, and from 已核查 when the visit found risk."""
    from fangpin.warnings.steps import CloseStep, close_cases

    return close_cases([CloseStep(case, feedback, date)], user=user)[0]


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
