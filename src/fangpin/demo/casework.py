"""Townships working the month's warning cases, through the case services (RULES §4).

Each case gets a fate from a stable hash of the seed, the person and the rule, so a demo built
twice works the same cases the same way: most are visited within the deadline and closed
(with or without a finding of risk and a measure), some are still being assisted at the end,
and some are never visited and stay overdue. Whoever the case belongs to does the work: the
township's 乡镇专干 where the demo made one (one township), otherwise the county's officer,
who stands in for the other townships and takes the people with no township in the ledger.
Every step is re-entrant: a case is only taken as far as it has not gone yet.

A month's work is one transaction (each service's own atomic block becomes a savepoint in
it), and what the cases already have (visits since their level, measures, feedback) is read
once for all of them rather than case by case. Each officer's month goes through the batch
verbs of `warnings.steps` (the checks of the one-case verbs, a table at a time): first all
their visits, then their measures, their feedback and their closings.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from fangpin.warnings.models import Case, Feedback, Finding, Measure, MeasureKind, State, Visit
from fangpin.warnings.steps import (
    CloseStep,
    FeedbackStep,
    MeasureStep,
    VisitStep,
    add_feedbacks,
    add_measures,
    close_cases,
    record_visits,
)

# Shares of the fates, out of 100; a red case is never left unvisited in the demo, since seed
# 000's counties report their red warnings visited within 5 working days.
OVERDUE, NO_RISK, RISK_CLOSED, ASSISTING = "overdue", "no_risk", "risk_closed", "assisting"
FATES = ((OVERDUE, 12), (NO_RISK, 38), (RISK_CLOSED, 38), (ASSISTING, 12))
MEASURES = (
    MeasureKind.MEDICAL_ASSISTANCE,
    MeasureKind.TEMPORARY_ASSISTANCE,
    MeasureKind.MONITORING,
    MeasureKind.CHARITY,
    MeasureKind.DIBAO,
)


@dataclass
class CaseWork:
    visits: int = 0
    measures: int = 0
    feedback: int = 0
    closed: int = 0

    def add(self, other: CaseWork) -> None:
        for f in ("visits", "measures", "feedback", "closed"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def _draw(seed: int, case: Case, salt: str) -> int:
    return zlib.crc32(f"{seed}|{case.psn_no}|{case.rule}|{case.year}|{salt}".encode())


def fate_of(seed: int, case: Case) -> str:
    n = _draw(seed, case, "fate") % 100
    for fate, share in FATES:
        if n < share:
            return OVERDUE if fate == OVERDUE and case.level == "红色" else fate
        n -= share
    return FATES[-1][0]


def _on(day: dt.date, today: dt.date) -> dt.date:
    return min(day, today)


def work_cases(run_date: dt.date, seed: int, actors: dict, county_user, today: dt.date) -> CaseWork:
    """Take every open case up to `run_date` one step further along its fate; returns what was
    recorded. `actors`: township area pk -> that township's user."""
    with transaction.atomic():
        return _work(run_date, seed, actors, county_user, today)


def _work(run_date: dt.date, seed: int, actors: dict, county_user, today: dt.date) -> CaseWork:
    done = CaseWork()
    open_ = Case.objects.exclude(state=State.CLOSED).filter(level_since__lte=run_date)
    cases = [
        c
        for c in open_.only(
            "pk", "psn_no", "rule", "year", "level", "level_since", "township_id"
        ).order_by("pk")
        if fate_of(seed, c) != OVERDUE
    ]
    visited = _having(Visit.objects.filter(date__gte=F("case__level_since")), open_)
    measured = _having(Measure.objects.all(), open_)
    answered = _having(Feedback.objects.all(), open_)
    # Each officer's steps, a kind at a time: every case's visit comes before its measure,
    # and its measure before its feedback or closing.
    steps: dict[int, tuple[object, list, list, list, list]] = {}
    for case in cases:
        fate = fate_of(seed, case)
        user = actors.get(case.township_id, county_user)
        visits, measures, feedback, closing = steps.setdefault(user.pk, (user, [], [], [], []))[1:]
        lag = 1 + _draw(seed, case, case.level_since.isoformat()) % 4
        visit_day = _on(case.level_since + dt.timedelta(days=lag), today)
        if case.pk not in visited:
            risk = fate in (RISK_CLOSED, ASSISTING)
            visits.append(VisitStep(
                case.pk,
                date=visit_day,
                finding=Finding.RISK if risk else Finding.NO_RISK,
                visitor=user.first_name or user.username,
                note="入户核查，医疗费用负担较重，家庭收入有限"
                if risk
                else "入户核查，家庭收入稳定，暂无返贫风险",
            ))  # fmt: skip
        if fate in (RISK_CLOSED, ASSISTING) and case.pk not in measured:
            kind = MEASURES[_draw(seed, case, "measure") % len(MEASURES)]
            amount = 100 * (500 + _draw(seed, case, "amount") % 4500) if kind in (
                MeasureKind.MEDICAL_ASSISTANCE, MeasureKind.TEMPORARY_ASSISTANCE
            ) else None  # fmt: skip
            measures.append(MeasureStep(
                case.pk, kind=kind, date=_on(visit_day + dt.timedelta(days=2), today), amount=amount
            ))  # fmt: skip
        if fate in (NO_RISK, RISK_CLOSED):
            text = (
                "经核查无需帮扶，已告知户主"
                if fate == NO_RISK
                else "帮扶措施已落实，费用负担明显减轻"
            )
            closing.append(
                CloseStep(case.pk, feedback=text, date=_on(visit_day + dt.timedelta(days=7), today))
            )
        elif fate == ASSISTING and case.pk not in answered:
            feedback.append(FeedbackStep(
                case.pk, text="帮扶进行中，持续跟踪费用情况",
                date=_on(visit_day + dt.timedelta(days=5), today),
            ))  # fmt: skip
    for user, visits, measures, feedback, closing in steps.values():
        done.visits += len(record_visits(visits, user=user))
        done.measures += len(add_measures(measures, user=user))
        done.feedback += len(add_feedbacks(feedback, user=user)) + len(closing)
        done.closed += len(close_cases(closing, user=user))
    return done


def _having(rows, cases) -> set[int]:
    """The pks of `cases` (a queryset) that some row of `rows` belongs to, in one query."""
    return set(rows.filter(case__in=cases.values("pk")).values_list("case_id", flat=True))
