"""The hub's one working-day calendar (SPEC §6): official schedules, provisional days beyond them.

Real 2025/2026 holidays from chinese-calendar; 2027 from the library's absence and from a test schedule
file (tests/data/calendar/2027.toml, illustrative, not the State Council's notice).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hub.errors import CalendarFileError
from hub.working_calendar import CalendarService, WorkingCalendar, china_date, end_of_day_ms
from hub.working_calendar.schedule_file import parse_schedule, read_schedule
from hub.working_calendar.service import describe
from hub.working_calendar.statutory import fixed_statutory_days, qingming
from hub.working_calendar.workdays import LIBRARY_YEARS

FIXTURE = Path(__file__).resolve().parents[3] / "data" / "calendar" / "2027.toml"
LIBRARY = WorkingCalendar(())
WITH_2027 = WorkingCalendar([read_schedule(FIXTURE)])


# --- the official calendar (chinese-calendar) --------------------------------------------------------
def test_make_up_working_days_count_as_working_days() -> None:
    """调休: Sunday 2025-01-26, Saturday 2025-02-08 and Saturday 2026-02-14 are working days."""
    assert LIBRARY.is_working_day(date(2025, 1, 26)) and LIBRARY.is_working_day(date(2025, 2, 8))
    assert LIBRARY.is_working_day(date(2026, 2, 14)) and LIBRARY.is_working_day(date(2025, 9, 28))
    assert not LIBRARY.is_working_day(date(2025, 1, 29))  # Spring Festival
    assert not LIBRARY.is_working_day(date(2025, 10, 6))  # National Day week
    assert not LIBRARY.is_working_day(date(2025, 3, 1))  # an ordinary Saturday


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
    result = LIBRARY.add_working_days(decided, 3)
    assert result.day == due and not result.provisional
    assert LIBRARY.working_days_between(decided, due) == 3


def test_deadline_passes_at_midnight_china_time() -> None:
    """Due by the end (24:00 CST) of the 3rd working day: 16:00 UTC that day."""
    assert LIBRARY.add_working_days(date(2025, 1, 27), 3).end_ms == end_of_day_ms(date(2025, 2, 7))
    assert datetime.fromtimestamp(end_of_day_ms(date(2025, 2, 7)) / 1000, UTC) == datetime(2025, 2, 7, 16,
                                                                                           tzinfo=UTC)
    assert china_date(end_of_day_ms(date(2025, 2, 7)) - 1) == date(2025, 2, 7)
    assert china_date(end_of_day_ms(date(2025, 2, 7))) == date(2025, 2, 8)


# --- beyond the library: provisional, never an exception --------------------------------------------------
def test_library_stops_at_2026_and_the_official_coverage_says_so() -> None:
    assert 2026 in LIBRARY_YEARS and 2027 not in LIBRARY_YEARS
    assert LIBRARY.official_until == date(2026, 12, 31)
    assert LIBRARY.is_official(date(2026, 12, 31)) and not LIBRARY.is_official(date(2027, 1, 1))


def test_provisional_year_rests_on_weekends_and_fixed_statutory_days_holiday_regulations_art2() -> None:
    """全国年节及纪念日放假办法 art. 2: 1 Jan, 清明 (solar term), 1-2 May, 1-3 Oct are fixed; lunar days unknown."""
    assert qingming(2027) == date(2027, 4, 5) and qingming(2025) == date(2025, 4, 4)
    assert set(fixed_statutory_days(2027)) == {date(2027, 1, 1), date(2027, 4, 5), date(2027, 5, 1),
                                               date(2027, 5, 2), date(2027, 10, 1), date(2027, 10, 2),
                                               date(2027, 10, 3)}
    for day in fixed_statutory_days(2027):
        assert not LIBRARY.is_working_day(day)
    assert not LIBRARY.is_working_day(date(2027, 1, 2))  # Saturday
    assert LIBRARY.is_working_day(date(2027, 1, 4))  # Monday
    assert LIBRARY.is_working_day(date(2027, 2, 8))  # 春节 is lunar: not guessed, the schedule file corrects it
    assert not LIBRARY.is_working_day(date(2100, 1, 1))  # any year, no exception


def test_query_accepted_on_28_december_2026_gets_a_provisional_due_004_s13() -> None:
    """5 working days from Mon 2026-12-28: 29, 30, 31 Dec (official), 4 and 5 Jan 2027 (provisional)."""
    due = LIBRARY.add_working_days(date(2026, 12, 28), 5)
    assert due.day == date(2027, 1, 5) and due.provisional
    assert not LIBRARY.add_working_days(date(2026, 12, 21), 5).provisional  # counted only over 2026


def test_a_loaded_schedule_makes_the_year_official_and_recounts() -> None:
    """The fixture's 元旦 holiday starts on Thu 2026-12-31 with a make-up Saturday 2027-01-09."""
    assert WITH_2027.official_until == date(2027, 12, 31)
    assert not WITH_2027.is_working_day(date(2026, 12, 31))  # the 2027 notice sets the day before the year
    assert WITH_2027.is_working_day(date(2027, 1, 9)) and not WITH_2027.is_working_day(date(2027, 2, 8))
    due = WITH_2027.add_working_days(date(2026, 12, 28), 5)
    assert due.day == date(2027, 1, 6) and not due.provisional
    assert WITH_2027.fingerprint != LIBRARY.fingerprint


