"""Working days on the official PRC calendar (国务院办公厅 holiday notices), make-up days included.

The calendar is the ``chinese-calendar`` package, read through :mod:`hub.deadlines` (the hub's one
definition of a working day and of "due by the end of the n-th working day"); this module adds the
day-based helpers the list needs and refuses years the package does not cover instead of guessing.
Legal days are days in China Standard Time (:data:`hub.clock.CHINA_TZ`).

"Within N working days of day D" (失信规定 art. 9-10, 004 §23) is read as: the action is due by the
end (24:00 China time) of the N-th working day after D; day D itself never counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar

from hub import deadlines
from hub.clock import CHINA_TZ
from hub.errors import WorkingCalendarUnavailable

#: the deadline of 失信规定 art. 9-10 and 004 §23
THREE_WORKING_DAYS = 3


def _unavailable(day: date) -> WorkingCalendarUnavailable:
    return WorkingCalendarUnavailable(
        f"no official working-day calendar for {day.year} in chinese-calendar {chinese_calendar.__version__}",
        field="date",
    )


def is_working_day(day: date) -> bool:
    """True on a working day of the official calendar (including 调休 make-up days)."""
    try:
        return deadlines.is_working_day(day)
    except NotImplementedError as exc:
        raise _unavailable(day) from exc


def add_working_days(day: date, n: int) -> date:
    """The n-th working day strictly after ``day`` (n >= 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    try:
        return deadlines.add_working_days(day, n)
    except NotImplementedError as exc:
        raise _unavailable(day) from exc


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]: how many working days have passed since ``start`` by ``end``."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def end_of_day_ms(day: date) -> int:
    """24:00 China time at the end of ``day``, as epoch milliseconds (the instant a day-deadline passes)."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ)
    return int(midnight.astimezone(UTC).timestamp() * 1000)


def due_ms(day: date, n: int = THREE_WORKING_DAYS) -> int:
    """When an action "within n working days of ``day``" is overdue (end of the n-th working day after it).

    Same instant as :func:`hub.deadlines.working_days_due` for any moment of ``day``.
    """
    return end_of_day_ms(add_working_days(day, n))


def china_date(ms: int) -> date:
    """The China-time date of an epoch-milliseconds instant."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(CHINA_TZ).date()
