"""Working days in China (法定节假日 and adjusted working days), for deadlines (RULES §4, §6)."""

from __future__ import annotations

import datetime as dt


def is_workday(day: dt.date) -> bool:
    """A working day by the State Council's calendar; Monday to Friday outside its years."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # The calendar is published a year at a time; past its end, weekdays are the best guess.
        return day.weekday() < 5


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start` (the start day itself does not count)."""
    day = start
    left = n
    while left > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day
