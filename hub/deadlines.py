"""The legal deadlines of SPEC §6 as one table of configuration (pure functions).

Each request type has one rule: a period in hours or in PRC working days (official calendar with
make-up working days, via chinese-calendar), and a warning threshold as a fraction of the period.
A request not answered by its due time becomes overdue: the court gets a "no answer in time"
outcome, an escalation is raised, and a late answer is still delivered, marked late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from hub.clock import CHINA_TZ


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    rule_id: str
    source: str  # the article the period comes from
    hours: int | None = None
    working_days: int | None = None
    warn_fraction: float = 0.75


_QUERY = DeadlineRule("online-property-query", "004 §13 (5 working days)", working_days=5)
_CONTROL = DeadlineRule("network-control-measure", "003 evaluation indicators (48 hours)", hours=48)
_LIST = DeadlineRule("credit-list-3wd", "003 2017 provisions art. 9-10 (3 working days)", working_days=3)
_RESTRICTION = DeadlineRule("consumption-restriction-lift", "004 §23 (3 working days)", working_days=3)

#: message type (short name) -> rule.  Types without a rule have no answer deadline.
RULES: dict[str, DeadlineRule] = {
    "QueryRequest": _QUERY,
    "IntensiveQueryRequest": _QUERY,
    "FreezeRequest": _CONTROL,
    "ContinueFreezeRequest": _CONTROL,
    "UnfreezeRequest": _CONTROL,
    "DeductRequest": _CONTROL,
    "IdentityLookupRequest": _QUERY,
    "ExitEntryLookupRequest": _QUERY,
    "VehicleLookupRequest": _QUERY,
    "HotelStayLookupRequest": _QUERY,
    "ExitRestrictionRequest": _CONTROL,
    "VehicleSeizureRequest": _CONTROL,
    "LocatePersonRequest": _CONTROL,
    "MeasureRelease": _CONTROL,
    "ListDecision": _LIST,
    "ConsumptionRestriction": _RESTRICTION,
}


def is_working_day(day: date) -> bool:
    """Official PRC working day: weekdays except holidays, plus make-up working days (调休)."""
    return bool(chinese_calendar.is_workday(day))


@lru_cache(maxsize=4096)  # pure; every request of a day asks the same question
def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself does not count)."""
    current, counted = day, 0
    while counted < n:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def working_days_due(start: datetime, n: int) -> datetime:
    """End (24:00 China time) of the ``n``-th working day after the day of ``start``."""
    local_day = start.astimezone(CHINA_TZ).date()
    last = add_working_days(local_day, n)
    return datetime.combine(last + timedelta(days=1), time(0), CHINA_TZ).astimezone(UTC)


def due_at(rule: DeadlineRule, start: datetime) -> datetime:
    if rule.working_days is not None:
        return working_days_due(start, rule.working_days)
    return start + timedelta(hours=rule.hours or 0)


def deadline_ms(message_type: str, start_ms: int) -> tuple[int, int, str] | None:
    """(warn_ms, due_ms, rule_id) of a request of ``message_type`` accepted at ``start_ms``; None without a rule."""
    rule = RULES.get(message_type)
    if rule is None:
        return None
    start = datetime.fromtimestamp(start_ms / 1000, UTC)
    due = int(due_at(rule, start).timestamp() * 1000)
    warn = start_ms + int((due - start_ms) * rule.warn_fraction)
    return warn, due, rule.rule_id
