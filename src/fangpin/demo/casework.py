"""Townships working the month's warning cases, through the case services (RULES §4).

Each case gets a fate from a stable hash of the seed, the person and the rule, so a demo built
twice works the same cases the same way: most are visited within the deadline and closed
(with or without a finding of risk and a measure), some are still being assisted at the end,
and some are never visited and stay overdue. Whoever the case belongs to does the work: the
township's 乡镇专干 where the demo made one (one township), otherwise the county's officer,
who stands in for the other townships and takes the people with no township in the ledger.
Every step is re-entrant: a case is only taken as far as it has not gone yet.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

from fangpin.warnings.models import Case, Finding, MeasureKind, State
from fangpin.warnings.services import add_feedback, add_measure, close_case, record_visit

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
    done = CaseWork()
    cases = (
        Case.objects.exclude(state=State.CLOSED)
        .filter(level_since__lte=run_date)
        .select_related("opened_run")
        .order_by("pk")
    )
    for case in cases.iterator(chunk_size=500):
        fate = fate_of(seed, case)
        if fate == OVERDUE:
            continue
        user = actors.get(case.township_id, county_user)
        lag = 1 + _draw(seed, case, case.level_since.isoformat()) % 4
        visit_day = _on(case.level_since + dt.timedelta(days=lag), today)
        visited = case.visits.filter(date__gte=case.level_since).exists()
        if not visited:
            risk = fate in (RISK_CLOSED, ASSISTING)
            record_visit(
                case,
                date=visit_day,
                finding=Finding.RISK if risk else Finding.NO_RISK,
                user=user,
                visitor=user.first_name or user.username,
                note="入户核查，医疗费用负担较重，家庭收入有限"
                if risk
                else "入户核查，家庭收入稳定，暂无返贫风险",
            )
            done.visits += 1
            case.refresh_from_db(fields=["state"])
        if fate in (RISK_CLOSED, ASSISTING) and not case.measures.exists():
            kind = MEASURES[_draw(seed, case, "measure") % len(MEASURES)]
            amount = 100 * (500 + _draw(seed, case, "amount") % 4500) if kind in (
                MeasureKind.MEDICAL_ASSISTANCE, MeasureKind.TEMPORARY_ASSISTANCE
            ) else None  # fmt: skip
            add_measure(
                case,
                kind=kind,
                date=_on(visit_day + dt.timedelta(days=2), today),
                user=user,
                amount=amount,
            )
            done.measures += 1
        if fate in (NO_RISK, RISK_CLOSED):
            text = (
                "经核查无需帮扶，已告知户主"
                if fate == NO_RISK
                else "帮扶措施已落实，费用负担明显减轻"
            )
            close_case(
                case, user=user, feedback=text, date=_on(visit_day + dt.timedelta(days=7), today)
            )
            done.feedback += 1
            done.closed += 1
        elif fate == ASSISTING and not case.feedback.exists():
            add_feedback(
                case,
                text="帮扶进行中，持续跟踪费用情况",
                date=_on(visit_day + dt.timedelta(days=5), today),
                user=user,
            )
            done.feedback += 1
    return done
