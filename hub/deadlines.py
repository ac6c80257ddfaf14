"""The legal deadlines of SPEC §6 as one table of configuration (pure functions).

Each request type has one rule: a period in hours or in PRC working days (the hub's one working-day
calendar, :mod:`hub.working_calendar`: official with make-up working days where the schedule is known,
provisional beyond), and a warning threshold as a fraction of the period.
A request not answered by its due time becomes overdue: the court gets a "no answer in time"
outcome, an escalation is raised, and a late answer is still delivered, marked late.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from hub.working_calendar import WorkingCalendar, china_date


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


class Deadline(NamedTuple):
    """When a request is warned about and due, under which rule, and whether a provisional day was counted."""

    warn_ms: int | None
    due_ms: int
    rule_id: str
    provisional: bool


def deadline_ms(message_type: str, start_ms: int, calendar: WorkingCalendar, *,
                counted_from_ms: int | None = None) -> Deadline | None:
    """The deadline of a request of ``message_type`` accepted at ``start_ms``; None without a rule.

    The period runs from ``counted_from_ms`` when the rule says so (004 §23: from performance), else from
    acceptance; the warning comes at the rule's fraction of the time between acceptance and due.
    """
    rule = RULES.get(message_type)
    if rule is None:
        return None
    counted_from = start_ms if counted_from_ms is None else counted_from_ms
    if rule.working_days is not None:
        counted = calendar.add_working_days(china_date(counted_from), rule.working_days)
        due, provisional = counted.end_ms, counted.provisional
    else:
        due, provisional = counted_from + (rule.hours or 0) * 3_600_000, False
    warn = start_ms + int((due - start_ms) * rule.warn_fraction) if due > start_ms else None
    return Deadline(warn, due, rule.rule_id, provisional)
