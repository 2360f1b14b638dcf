"""Working days on the Chinese official calendar: holidays skipped, adjusted weekends counted.

The 2025 National Day and Mid-Autumn notice: 1–8 October off; Sunday 28 September and Saturday
11 October are working days. The 2025 Spring Festival: 28 January – 4 February off; Sunday 26
January and Saturday 8 February are working days.
"""

import datetime as dt

import pytest

from fangpin.engine.workdays import (
    CalendarRangeError,
    add_calendar_days,
    add_working_days,
    deadline,
    is_workday,
    known_years,
    working_days_between,
)
from fangpin.policy.schema import Level

D = dt.date


def test_the_national_day_holiday_is_not_worked_but_its_adjusted_weekend_days_are():
    assert is_workday(D(2025, 9, 28))  # Sunday, worked
    assert not is_workday(D(2025, 9, 27))  # Saturday, ordinary weekend
    assert not any(is_workday(D(2025, 10, d)) for d in range(1, 9))
    assert is_workday(D(2025, 10, 11))  # Saturday, worked
    assert not is_workday(D(2025, 10, 12))


def test_five_working_days_after_friday_26_september_2025_end_on_10_october():
    # Sun 28 Sep (1, adjusted), Mon 29 (2), Tue 30 (3), [1–8 Oct off], Thu 9 Oct (4), Fri 10 (5)
    assert add_working_days(D(2025, 9, 26), 5) == D(2025, 10, 10)


def test_five_working_days_after_30_september_2025_count_the_adjusted_saturday_11_october():
    # [1–8 Oct off], Thu 9 (1), Fri 10 (2), Sat 11 (3, adjusted), Mon 13 (4), Tue 14 (5)
    assert add_working_days(D(2025, 9, 30), 5) == D(2025, 10, 14)
    # ... Wed 15 (6), Thu 16 (7), Fri 17 (8), Mon 20 (9), Tue 21 (10)
    assert add_working_days(D(2025, 9, 30), 10) == D(2025, 10, 21)
    # ... 22, 23, 24 (13), 27–31 (18), Mon 3 Nov (19), Tue 4 Nov (20)
    assert add_working_days(D(2025, 9, 30), 20) == D(2025, 11, 4)


def test_the_screening_date_itself_never_counts_and_zero_days_is_the_same_day():
    assert add_working_days(D(2025, 9, 26), 1) == D(2025, 9, 28)  # the next working day is a Sunday
    assert add_working_days(D(2025, 9, 26), 0) == D(2025, 9, 26)


def test_counting_from_inside_a_holiday_starts_at_the_first_working_day_after_it():
    assert add_working_days(D(2025, 10, 3), 1) == D(2025, 10, 9)
    assert add_working_days(D(2025, 1, 27), 1) == D(2025, 2, 5)  # Spring Festival 28 Jan – 4 Feb
    assert add_working_days(D(2025, 1, 24), 1) == D(2025, 1, 26)  # Sunday 26 Jan is worked


def test_working_days_between_is_the_inverse_of_adding_them():
    start = D(2025, 9, 26)
    for n in range(0, 40):
        assert working_days_between(start, add_working_days(start, n)) == n
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 8)) == 0  # all holiday
    assert working_days_between(D(2025, 10, 14), D(2025, 9, 30)) == -5
    assert working_days_between(D(2025, 10, 14), D(2025, 10, 14)) == 0


def test_working_days_between_tells_how_many_working_days_a_deadline_is_overdue():
    due = D(2025, 9, 30)
    assert working_days_between(due, D(2025, 10, 8)) == 0  # not overdue by a working day yet
    assert working_days_between(due, D(2025, 10, 12)) == 3  # 9, 10, 11 October


def test_calendar_days_ignore_holidays():
    assert add_calendar_days(D(2025, 9, 30), 7) == D(2025, 10, 7)
    assert add_calendar_days(D(2025, 12, 28), 7) == D(2026, 1, 4)


def test_a_levels_deadline_is_in_working_or_calendar_days_as_the_pack_says():
    red = Level("红色", 2_000_000, None, 5, True)
    push = Level("推送", None, 20_000, 7, False)
    assert deadline(D(2025, 9, 30), red) == D(2025, 10, 14)
    assert deadline(D(2025, 9, 30), push) == D(2025, 10, 7)


def test_a_datetime_counts_as_its_calendar_day():
    assert add_working_days(dt.datetime(2025, 9, 30, 17, 45), 5) == D(2025, 10, 14)


def test_a_negative_number_of_days_is_refused():
    with pytest.raises(ValueError, match="negative"):
        add_working_days(D(2025, 9, 30), -1)
    with pytest.raises(ValueError, match="negative"):
        add_calendar_days(D(2025, 9, 30), -1)


def test_a_date_in_a_year_the_calendar_does_not_know_is_a_clear_error():
    first, last = known_years()
    assert first <= 2022 and last >= 2025
    with pytest.raises(
        CalendarRangeError, match=rf"working days of {last + 1} are not known.*{first}–{last}"
    ):
        add_working_days(D(last + 1, 3, 2), 1)
    with pytest.raises(CalendarRangeError, match=rf"working days of {first - 1} are not known"):
        is_workday(D(first - 1, 6, 1))
    with pytest.raises(CalendarRangeError, match="upgrade the chinesecalendar package"):
        working_days_between(D(2025, 1, 1), D(last + 1, 1, 1))


def test_a_deadline_that_runs_past_the_last_known_year_is_an_error_not_a_guess():
    _first, last = known_years()
    with pytest.raises(CalendarRangeError, match=rf"working days of {last + 1} are not known"):
        add_working_days(D(last, 12, 28), 10)


def test_every_known_day_is_a_working_day_exactly_when_the_holiday_package_says_so():
    import chinese_calendar

    first, last = known_years()
    day, wrong = D(first, 1, 1), []
    while day <= D(last, 12, 31):
        if is_workday(day) != chinese_calendar.is_workday(day):
            wrong.append(day)
        day += dt.timedelta(days=1)
    assert wrong == []
    # the adjusted Sunday before the 2025 Spring Festival works, its Friday holiday does not
    assert is_workday(D(2025, 1, 26)) and not is_workday(D(2025, 1, 31))
