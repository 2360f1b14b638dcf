"""Working-day deadlines follow the State Council's holiday calendar."""

import datetime as dt

from fangpin.engine.workdays import add_working_days_or_weekdays as add_working_days
from fangpin.engine.workdays import is_workday


def test_holidays_are_skipped_and_adjusted_saturdays_count():
    assert not is_workday(dt.date(2025, 10, 1))  # National Day
    assert is_workday(dt.date(2025, 9, 28))  # a Sunday worked in exchange
    assert add_working_days(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)
    assert add_working_days(dt.date(2025, 1, 24), 5) == dt.date(
        2025, 2, 7
    )  # across Spring Festival


def test_an_ordinary_week_and_zero_days():
    assert add_working_days(dt.date(2025, 3, 3), 5) == dt.date(2025, 3, 10)  # Mon + 5 = next Mon
    assert add_working_days(dt.date(2025, 3, 7), 0) == dt.date(2025, 3, 7)


def test_beyond_the_published_calendar_weekdays_are_used():
    assert add_working_days(dt.date(2031, 1, 3), 1) == dt.date(2031, 1, 6)  # Friday -> Monday
