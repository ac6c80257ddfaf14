"""The life of a request at the hub, from acceptance to a terminal state (pure functions).

A request record is a compact dict (faust table values stay small and JSON-serialisable):

``id, type, court, case, agency, state, at`` (ms of the last transition), ``accepted``
(ms: the delivery time of 000 §16), ``due`` / ``warn`` (ms or None), ``rule`` (deadline rule id or None),
``provisional`` (True when the due time counted a day the official calendar does not cover yet: it is
recomputed when the schedule is loaded), ``from`` (ms the period runs from, only when not ``accepted``),
``corr`` (correlation id or None), ``p`` (partition), ``log`` ([[state, ms], ...]).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hub.deadlines import RULES_BY_ID, Deadline, deadline_for
from hub.errors import HubError
from hub.working_calendar import WorkingCalendar

Record = dict[str, Any]


class State(StrEnum):
    ACCEPTED = "accepted"
    ROUTED = "routed"
    DELIVERED = "delivered"
    ANSWERED = "answered"
    PARTIALLY_ANSWERED = "partially_answered"
    OVERDUE = "overdue"
    ANSWERED_LATE = "answered_late"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


TERMINAL = frozenset({State.ANSWERED, State.ANSWERED_LATE, State.FAILED, State.REJECTED, State.CANCELLED})
OPEN = frozenset(State) - TERMINAL

_ALLOWED: dict[State, frozenset[State]] = {
    State.ACCEPTED: frozenset({State.ROUTED, State.REJECTED, State.CANCELLED, State.FAILED}),
    # an agency's answer can be processed before the hub has marked the request delivered; a list
    # decision routed to the list sequencer is refused there (REJECTED) or published (DELIVERED)
    State.ROUTED: frozenset({State.DELIVERED, State.ANSWERED, State.PARTIALLY_ANSWERED, State.FAILED,
                             State.CANCELLED, State.REJECTED}),
    State.DELIVERED: frozenset({State.ANSWERED, State.PARTIALLY_ANSWERED, State.OVERDUE, State.FAILED,
                                State.CANCELLED}),
    State.PARTIALLY_ANSWERED: frozenset({State.PARTIALLY_ANSWERED, State.ANSWERED, State.OVERDUE,
                                         State.ANSWERED_LATE, State.CANCELLED}),
    State.OVERDUE: frozenset({State.ANSWERED_LATE, State.PARTIALLY_ANSWERED, State.FAILED, State.CANCELLED}),
}


class IllegalTransition(HubError):
    code = "illegal_transition"


def new_record(
    request_id: str, *, type_: str, court: str, case: str, agency: str, now_ms: int, partition: int,
    deadline: Deadline | None, correlation: str | None = None, counted_from_ms: int | None = None,
) -> Record:
    """A freshly accepted request with its deadline (:func:`hub.deadlines.deadline_ms`), if it has one."""
    rec: Record = {
        "id": request_id, "type": type_, "court": court, "case": case, "agency": agency,
        "state": State.ACCEPTED.value, "at": now_ms, "accepted": now_ms,
        "due": deadline.due_ms if deadline else None, "warn": deadline.warn_ms if deadline else None,
        "rule": deadline.rule_id if deadline else None, "provisional": bool(deadline and deadline.provisional),
        "corr": correlation, "p": partition, "log": [[State.ACCEPTED.value, now_ms]],
    }
    if counted_from_ms is not None and counted_from_ms != now_ms:
        rec["from"] = counted_from_ms
    return rec


def recompute_deadline(record: Record, calendar: WorkingCalendar) -> Record | None:
    """The row with its provisional deadline counted again on ``calendar``; None if nothing changed."""
    rule = RULES_BY_ID.get(record.get("rule") or "")
    if not record.get("provisional") or rule is None:
        return None
    deadline = deadline_for(rule, record["accepted"], calendar, counted_from_ms=record.get("from"))
    if (deadline.due_ms, deadline.warn_ms, deadline.provisional) == (record["due"], record["warn"], True):
        return None
    return {**record, "due": deadline.due_ms, "warn": deadline.warn_ms, "provisional": deadline.provisional}


def can_transition(record: Record, to: State) -> bool:
    return to in _ALLOWED.get(State(record["state"]), frozenset())


def transition(record: Record, to: State, now_ms: int) -> Record:
    """A copy of ``record`` moved to state ``to`` (terminal states never move again)."""
    current = State(record["state"])
    if to not in _ALLOWED.get(current, frozenset()):
        raise IllegalTransition(f"{record['id']}: {current} -> {to} is not allowed", field="state")
    return {**record, "state": to.value, "at": now_ms, "log": [*record["log"], [to.value, now_ms]]}


def answer_state(record: Record, now_ms: int, *, complete: bool = True) -> State:
    """The state an answer moves the request to: late if it is overdue or past its due time."""
    late = record["state"] == State.OVERDUE.value or (record["due"] is not None and now_ms > record["due"])
    if not complete:
        return State.PARTIALLY_ANSWERED
    return State.ANSWERED_LATE if late else State.ANSWERED


def is_terminal(record: Record) -> bool:
    return State(record["state"]) in TERMINAL
