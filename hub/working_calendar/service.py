"""Where a process gets its working-day calendar: schedule files in the repo and the data dir, re-read on change.

Files are read from ``hub/working_calendar/schedules/`` (shipped with the code) and then from
``<data_dir>/calendar/`` (installed by an operator with ``interop-hub calendar load``); a data-dir file
replaces a shipped file of the same year.  At start an invalid file stops the process with a clear error;
later, a change to the files is picked up within :data:`POLL_S` seconds (an invalid change is logged and
the calendar in use is kept), and every rule then sees the new calendar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from hub.errors import CalendarFileError
from hub.working_calendar.schedule_file import YearSchedule, read_schedule
from hub.working_calendar.workdays import LIBRARY, WorkingCalendar

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent / "schedules"
POLL_S = 5.0

Fingerprint = tuple[tuple[str, int, int], ...]


def calendar_dirs(data_dir: Path) -> list[Path]:
    """The shipped schedules, then the operator's (later wins)."""
    return [SHIPPED_DIR, Path(data_dir) / "calendar"]


def _files(dirs: Sequence[Path]) -> list[Path]:
    return [p for d in dirs if d.is_dir() for p in sorted(d.glob("*.toml"))]


def _fingerprint(dirs: Sequence[Path]) -> Fingerprint:
    out = []
    for path in _files(dirs):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


def read_schedules(dirs: Sequence[Path]) -> tuple[list[YearSchedule], list[str]]:
    """Every schedule of ``dirs`` (a later directory replaces a year of an earlier one), and what replaced what."""
    by_year: dict[int, YearSchedule] = {}
    notes = []
    for path in _files(dirs):
        schedule = read_schedule(path)
        if schedule.year in by_year:
            notes.append(f"{schedule.year}: {path} replaces {by_year[schedule.year].source}")
        by_year[schedule.year] = schedule
    return [by_year[y] for y in sorted(by_year)], notes


def _day_kind(working: bool) -> str:
    return "working" if working else "rest"


def describe(calendar: WorkingCalendar) -> list[str]:
    """What the schedule files add to the library and where they disagree with it (said at start)."""
    library = WorkingCalendar(())
    lines = []
    for year, schedule in sorted(calendar.schedules.items()):
        days = schedule.classify_year()
        head = f"{year} from {schedule.source} ({schedule.notice})"
        if year not in calendar.library_years:
            working = sum(days.values())
            make_up = sum(len(h.make_up) for h in schedule.holidays)
            lines.append(f"{head}: adds a year {LIBRARY} does not know: {working} working days, "
                         f"{len(days) - working} rest days, {make_up} make-up working days")
        differ = sorted(d for d in set(days) | set(schedule.overrides())
                        if library.is_official(d) and library.is_working_day(d) != calendar.is_working_day(d))
        if differ:
            shown = ", ".join(f"{d} (now {_day_kind(calendar.is_working_day(d))}, library: "
                              f"{_day_kind(library.is_working_day(d))})" for d in differ[:10])
            lines.append(f"{head}: DISAGREES with {LIBRARY} on {len(differ)} days, the file is used: {shown}")
        elif year in calendar.library_years:
            lines.append(f"{head}: agrees with {LIBRARY} on every day")
    lines.append(f"working days are official until {calendar.official_until}; later days are provisional "
                 "(weekends, 元旦, 清明, 劳动节 and 国庆节 rest; deadlines over them are marked provisional and "
                 "recounted when the schedule is loaded)")
    return lines


class CalendarService:
    """The calendar a process uses now; :meth:`refresh` swaps in a new one when the files change."""

    def __init__(self, dirs: Sequence[Path], *, poll_s: float = POLL_S) -> None:
        self.dirs = list(dirs)
        self.poll_s = poll_s
        self.current = WorkingCalendar()
        self.report: list[str] = describe(self.current)
        self._seen: Fingerprint = ()
        self._checked = 0.0

    def load(self) -> list[str]:
        """Read the files now (raises :class:`CalendarFileError`); returns the report."""
        seen = _fingerprint(self.dirs)
        schedules, notes = read_schedules(self.dirs)
        self.current = WorkingCalendar(schedules)
        self.report = [*notes, *describe(self.current)]
        self._seen = seen
        return self.report

    def refresh(self) -> bool:
        """Re-read the files if they changed (at most every ``poll_s``); True if the calendar changed."""
        now = time.monotonic()
        if now - self._checked < self.poll_s:
            return False
        self._checked = now
        seen = _fingerprint(self.dirs)
        if seen == self._seen:
            return False
        before = self.current.fingerprint
        try:
            self.load()
        except CalendarFileError as exc:
            self._seen = seen  # report a bad file once, not on every poll
            log.error("working calendar not reloaded, keeping %s: %s", before, exc)
            return False
        for line in self.report:
            log.info("working calendar: %s", line)
        return self.current.fingerprint != before
