"""The life of a request at the hub, from acceptance to a terminal state (pure functions).

In code a request is a :class:`RequestRow`.  In the ``requests`` table (and on the ``/requests`` page)
it is stored compactly (faust table values stay small and JSON-serialisable) under these keys:

``id, type, court, case, agency, state, at`` (ms of the last transition), ``accepted``
(ms: the delivery time of 000 §16), ``due`` / ``warn`` (ms or None), ``rule`` (deadline rule id or None),
``provisional`` (True when the due time counted a day the official calendar does not cover yet: it is
recomputed when the schedule is loaded), ``from`` (ms the period runs from, only when not ``accepted``),
``corr`` (correlation id or None), ``p`` (partition), ``log`` ([[state, ms], ...]).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from hub.deadlines import RULES_BY_ID, Deadline, deadline_for
from hub.errors import HubError
from hub.transport import RowTable
from hub.working_calendar import WorkingCalendar


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
#: waiting on the agency's (complete) answer: what deadlines run against
WAITING = frozenset({State.DELIVERED, State.PARTIALLY_ANSWERED})
ANSWERED = frozenset({State.ANSWERED, State.ANSWERED_LATE})

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


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One request the hub accepted, and everything that happened to it since."""

    request_id: str
    message_type: str
    court: str
    case_number: str
    agency: str
    state: State
    changed_ms: int  # the last transition
    accepted_ms: int  # the delivery time of 000 §16
    due_ms: int | None
    warn_ms: int | None
    rule_id: str | None
    provisional: bool  # the due time counted a day the official calendar does not cover yet
    correlation_id: str | None
    partition: int
    history: tuple[tuple[State, int], ...]  # every state with the time it was entered
    counted_from_ms: int | None = None  # the period runs from here, when not from ``accepted_ms``

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def answered_ms(self) -> int | None:
        """When it was answered (the time of its last transition, if it is answered)."""
        return self.history[-1][1] if self.state in ANSWERED else None

    def was(self, state: State) -> bool:
        return any(s is state for s, _ in self.history)

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.request_id, "type": self.message_type, "court": self.court, "case": self.case_number,
            "agency": self.agency, "state": self.state.value, "at": self.changed_ms, "accepted": self.accepted_ms,
            "due": self.due_ms, "warn": self.warn_ms, "rule": self.rule_id, "provisional": self.provisional,
            "corr": self.correlation_id, "p": self.partition, "log": [[s.value, t] for s, t in self.history],
        }
        if self.counted_from_ms is not None:
            row["from"] = self.counted_from_ms
        return row

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> RequestRow:
        return cls(
            request_id=row["id"], message_type=row["type"], court=row["court"], case_number=row["case"],
            agency=row["agency"], state=State(row["state"]), changed_ms=int(row["at"]),
            accepted_ms=int(row["accepted"]), due_ms=row.get("due"), warn_ms=row.get("warn"),
            rule_id=row.get("rule"), provisional=bool(row.get("provisional")), correlation_id=row.get("corr"),
            partition=int(row["p"]), history=tuple((State(s), int(t)) for s, t in row["log"]),
            counted_from_ms=row.get("from"),
        )


class RequestTable:
    """The ``requests`` table, row by row as :class:`RequestRow` (stored as :meth:`RequestRow.to_json`)."""

    def __init__(self, rows: RowTable) -> None:
        self.rows = rows

    def get(self, request_id: str) -> RequestRow | None:
        row = self.rows.get(request_id)
        return RequestRow.from_json(row) if isinstance(row, dict) else None

    def put(self, row: RequestRow) -> RequestRow:
        self.rows[row.request_id] = row.to_json()
        return row

    def __contains__(self, request_id: str) -> bool:
        return self.rows.get(request_id) is not None

    def all(self) -> Iterator[RequestRow]:
        for row in list(self.rows.values()):
            if isinstance(row, dict):
                yield RequestRow.from_json(row)

    def in_partition(self, partition: int) -> list[RequestRow]:
        """The rows of one partition (rows record their partition)."""
        return [RequestRow.from_json(v) for _, v in list(self.rows.items())
                if isinstance(v, dict) and v.get("p") == partition]


def new_record(
    request_id: str, *, type_: str, court: str, case: str, agency: str, now_ms: int, partition: int,
    deadline: Deadline | None, correlation: str | None = None, counted_from_ms: int | None = None,
) -> RequestRow:
    """A freshly accepted request with its deadline (:func:`hub.deadlines.deadline_ms`), if it has one."""
    return RequestRow(
        request_id=request_id, message_type=type_, court=court, case_number=case, agency=agency,
        state=State.ACCEPTED, changed_ms=now_ms, accepted_ms=now_ms,
        due_ms=deadline.due_ms if deadline else None, warn_ms=deadline.warn_ms if deadline else None,
        rule_id=deadline.rule_id if deadline else None, provisional=bool(deadline and deadline.provisional),
        correlation_id=correlation, partition=partition, history=((State.ACCEPTED, now_ms),),
        counted_from_ms=counted_from_ms if counted_from_ms is not None and counted_from_ms != now_ms else None,
    )


def recompute_deadline(record: RequestRow, calendar: WorkingCalendar) -> RequestRow | None:
    """The row with its provisional deadline counted again on ``calendar``; None if nothing changed."""
    rule = RULES_BY_ID.get(record.rule_id or "")
    if not record.provisional or rule is None:
        return None
    deadline = deadline_for(rule, record.accepted_ms, calendar, counted_from_ms=record.counted_from_ms)
    if (deadline.due_ms, deadline.warn_ms, deadline.provisional) == (record.due_ms, record.warn_ms, True):
        return None
    return replace(record, due_ms=deadline.due_ms, warn_ms=deadline.warn_ms, provisional=deadline.provisional)


def can_transition(record: RequestRow, to: State) -> bool:
    return to in _ALLOWED.get(record.state, frozenset())


def transition(record: RequestRow, to: State, now_ms: int) -> RequestRow:
    """A copy of ``record`` moved to state ``to`` (terminal states never move again)."""
    if to not in _ALLOWED.get(record.state, frozenset()):
        raise IllegalTransition(f"{record.request_id}: {record.state} -> {to} is not allowed", field="state")
    return replace(record, state=to, changed_ms=now_ms, history=(*record.history, (to, now_ms)))


def answer_state(record: RequestRow, now_ms: int, *, complete: bool = True) -> State:
    """The state an answer moves the request to: late if it is overdue or past its due time."""
    late = record.state is State.OVERDUE or (record.due_ms is not None and now_ms > record.due_ms)
    if not complete:
        return State.PARTIALLY_ANSWERED
    return State.ANSWERED_LATE if late else State.ANSWERED


def is_terminal(record: RequestRow) -> bool:
    return record.is_terminal
