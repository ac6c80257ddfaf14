"""The one working-day calendar of the hub: official where known, provisional where not, never an exception.

A day is classified, in this order, by
1. an official schedule file (:mod:`hub.working_calendar.schedule_file`) that sets that day or covers its year;
2. ``chinese-calendar`` for the years it knows (2004 to its last release's year);
3. the provisional rule (:mod:`hub.working_calendar.statutory`): weekends and fixed-date statutory days rest.

A deadline counted over any provisional day is *provisional*: it is marked so in the request row, the
deadline events and the API, and recomputed when the official schedule becomes known.

"Within N working days of day D" (004 §13, 失信规定 art. 9-10, 004 §23) is read as: due by the end
(24:00 China time) of the N-th working day after D; day D itself never counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar

from hub.clock import CHINA_TZ
from hub.working_calendar.schedule_file import YearSchedule
from hub.working_calendar.statutory import provisional_is_working

LIBRARY = f"chinese-calendar {chinese_calendar.__version__}"
_PROBE_YEARS = range(2000, 2201)


def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


#: the years chinese-calendar has official data for
LIBRARY_YEARS: frozenset[int] = frozenset(y for y in _PROBE_YEARS if _library_covers(y))


def china_date(ms: int) -> date:
    """The China-time date of an epoch-milliseconds instant."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(CHINA_TZ).date()


def end_of_day_ms(day: date) -> int:
    """24:00 China time at the end of ``day``, as epoch milliseconds (the instant a day-deadline passes)."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ)
    return int(midnight.astimezone(UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class DueDay:
    """The last day of a working-day period, and whether any day counted was only provisionally known."""

    day: date
    provisional: bool
    end_ms: int  # 24:00 China time at the end of ``day``: the instant the deadline passes


class WorkingCalendar:
    """Immutable: built from the schedule files once; a changed set of files makes a new calendar."""

    def __init__(self, schedules: Iterable[YearSchedule] = (), *,
                 library_years: frozenset[int] = LIBRARY_YEARS) -> None:
        self.schedules: dict[int, YearSchedule] = {s.year: s for s in schedules}
        self.library_years = library_years
        self._set: dict[date, bool] = {}
        for year in sorted(self.schedules):  # a later year's notice may set the last day of the one before
            self._set.update(self.schedules[year].overrides())
        self._days: dict[date, tuple[bool, bool]] = {}
        self._added: dict[tuple[date, int], DueDay] = {}
        parts = [LIBRARY, *(f"{y}:{s.digest}" for y, s in sorted(self.schedules.items()))]
        self.fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    # --- days --------------------------------------------------------------------------------------
    def _classify(self, day: date) -> tuple[bool, bool]:
        """(working, official) of ``day``."""
        known = self._days.get(day)
        if known is None:
            if day in self._set:
                known = (self._set[day], True)
            elif day.year in self.schedules:
                known = (day.weekday() < 5, True)
            elif day.year in self.library_years:
                known = (bool(chinese_calendar.is_workday(day)), True)
            else:
                known = (provisional_is_working(day), False)
            self._days[day] = known
        return known

    def is_working_day(self, day: date) -> bool:
        """A working day (including 调休 make-up days); provisional beyond the official years."""
        return self._classify(day)[0]

    def is_official(self, day: date) -> bool:
        return self._classify(day)[1]

    def covers_officially(self, year: int) -> bool:
        return year in self.schedules or year in self.library_years

    @property
    def official_until(self) -> date | None:
        """The last day of the unbroken run of officially known years that contains the present era."""
        years = sorted(y for y in _PROBE_YEARS if self.covers_officially(y))
        if not years:
            return None
        last = years[0]
        for year in years[1:]:
            if year != last + 1:
                break
            last = year
        return date(last, 12, 31)

    # --- periods ----------------------------------------------------------------------------------
    def add_working_days(self, day: date, n: int) -> DueDay:
        """The ``n``-th working day strictly after ``day`` (n >= 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        cached = self._added.get((day, n))
        if cached is not None:
            return cached
        current, counted, provisional = day, 0, False
        while counted < n:
            current += timedelta(days=1)
            working, official = self._classify(current)
            provisional = provisional or not official
            if working:
                counted += 1
        due = DueDay(current, provisional, end_of_day_ms(current))
        if len(self._added) < 65_536:  # every request of a day asks the same question
            self._added[(day, n)] = due
        return due

    def working_days_due(self, start: datetime, n: int) -> DueDay:
        """Due by the end of the ``n``-th working day after the China-time day of ``start``."""
        return self.add_working_days(start.astimezone(CHINA_TZ).date(), n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count
