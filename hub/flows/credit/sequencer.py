"""The one place where the list lives at the hub: publication ids, list state, acknowledgement deadlines.

Why here and not in a faust table: decisions arrive on ``court.requests`` (4 partitions, keyed by case
number) but the list needs one total order (``credit.list.history`` has 1 partition), and a faust table
is co-partitioned with one of them only.  So accepted decisions (and the credit platform's ListAcks) are
re-keyed onto a single-partition hub journal (``<app id>-credit-journal``, created by the worker under
the app-id prefix like faust's own internal topics); a consumer group of its own gives its only
partition to exactly one worker, which is the single writer of the history.  Its state is *derived from the
history topic*: on (re)start it replays ``credit.list.history`` (the last publication id, the list and its
digest, the decisions already published) and then the journal (acknowledgements and escalations already
sent).  Publication ids are therefore gap-free and strictly increasing across restarts: the next id is
always "last one in the history + 1", a redelivered decision whose request id is already in the history is
skipped, and a failed send makes the state dirty so it is rebuilt from the history before the next one.

This module is pure (no Kafka); :mod:`hub.flows.credit.journal` wires it to the journal.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.deadlines import TERM_END_RULE
from hub.flows.credit.list_rules import case_of, decide, expired_listings, expiry_event, term_end_deadline
from hub.flows.credit.list_state import ListState
from hub.flows.credit.rows import PendingAck, epoch_ms
from hub.working_calendar import WorkingCalendar, china_date


class Sequencer:
    """The list and its acknowledgement deadlines, counted on ``calendar`` (a new calendar: rebuild)."""

    def __init__(self, calendar: WorkingCalendar | None = None) -> None:
        self.calendar = calendar if calendar is not None else WorkingCalendar()
        self.state = ListState()
        self.pending: dict[int, PendingAck] = {}
        self.acked: dict[int, int] = {}  # publication id -> when the platform acknowledged it
        self.escalated: set[int] = set()
        self.warned: set[int] = set()
        self.ready = False
        self.dirty = False

    def reset(self) -> None:
        """Forget everything (before rebuilding from the history and the journal)."""
        self.state = ListState()
        self.pending, self.acked, self.escalated, self.warned = {}, {}, set(), set()
        self.ready = self.dirty = False

    # --- building state ---------------------------------------------------------------------------
    def replay(self, body: dict[str, Any]) -> None:
        """Apply one published event read back from the history (recovery)."""
        pending = self._pending(body)
        if self.state.apply(body, verify=True) and pending is not None:
            self.pending[pending.publication_id] = pending

    def note_ack(self, publication_id: int, at_ms: int) -> PendingAck | None:
        """The platform acknowledged ``publication_id``; returns its record if that was late (escalated)."""
        self.acked.setdefault(publication_id, at_ms)
        pending = self.pending.pop(publication_id, None)
        if pending is None:
            return None
        pending = replace(pending, acked_ms=at_ms)
        return pending if (pending.escalated or at_ms > pending.due_ms) else None

    def note_escalated(self, publication_id: int) -> None:
        self.escalated.add(publication_id)
        if publication_id in self.pending:
            self.pending[publication_id] = replace(self.pending[publication_id], escalated=True)

    def note_warned(self, publication_id: int) -> None:
        self.warned.add(publication_id)
        if publication_id in self.pending:
            self.pending[publication_id] = replace(self.pending[publication_id], warned=True)

    # --- publishing ------------------------------------------------------------------------------------
    def decide(self, body: dict[str, Any], *, request_id: str, sender: str, key: str,
               now_ms: int) -> dict[str, Any] | None:
        """Check a decision against the list and publish it in the state; None if already published."""
        event = decide(self.state, body, request_id=request_id, sender=sender, key=key, now_ms=now_ms)
        if event is not None:
            self._publish(event)
        return event

    def expire(self, now_ms: int) -> list[dict[str, Any]]:
        """Automatic deletions of listings whose term ended (失信规定 art. 10 para 2)."""
        events = []
        for lid in expired_listings(self.state, china_date(now_ms)):
            event = expiry_event(self.state, lid, now_ms)
            self._publish(event)
            events.append(event)
        return events

    def _publish(self, event: dict[str, Any]) -> None:
        """Apply a new publication; everything that can fail is computed before the state changes."""
        pending = self._pending(event)
        self.state.apply(event, verify=False)  # checks first, then changes (see ListState.apply)
        self.dirty = True  # until the caller confirms the history write
        event["list_digest"] = self.state.hexdigest()
        event["list_size"] = self.state.size
        if pending is not None:
            self.pending[pending.publication_id] = pending

    def _pending(self, event: dict[str, Any]) -> PendingAck | None:
        """The acknowledgement the platform owes for ``event`` (None: no rule, or already acknowledged)."""
        due = term_end_deadline(event, self.calendar)
        pub = int(event["publication_id"])
        if due is None or pub in self.acked:
            return None
        case, court = case_of(event["entry"])
        return PendingAck(pub, str(event["decision_request_id"]), str(event["listing_id"]), case, court,
                          due.rule_id, TERM_END_RULE.source, epoch_ms(event["published_at"]), due.due_ms,
                          warn_ms=due.warn_ms, provisional=due.provisional, warned=pub in self.warned,
                          escalated=pub in self.escalated)

    def overdue(self, now_ms: int) -> list[PendingAck]:
        """Unacknowledged publications at or past their deadline, not yet escalated."""
        return [p for p in self.pending.values() if not p.escalated and now_ms >= p.due_ms]

    def to_warn(self, now_ms: int) -> list[PendingAck]:
        """Unacknowledged publications past their warning time (75 %), not yet warned nor escalated."""
        return [p for p in self.pending.values() if not (p.warned or p.escalated) and p.warn_ms is not None
                and p.due_ms > now_ms >= p.warn_ms]
