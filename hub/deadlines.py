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
    "ConsumptionRestriction": _RESTRICTION,
}

#: ListDecision action -> rule: the credit platform applies it within 3 working days of the decision.
LIST_RULES: dict[str, DeadlineRule] = {
    "REVOKE": DeadlineRule("list.revoke.3wd", "003 失信规定 art. 9 para 1", working_days=3),
    "CORRECT": DeadlineRule("list.correct.3wd", "003 失信规定 art. 9 para 2", working_days=3),
    "DELETE": DeadlineRule("list.delete.3wd", "003 失信规定 art. 10 para 1", working_days=3),
}
#: a listing whose term ended is deleted and applied within 3 working days after its last day
TERM_END_RULE = DeadlineRule("list.term_end.3wd", "003 失信规定 art. 10 para 2", working_days=3)
#: after termination, two or more network queries (sweeps) found nothing and no clue is open: the listing is
#: deleted within 3 working days of the hub finding the ground met (:mod:`hub.flows.sweeps`)
SWEEP_GROUND_RULE = DeadlineRule("sweep.art10-4.delete.3wd", "003 失信规定 art. 10(四), para 1", working_days=3)

RULES_BY_ID: dict[str, DeadlineRule] = {
    r.rule_id: r for r in (*RULES.values(), *LIST_RULES.values(), TERM_END_RULE, SWEEP_GROUND_RULE)
}


class Deadline(NamedTuple):
    """When a request is warned about and due, under which rule, and whether a provisional day was counted."""

    warn_ms: int | None
    due_ms: int
    rule_id: str
    provisional: bool


def deadline_for(rule: DeadlineRule, start_ms: int, calendar: WorkingCalendar, *,
                 counted_from_ms: int | None = None) -> Deadline:
    """``rule``'s deadline for a request accepted at ``start_ms``.

    The period runs from ``counted_from_ms`` when the rule says so (004 §23: from performance; 失信规定
    art. 9-10: from the decision), else from acceptance; the warning comes at the rule's fraction of the
    time between acceptance and due (none when the due time is already past at acceptance).
    """
    counted_from = start_ms if counted_from_ms is None else counted_from_ms
    if rule.working_days is not None:
        counted = calendar.add_working_days(china_date(counted_from), rule.working_days)
        due, provisional = counted.end_ms, counted.provisional
    else:
        due, provisional = counted_from + (rule.hours or 0) * 3_600_000, False
    return Deadline(warning_ms(start_ms, due, rule.warn_fraction), due, rule.rule_id, provisional)


def warning_ms(start_ms: int, due_ms: int, fraction: float) -> int | None:
    """When the warning comes: ``fraction`` of the way from acceptance to due (none if already due)."""
    return start_ms + int((due_ms - start_ms) * fraction) if due_ms > start_ms else None


def deadline_ms(message_type: str, start_ms: int, calendar: WorkingCalendar, *,
                counted_from_ms: int | None = None) -> Deadline | None:
    """The deadline of a request of ``message_type`` accepted at ``start_ms``; None without a rule."""
    rule = RULES.get(message_type)
    if rule is None:
        return None
    return deadline_for(rule, start_ms, calendar, counted_from_ms=counted_from_ms)
