"""Legal deadlines (SPEC §6) on the official PRC calendar, make-up working days included."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from hub.clock import CHINA_TZ
from hub.deadlines import RULES, Deadline, deadline_ms
from hub.lifecycle import State as S
from hub.lifecycle import new_record, recompute_deadline, transition
from hub.working_calendar import WorkingCalendar
from hub.working_calendar.schedule_file import read_schedule

CAL = WorkingCalendar()
FIXTURE = Path(__file__).resolve().parents[2] / "data" / "calendar" / "2027.toml"


def _cn(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=CHINA_TZ)


def test_make_up_working_days_count_and_holidays_do_not() -> None:
    """Spring Festival 2025: 28 Jan - 4 Feb off; Sun 26 Jan and Sat 8 Feb are make-up working days."""
    assert CAL.is_working_day(date(2025, 1, 26)) and CAL.is_working_day(date(2025, 2, 8))
    assert not CAL.is_working_day(date(2025, 1, 29)) and not CAL.is_working_day(date(2025, 2, 3))


def test_three_working_days_across_spring_festival_003_art9() -> None:
    """A decision on Mon 27 Jan 2025: 5, 6, 7 Feb are the three working days -> due 8 Feb 00:00."""
    due = CAL.working_days_due(_cn(2025, 1, 27), 3)
    assert due.end_ms == int(datetime(2025, 2, 8, tzinfo=CHINA_TZ).timestamp() * 1000) and not due.provisional


def test_three_working_days_across_national_day_003_art9() -> None:
    """National Day 2025: 1-8 Oct off; Sun 28 Sep and Sat 11 Oct are make-up working days."""
    assert CAL.add_working_days(date(2025, 9, 26), 3).day == date(2025, 9, 30)  # Sat 27 off, Sun 28 works
    assert CAL.add_working_days(date(2025, 9, 30), 2).day == date(2025, 10, 10)  # 9 Oct, then 10 Oct
    assert CAL.add_working_days(date(2025, 10, 9), 2).day == date(2025, 10, 11)  # Sat 11 Oct is a working day


def test_control_measures_have_48_hours_and_queries_5_working_days() -> None:
    start = int(_cn(2025, 3, 3).timestamp() * 1000)  # a Monday
    warn, due, rule, provisional = deadline_ms("FreezeRequest", start, CAL) or Deadline(0, 0, "", True)
    assert due - start == 48 * 3600 * 1000 and rule == "network-control-measure" and not provisional
    assert warn is not None and warn - start == int(0.75 * 48 * 3600 * 1000)
    _, due_q, _, _ = deadline_ms("QueryRequest", start, CAL) or Deadline(0, 0, "", True)
    assert datetime.fromtimestamp(due_q / 1000, CHINA_TZ) == _cn(2025, 3, 11, 0)  # 4..10 Mar are the 5 days


def test_every_rule_cites_its_source_and_requests_get_their_deadline() -> None:
    assert all(r.source for r in RULES.values())
    rec = new_record("r", type_="DeductRequest", court="c", case="k", agency="icbc", now_ms=0, partition=0,
                     deadline=deadline_ms("DeductRequest", 0, CAL))
    assert rec.due_ms == 48 * 3600 * 1000 and rec.rule_id == "network-control-measure"
    assert rec.warn_ms is not None and rec.warn_ms < rec.due_ms
    assert deadline_ms("PropertyViewed", 0, CAL) is None


def test_query_accepted_on_28_december_2026_is_provisional_and_recounted_on_the_schedule_004_s13() -> None:
    """chinese-calendar ends with 2026: the 5 working days run into 2027, counted provisionally, never an error;
    the loaded 2027 schedule (test fixture: 31 Dec 2026 - 3 Jan 2027 off) counts them again."""
    start = int(_cn(2026, 12, 28).timestamp() * 1000)
    for type_ in ("QueryRequest", "IntensiveQueryRequest"):
        deadline = deadline_ms(type_, start, CAL)
        assert deadline is not None and deadline.provisional
        assert deadline.due_ms == int(_cn(2027, 1, 6, 0).timestamp() * 1000)  # end of Tue 5 Jan
    rec = new_record("q", type_="QueryRequest", court="c", case="k", agency="icbc", now_ms=start, partition=0,
                     deadline=deadline_ms("QueryRequest", start, CAL))
    rec = transition(transition(rec, S.ROUTED, start), S.DELIVERED, start)
    assert rec.provisional and recompute_deadline(rec, CAL) is None  # nothing new to count on
    official = recompute_deadline(rec, WorkingCalendar([read_schedule(FIXTURE)]))
    assert official is not None and not official.provisional and official.state == "delivered"
    assert official.due_ms == int(_cn(2027, 1, 7, 0).timestamp() * 1000)  # 29, 30 Dec, 4, 5, 6 Jan
    assert official.warn_ms == start + int((official.due_ms - start) * 0.75)
    assert recompute_deadline(official, CAL) is None  # an official deadline is never counted again
