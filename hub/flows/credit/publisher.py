"""What the list's sequencing produces: publications, decision outcomes and deadline events.

A publication is a ``ListEvent`` on ``credit.list.history`` plus the listing's ``ListEntry`` on
``credit.list.current`` (and a tombstone when the listing leaves the list), both at partition 0 and
keyed by listing id; the sends return futures the journal awaits before it commits.  A decision's
outcome (``ListDecisionSequenced``) goes to the decision's own partition of ``hub.ticks``, where
:meth:`hub.flows.credit.handlers.CreditFlow.decision_sequenced` moves its request row.  A deadline
event of a term-end deletion goes to the court like :mod:`hub.deadline_tracker`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.audit_log import AuditEntry
from hub.clock import utc_datetime
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.envelope import envelope, message
from hub.errors import HubError
from hub.flows.credit.list_rules import case_of
from hub.flows.credit.list_state import ListState
from hub.flows.credit.messages import DEADLINE_EVENT, DECISION, ENTRY, EVENT, LIST_READERS, PLATFORM, SEQUENCED
from hub.flows.credit.rows import PendingAck
from topics.catalog import Role

#: ``reason`` of a refused decision's outcome is cut to this many characters
REASON_CHARS = 500


@dataclass(frozen=True)
class DecisionOutcome:
    """What the sequencer did with one decision, for the decision's partition of ``hub.ticks``."""

    partition: int
    message: AvroMessage


def current_entry(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ListEntry`` body that publication ``event`` leaves on ``credit.list.current`` (before its tombstone,
    when the listing leaves the list)."""
    removed = not event["in_force"]
    return {
        "listing_id": str(event["listing_id"]), "in_force": not removed, "record": event["entry"],
        "last_action": event["action"], "last_publication_id": event["publication_id"],
        "removed_at": event["published_at"] if removed else None, "deletion_ground": event["deletion_ground"],
    }


class ListPublisher:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        catalog, settings = ctx.runtime.catalog, ctx.settings
        self.history_topic = settings.topic(catalog.one(Role.LIST_HISTORY).name)
        self.current_topic = settings.topic(catalog.one(Role.LIST_CURRENT).name)
        self.ticks_topic = settings.topic(ctx.topics.ticks)

    async def publish(self, event: dict[str, Any]) -> list[Awaitable[int]]:
        """Produce a ListEvent and the listing's current state; the futures resolve when the broker has them."""
        ctx = self.ctx
        clock, codec, metrics = ctx.clock, ctx.codec, ctx.runtime.metrics
        lid = str(event["listing_id"])
        env = envelope(clock, request_id=str(event["decision_request_id"]), recipient=LIST_READERS,
                       correlation_id=lid)
        history = codec.encode_message(message(EVENT, env, event))
        removed = not event["in_force"]
        entry = message(ENTRY, envelope(clock, request_id=str(event["decision_request_id"]),
                                        recipient=LIST_READERS, correlation_id=lid), current_entry(event))
        sender = ctx.sender
        futures = [
            await sender.send(self.history_topic, lid.encode(), history, partition=0, headers=[]),
            await sender.send(self.current_topic, lid.encode(), codec.encode_message(entry), partition=0,
                              headers=[]),
        ]
        if removed:  # compaction keeps the tombstone: the listing leaves the current list
            futures.append(await sender.send(self.current_topic, lid.encode(), None, partition=0, headers=[]))
        metrics.list_publications_total.labels(str(event["action"])).inc()
        metrics.messages_sent_total.labels(Role.LIST_HISTORY.value, "ListEvent").inc()
        case, _court = case_of(event["entry"])
        await ctx.audit.append(AuditEntry(
            "EMIT", self.history_topic, history, "hub", partition=0, message_type="ListEvent",
            message_id=str(env["message_id"]), request_id=str(event["decision_request_id"]), case_number=case,
            agency=LIST_READERS, decision=f"publication {event['publication_id']} {event['action']} {lid}"))
        return futures

    def update_gauges(self, state: ListState) -> None:
        """The list's gauges: its size and last publication id."""
        metrics = self.ctx.runtime.metrics
        metrics.list_size.set(state.size)
        metrics.list_last_publication_id.set(state.last_publication_id)

    def outcome(self, decision: AvroMessage, partition: int, *, publication_id: int | None = None,
                error: HubError | None = None) -> DecisionOutcome:
        """The decision was published (as ``publication_id``) or refused (for ``error``)."""
        clock = self.ctx.clock
        body = {"partition": partition, "outcome": "REFUSED" if error else "PUBLISHED",
                "publication_id": publication_id,
                "reason": f"{error.code}: {error}"[:REASON_CHARS] if error else None, "sequenced_at": clock.now()}
        env = envelope(clock, request_id=decision.request_id, recipient="hub")
        return DecisionOutcome(partition, message(SEQUENCED, env, body))

    async def send_outcomes(self, outcomes: list[DecisionOutcome]) -> None:
        """After the batch's publications are on the broker: each decision's row learns what happened."""
        for outcome in outcomes:
            raw = self.ctx.codec.encode_message(outcome.message)
            sent = await self.ctx.sender.send(self.ticks_topic, str(outcome.partition).encode(), raw,
                                              partition=outcome.partition, headers=[])
            await sent

    async def deadline_event(self, topic: str, pending: PendingAck, kind: str, now_ms: int) -> AvroMessage:
        """A ``DeadlineEvent`` about a term-end deletion to catalog topic ``topic``, keyed by its case."""
        body = {
            "kind": kind, "rule_id": pending.rule_id, "rule_source": pending.rule_source, "message_type": DECISION,
            "agency": PLATFORM, "court_code": pending.court_code, "case_number": pending.case_number,
            "started_at": utc_datetime(pending.started_ms), "due_at": utc_datetime(pending.due_ms),
            "answered_at": utc_datetime(pending.acked_ms) if kind == "ANSWERED_LATE" else None,
            "emitted_at": utc_datetime(now_ms), "provisional": pending.provisional,
        }
        env = envelope(self.ctx.clock, request_id=pending.request_id, recipient=pending.court_code,
                       correlation_id=f"publication/{pending.publication_id}")
        msg = message(DEADLINE_EVENT, env, body)
        await self.ctx.out.emit(topic, pending.case_number, msg)
        return msg
