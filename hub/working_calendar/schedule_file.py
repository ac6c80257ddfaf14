"""One year's official holiday schedule as data: a ``<year>.toml`` file, read and validated.

The General Office of the State Council publishes each year's schedule (国务院办公厅关于某年部分节假日
安排的通知) around November-December of the year before; ``chinese-calendar`` releases follow later.  An
operator types the notice into a small file and the hub uses it at once (see ``interop-hub calendar``)::

    year = 2027
    notice = "国办发明电〔2026〕12号"     # the notice the data comes from

    [[holiday]]
    festivals = ["元旦"]                 # one or more of the seven statutory festivals
    first = 2027-01-01                   # first and last rest day of the holiday (inclusive)
    last = 2027-01-03
    make_up = []                         # make-up working days (调休上班) that go with it

Every festival of 全国年节及纪念日放假办法 art. 2 appears exactly once; its fixed statutory days (and the
清明 solar-term day) lie inside its holiday; make-up days are Saturdays or Sundays outside every holiday;
holidays do not overlap and lie in the year (a New Year holiday may begin on 31 December of the year
before, as the notices for 2023 and 2024 did).  Every day of the year is then classified: a holiday day
rests, a make-up day works, any other day works from Monday to Friday.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hub.errors import CalendarFileError
from hub.working_calendar.statutory import FESTIVALS, fixed_statutory_days, is_weekend

MAX_HOLIDAY_DAYS = 10  # the longest holiday of any notice so far is 9 days (2025 春节, 2020 extension aside)


@dataclass(frozen=True, slots=True)
class Holiday:
    festivals: tuple[str, ...]
    first: date
    last: date
    make_up: tuple[date, ...]

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """The official classification of every day of ``year`` (plus any day of a holiday that spills over)."""

    year: int
    notice: str
    source: str  # where it was read from (file path or ``<package>``)
    holidays: tuple[Holiday, ...]
    digest: str  # SHA-256 of the file's bytes: what the hub's calendar fingerprint is made of

    def overrides(self) -> dict[date, bool]:
        """day -> working? for the days the notice sets (holiday days rest, make-up days work)."""
        days: dict[date, bool] = {}
        for holiday in self.holidays:
            for day in holiday.days():
                days[day] = False
            for day in holiday.make_up:
                days[day] = True
        return days

    def classify_year(self) -> dict[date, bool]:
        """Every day of the year, working or not."""
        overrides = self.overrides()
        first, days = date(self.year, 1, 1), {}
        while first.year == self.year:
            days[first] = overrides.get(first, not is_weekend(first))
            first += timedelta(days=1)
        return days


def _fail(path: Path, why: str) -> CalendarFileError:
    return CalendarFileError(f"{path.name}: {why}", field="calendar")


def _date(path: Path, value: Any, what: str) -> date:
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise _fail(path, f"{what} must be a TOML date (YYYY-MM-DD), not {value!r}")
    return value


def _holiday(path: Path, n: int, raw: Any) -> Holiday:
    if not isinstance(raw, dict):
        raise _fail(path, f"holiday {n} is not a table")
    unknown = set(raw) - {"festivals", "first", "last", "make_up"}
    if unknown:
        raise _fail(path, f"holiday {n} has unknown keys {sorted(unknown)}")
    festivals = raw.get("festivals")
    if not isinstance(festivals, list) or not festivals or any(f not in FESTIVALS for f in festivals):
        raise _fail(path, f"holiday {n}: festivals must name some of {', '.join(FESTIVALS)}")
    first, last = _date(path, raw.get("first"), f"holiday {n} first"), _date(path, raw.get("last"), f"holiday {n} last")
    if last < first or (last - first).days >= MAX_HOLIDAY_DAYS:
        raise _fail(path, f"holiday {n} ({'、'.join(festivals)}): {first}..{last} is not a holiday of 1 to "
                          f"{MAX_HOLIDAY_DAYS} days")
    make_up = raw.get("make_up", [])
    if not isinstance(make_up, list):
        raise _fail(path, f"holiday {n}: make_up must be a list of dates")
    days = tuple(_date(path, d, f"holiday {n} make_up") for d in make_up)
    return Holiday(tuple(festivals), first, last, days)


def _check(path: Path, year: int, holidays: list[Holiday]) -> None:
    named = [f for h in holidays for f in h.festivals]
    missing = [f for f in FESTIVALS if f not in named]
    repeated = sorted({f for f in named if named.count(f) > 1})
    if missing or repeated:
        raise _fail(path, f"every statutory festival exactly once (全国年节及纪念日放假办法 art. 2): "
                          f"missing {missing}, repeated {repeated}")
    rest: dict[date, str] = {}
    for h in holidays:
        if not (date(year - 1, 12, 31) <= h.first and h.last <= date(year, 12, 31)):
            raise _fail(path, f"{'、'.join(h.festivals)} ({h.first}..{h.last}) is not in {year}")
        for day in h.days():
            if day in rest:
                raise _fail(path, f"{day} is in two holidays ({rest[day]} and {'、'.join(h.festivals)})")
            rest[day] = "、".join(h.festivals)
    for day, festival in fixed_statutory_days(year).items():
        holder = next(h for h in holidays if festival in h.festivals)
        if not holder.first <= day <= holder.last:
            raise _fail(path, f"{day} is a statutory day of {festival} but outside its holiday "
                              f"{holder.first}..{holder.last}")
    seen: set[date] = set()
    for h in holidays:
        for day in h.make_up:
            if day.year != year or not is_weekend(day):
                raise _fail(path, f"make-up working day {day} must be a Saturday or Sunday of {year}")
            if day in rest or day in seen:
                raise _fail(path, f"make-up working day {day} is also a rest day or listed twice")
            seen.add(day)


def parse_schedule(path: Path, data: bytes) -> YearSchedule:
    """Read and validate one schedule file's bytes (raises :class:`CalendarFileError`)."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _fail(path, f"not valid UTF-8 TOML: {exc}") from exc
    unknown = set(doc) - {"year", "notice", "holiday"}
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}")
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2200:
        raise _fail(path, "year must be an integer year")
    if path.stem != str(year):
        raise _fail(path, f"a schedule for {year} must be named {year}.toml")
    notice = doc.get("notice")
    if not isinstance(notice, str) or not notice.strip():
        raise _fail(path, "notice must name the State Council notice the schedule comes from")
    raw = doc.get("holiday")
    if not isinstance(raw, list):
        raise _fail(path, "no [[holiday]] tables")
    holidays = [_holiday(path, n, h) for n, h in enumerate(raw, 1)]
    _check(path, year, holidays)
    return YearSchedule(year, notice.strip(), str(path), tuple(sorted(holidays, key=lambda h: h.first)),
                        hashlib.sha256(data).hexdigest())


def read_bytes(path: Path) -> bytes:
    """A schedule file's bytes (raises :class:`CalendarFileError` when it cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from exc


def read_schedule(path: Path) -> YearSchedule:
    return parse_schedule(path, read_bytes(path))