# --- schedule files -----------------------------------------------------------------------------------------
def _variant(old: str, new: str) -> bytes:
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(("old", "new", "why"), [
    ('festivals = ["端午节"]', 'festivals = ["中秋节"]', "exactly once"),
    ("make_up = [2027-01-09]", "make_up = [2027-01-08]", "Saturday or Sunday"),
    ("make_up = [2027-01-09]", "make_up = [2027-01-02]", "also a rest day"),
    ("first = 2027-10-01\nlast = 2027-10-07", "first = 2027-10-02\nlast = 2027-10-07", "statutory day"),
    ("first = 2027-04-03\nlast = 2027-04-05", "first = 2027-04-03\nlast = 2027-04-04", "statutory day"),
    ("first = 2027-06-09\nlast = 2027-06-09", "first = 2027-05-05\nlast = 2027-05-05", "two holidays"),
    ("first = 2027-09-15\nlast = 2027-09-15", "first = 2027-09-15\nlast = 2027-09-30", "1 to 10 days"),
    ("year = 2027", "year = 2028", "named 2028.toml"),
    ('notice = "', 'notice = " "\nx = "', "unknown keys"),
    ("first = 2027-06-09", "first = 2027-06-09T00:00:00", "TOML date"),
    ("[[holiday]]", "[[holiday]\n", "TOML"),
])
def test_schedule_file_is_refused_when_a_rule_is_broken(old: str, new: str, why: str) -> None:
    with pytest.raises(CalendarFileError, match=why):
        parse_schedule(FIXTURE, _variant(old, new))


def test_every_day_of_the_loaded_year_is_classified() -> None:
    days = read_schedule(FIXTURE).classify_year()
    assert len(days) == 365 and min(days) == date(2027, 1, 1) and max(days) == date(2027, 12, 31)
    assert sum(days.values()) == 250  # 261 weekdays - 18 weekday holidays + 7 make-up days


def test_report_says_what_a_file_adds_and_where_it_disagrees_with_the_library() -> None:
    lines = describe(WITH_2027)
    assert any("adds a year chinese-calendar" in line and "250 working days" in line for line in lines)
    assert any("DISAGREES" in line and "2026-12-31 (now rest, library: working)" in line for line in lines)
    assert lines[-1].startswith("working days are official until 2027-12-31")


# --- the service: files in the repo and the data dir, re-read on change ------------------------------------
def test_service_reads_a_new_file_and_keeps_the_calendar_when_a_file_is_bad(tmp_path: Path) -> None:
    shipped, operator = tmp_path / "shipped", tmp_path / "operator"
    shipped.mkdir()
    service = CalendarService([shipped, operator], poll_s=0)
    service.load()
    assert service.current.official_until == date(2026, 12, 31)
    assert not service.refresh()  # nothing changed
    operator.mkdir()
    shutil.copyfile(FIXTURE, operator / "2027.toml")
    assert service.refresh() and service.current.official_until == date(2027, 12, 31)
    good = service.current
    (operator / "2027.toml").write_bytes(_variant("make_up = [2027-01-09]", "make_up = [2027-01-08]"))
    os.utime(operator / "2027.toml", ns=(1, 1))
    assert not service.refresh() and service.current is good  # logged, the calendar in use is kept
    with pytest.raises(CalendarFileError):
        CalendarService([shipped, operator]).load()  # at start: a clear error, no half-read calendar


def test_an_operator_file_replaces_a_shipped_one_of_the_same_year(tmp_path: Path) -> None:
    shipped, operator = tmp_path / "shipped", tmp_path / "operator"
    shipped.mkdir()
    operator.mkdir()
    (shipped / "2027.toml").write_bytes(_variant("make_up = [2027-01-09]", "make_up = []"))
    shutil.copyfile(FIXTURE, operator / "2027.toml")
    service = CalendarService([shipped, operator])
    report = service.load()
    assert any("replaces" in line for line in report)
    assert service.current.is_working_day(date(2027, 1, 9))
