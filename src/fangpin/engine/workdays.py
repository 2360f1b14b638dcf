"""Working-day arithmetic on the Chinese official calendar (RULES §4, §6).

Follow-up deadlines count working days as the State Council's holiday notice sets them: public
holidays are not working days, and the adjusted Saturdays and Sundays (调休上班) are. The
calendar comes from `chinese_calendar` (PyPI `chinesecalendar`), which knows only the years
whose notice has been published; a date outside them raises `CalendarRangeError` rather than
quietly treating every weekday as a working day.

The whole known range is turned once into a running count of working days, so every question
is a lookup: `add_working_days` finds where the count reaches N more, `working_days_between` is a
difference of two counts.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Protocol

import numpy as np


class CalendarRangeError(ValueError):
    """A working-day question about a year the holiday calendar does not know yet."""


class HasDeadline(Protocol):
    """What `deadline` needs of a warning level (policy.schema.Level has it)."""

    deadline_days: int
    working_days: bool


class _Calendar:
    """Every day of the known years, with the number of working days up to and including it."""

    def __init__(self) -> None:
        import chinese_calendar

        self.version = getattr(chinese_calendar, "__version__", "?")
        holidays, adjusted = chinese_calendar.holidays, chinese_calendar.workdays
        years = [d.year for d in holidays]
        self.first_year, self.last_year = min(years), max(years)
        self.first = dt.date(self.first_year, 1, 1)
        n = (dt.date(self.last_year, 12, 31) - self.first).days + 1
        # `chinese_calendar.is_workday` day by day, built on whole columns: an adjusted working
        # day (调休上班) works whatever its weekday, otherwise Monday to Friday work unless they
        # are a holiday. Asking the package 8,000 times took a second (it re-checks its range
        # on every call).
        work = (self.first.weekday() + np.arange(n)) % 7 < 5
        work[self._offsets(holidays, n)] = False
        work[self._offsets(adjusted, n)] = True
        self.cum = np.cumsum(work, dtype=np.int64)

    def _offsets(self, days, n: int) -> np.ndarray:
        """Where the calendar's days fall in the known range (days outside it left out)."""
        i = np.fromiter(((d - self.first).days for d in days), dtype=np.int64)
        return i[(i >= 0) & (i < n)]

    def index(self, day: dt.date) -> int:
        i = (day - self.first).days
        if i < 0 or i >= len(self.cum):
            self.out_of_range(day.year)
        return i

    def out_of_range(self, year: int) -> None:
        raise CalendarRangeError(
            f"working days of {year} are not known: the Chinese holiday calendar "
            f"(chinesecalendar {self.version}) covers {self.first_year}–{self.last_year}; "
            "upgrade the chinesecalendar package once the State Council publishes that year's holidays"
        )


@lru_cache(maxsize=1)
def _calendar() -> _Calendar:
    return _Calendar()


def _as_date(day: dt.date) -> dt.date:
    # A datetime is a date too; compare and count on the calendar day only.
    return day.date() if isinstance(day, dt.datetime) else day


def known_years() -> tuple[int, int]:
    """The first and last year whose working days are known."""
    cal = _calendar()
    return cal.first_year, cal.last_year


def is_workday(day: dt.date) -> bool:
    """Whether `day` is a working day (adjusted weekend working days included)."""
    cal = _calendar()
    i = cal.index(_as_date(day))
    return bool(cal.cum[i] - (cal.cum[i - 1] if i else 0))


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The Nth working day after `start` (`start` itself never counts); `start` when n is 0."""
    if n < 0:
        raise ValueError(f"a number of working days cannot be negative: {n}")
    start = _as_date(start)
    cal = _calendar()
    i = cal.index(start)
    if n == 0:
        return start
    target = cal.cum[i] + n
    # The first day whose running count reaches the target is that working day.
    j = int(np.searchsorted(cal.cum, target, side="left"))
    if j >= len(cal.cum):
        cal.out_of_range(cal.last_year + 1)
    return cal.first + dt.timedelta(days=j)


def add_working_days_or_weekdays(start: dt.date, n: int) -> dt.date:
    """Like `add_working_days`, but past the published calendar Monday–Friday stand in.

    For bookkeeping deadlines that must never stop an import (a department list received in
    late December): a best guess there beats refusing the list. Warning deadlines use the strict
    `add_working_days`.
    """
    try:
        return add_working_days(start, n)
    except CalendarRangeError:
        pass
    cal = _calendar()
    day, left = _as_date(start), n
    while left > 0:
        day += dt.timedelta(days=1)
        known = cal.first <= day <= dt.date(cal.last_year, 12, 31)
        if is_workday(day) if known else day.weekday() < 5:
            left -= 1
    return day


def add_calendar_days(start: dt.date, n: int) -> dt.date:
    """`start` plus N calendar days (holidays count like any other day)."""
    if n < 0:
        raise ValueError(f"a number of days cannot be negative: {n}")
    return _as_date(start) + dt.timedelta(days=n)


def deadline(start: dt.date, level: HasDeadline) -> dt.date:
    """A warning level's follow-up deadline for a screening on `start` (RULES §4)."""
    if level.working_days:
        return add_working_days(start, level.deadline_days)
    return add_calendar_days(start, level.deadline_days)


def working_days_between(a: dt.date, b: dt.date) -> int:
    """Working days after `a` up to and including `b`; negative when `b` is before `a`.

    The inverse of `add_working_days`: `working_days_between(s, add_working_days(s, n)) == n`.
    For a case whose deadline is `a`, the value on day `b` is how many working days it is overdue.
    """
    cal = _calendar()
    return int(cal.cum[cal.index(_as_date(b))] - cal.cum[cal.index(_as_date(a))])


__all__ = [
    "CalendarRangeError",
    "add_calendar_days",
    "add_working_days",
    "add_working_days_or_weekdays",
    "deadline",
    "is_workday",
    "known_years",
    "working_days_between",
]
