"""Working-day deadlines on the official PRC calendar (失信规定 art. 9-10, 004 §23), real 2025/2026 holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agents.credit.workdays import (
    add_working_days,
    china_date,
    due_ms,
    end_of_day_ms,
    is_working_day,
    working_days_between,
)
from hub.deadlines import working_days_due
from hub.errors import WorkingCalendarUnavailable


def test_make_up_working_days_count_as_working_days() -> None:
    """调休: Sunday 2025-01-26, Saturday 2025-02-08 and Saturday 2026-02-14 are working days."""
    assert is_working_day(date(2025, 1, 26)) and is_working_day(date(2025, 2, 8))
    assert is_working_day(date(2026, 2, 14)) and is_working_day(date(2025, 9, 28))
    assert not is_working_day(date(2025, 1, 29))  # Spring Festival
    assert not is_working_day(date(2025, 10, 6))  # National Day week
    assert not is_working_day(date(2025, 3, 1))  # an ordinary Saturday


@pytest.mark.parametrize(("decided", "due"), [
    (date(2025, 1, 27), date(2025, 2, 7)),  # last day before Spring Festival 2025 (Jan 28 - Feb 4)
    (date(2025, 1, 24), date(2025, 2, 5)),  # Friday: make-up Sunday Jan 26 counts
    (date(2025, 9, 26), date(2025, 9, 30)),  # make-up Sunday Sep 28 before National Day 2025
    (date(2025, 9, 30), date(2025, 10, 11)),  # National Day Oct 1-8; make-up Saturday Oct 11 is day 3
    (date(2026, 2, 13), date(2026, 2, 25)),  # Spring Festival 2026 (Feb 15-23); make-up Saturday Feb 14
    (date(2026, 9, 30), date(2026, 10, 10)),  # National Day 2026; make-up Saturday Oct 10
    (date(2025, 3, 5), date(2025, 3, 10)),  # an ordinary week: Wed -> Mon
])
def test_three_working_days_cross_holiday_weeks_art9_art10(decided: date, due: date) -> None:
    """失信规定 art. 9-10: within 3 working days — the day itself never counts, make-up days do."""
    assert add_working_days(decided, 3) == due
    assert working_days_between(decided, due) == 3


def test_due_instant_agrees_with_the_hub_deadline_rules() -> None:
    """One definition: the list's day-based due time is hub.deadlines' working-day due time."""
    for day in (date(2025, 1, 27), date(2025, 9, 30), date(2026, 2, 13)):
        start = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)  # 09:00 in China
        assert due_ms(day) == int(working_days_due(start, 3).timestamp() * 1000)


def test_deadline_passes_at_midnight_china_time() -> None:
    """Due by the end (24:00 CST) of the 3rd working day: 16:00 UTC that day."""
    assert due_ms(date(2025, 1, 27)) == end_of_day_ms(date(2025, 2, 7))
    assert datetime.fromtimestamp(end_of_day_ms(date(2025, 2, 7)) / 1000, UTC) == datetime(2025, 2, 7, 16, 0,
                                                                                           tzinfo=UTC)
    assert china_date(end_of_day_ms(date(2025, 2, 7)) - 1) == date(2025, 2, 7)
    assert china_date(end_of_day_ms(date(2025, 2, 7))) == date(2025, 2, 8)


def test_year_without_an_official_calendar_is_an_error_not_a_guess() -> None:
    with pytest.raises(WorkingCalendarUnavailable):
        is_working_day(date(2100, 1, 4))
