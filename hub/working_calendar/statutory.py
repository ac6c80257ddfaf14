"""What the national holiday regulations fix on their own, without a year's schedule (provisional days).

全国年节及纪念日放假办法 (as amended by the State Council on 2024-11-10, in force 2025-01-01), art. 2:
every citizen has the day off on 元旦 (1 January), 春节 (lunar New Year's Eve and the first three lunar
days), 清明节 (the day of the solar term 清明), 劳动节 (1 and 2 May), 端午节 and 中秋节 (lunar dates) and
国庆节 (1 to 3 October).  Which weekdays are bridged and which weekends become make-up working days (调休)
is set each year by the General Office's notice (国务院办公厅关于某年部分节假日安排的通知); until that is
known, a year is counted *provisionally*: Saturdays and Sundays rest, and so do the statutory days whose
date is fixed by the calendar (the solar-term day 清明 included, which ``chinese-calendar`` computes for any
year).  The lunar festivals are not guessed: the official schedule replaces the whole year once loaded.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar

#: the seven statutory festivals of art. 2 (the names a schedule file uses)
FESTIVALS: tuple[str, ...] = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")

#: festival -> its days whose (month, day) is fixed by art. 2
FIXED_DAYS: dict[str, tuple[tuple[int, int], ...]] = {
    "元旦": ((1, 1),),
    "劳动节": ((5, 1), (5, 2)),
    "国庆节": ((10, 1), (10, 2), (10, 3)),
}

SATURDAY = 5


def is_weekend(day: date) -> bool:
    return day.weekday() >= SATURDAY


@lru_cache(maxsize=256)
def qingming(year: int) -> date:
    """The day of the solar term 清明 in ``year`` (China time), the statutory 清明节 holiday."""
    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    day: date = next(d for d, name in terms if name == "清明")
    return day


def fixed_statutory_days(year: int) -> dict[date, str]:
    """The statutory rest days of ``year`` whose dates need no schedule: day -> festival."""
    days = {date(year, m, d): festival for festival, md in FIXED_DAYS.items() for m, d in md}
    days[qingming(year)] = "清明节"
    return days


def provisional_is_working(day: date) -> bool:
    """A working day unless a weekend or a fixed-date statutory holiday (no bridging, no make-up days)."""
    return not is_weekend(day) and day not in fixed_statutory_days(day.year)
