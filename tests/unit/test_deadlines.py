"""Legal deadlines (SPEC §6) on the official PRC calendar, make-up working days included."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.clock import CHINA_TZ
from hub.deadlines import RULES, add_working_days, deadline_ms, is_working_day, working_days_due
from hub.lifecycle import new_record


def _cn(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=CHINA_TZ)


def test_make_up_working_days_count_and_holidays_do_not() -> None:
    """Spring Festival 2025: 28 Jan - 4 Feb off; Sun 26 Jan and Sat 8 Feb are make-up working days."""
    assert is_working_day(date(2025, 1, 26)) and is_working_day(date(2025, 2, 8))
    assert not is_working_day(date(2025, 1, 29)) and not is_working_day(date(2025, 2, 3))


def test_three_working_days_across_spring_festival_003_art9() -> None:
    """A decision on Mon 27 Jan 2025: 5, 6, 7 Feb are the three working days -> due 8 Feb 00:00."""
    assert working_days_due(_cn(2025, 1, 27), 3) == datetime(2025, 2, 8, tzinfo=CHINA_TZ).astimezone(UTC)


def test_three_working_days_across_national_day_003_art9() -> None:
    """National Day 2025: 1-8 Oct off; Sun 28 Sep and Sat 11 Oct are make-up working days."""
    assert add_working_days(date(2025, 9, 26), 3) == date(2025, 9, 30)  # Sat 27 off, Sun 28 works
    assert add_working_days(date(2025, 9, 30), 2) == date(2025, 10, 10)  # 9 Oct, then 10 Oct
    assert add_working_days(date(2025, 10, 9), 2) == date(2025, 10, 11)  # Sat 11 Oct is a working day


def test_control_measures_have_48_hours_and_queries_5_working_days() -> None:
    start = int(_cn(2025, 3, 3).timestamp() * 1000)  # a Monday
    warn, due, rule = deadline_ms("FreezeRequest", start) or (0, 0, "")
    assert due - start == 48 * 3600 * 1000 and rule == "network-control-measure"
    assert warn - start == int(0.75 * 48 * 3600 * 1000)
    _, due_q, _ = deadline_ms("QueryRequest", start) or (0, 0, "")
    assert datetime.fromtimestamp(due_q / 1000, CHINA_TZ) == _cn(2025, 3, 11, 0)  # 4..10 Mar are the 5 days


def test_every_rule_cites_its_source_and_requests_get_their_deadline() -> None:
    assert all(r.source for r in RULES.values())
    rec = new_record("r", type_="DeductRequest", court="c", case="k", agency="icbc", now_ms=0, partition=0)
    assert rec["due"] == 48 * 3600 * 1000 and rec["rule"] == "network-control-measure" and rec["warn"] < rec["due"]
    assert new_record("r", type_="PropertyViewed", court="c", case="k", agency="hub", now_ms=0,
                      partition=0)["due"] is None
