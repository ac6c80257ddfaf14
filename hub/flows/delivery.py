"""Handing a court request to an agency: the one way every flow does it.

The request's row is written (routed and delivered, one table write) *before* the forward, because
a fast agency's reply may be processed by the outbox agent before the forward returns; if the
forward fails the row is marked failed.  The ``delivered-at`` header carries the moment the request reached the
hub (000 §16); a resend goes again with its first delivery time and the agency answers it once.
"""

from __future__ import annotations

from hub.context import HubContext
from hub.deadlines import Deadline, deadline_ms
from hub.errors import ValidationError
from hub.lifecycle import State, can_transition, new_record, transition
from hub.outbound import DELIVERED_AT
from topics.catalog import inbox_name


class ByType:
    """The due time the message type has, counted from the delivery time (:func:`hub.deadlines.deadline_ms`)."""


BY_TYPE = ByType()


async def deliver(ctx: HubContext, msg_type: str, raw: bytes, *, request_id: str, court: str, case: str,
                  agency: str, partition: int, correlation: str | None = None,
                  deadline: Deadline | ByType | None = BY_TYPE, counted_from_ms: int | None = None,
                  topic: str | None = None) -> bool:
    """Record and forward; returns False for a resend of a known request (forwarded again).

    ``deadline``: the answer's due time; by default the one the message type has (none for most);
    ``counted_from_ms``: when its period runs from, if not the delivery time; ``topic``: the agency's catalog
    topic it goes to, if not its inbox (a sweep's unit query goes to the agency's sweep lane).
    """
    topic = topic or inbox_name(agency)
    requests = ctx.requests
    existing = requests.get(request_id)
    if existing is not None:
        if existing.message_type != msg_type or existing.agency != agency or existing.court != court:
            raise ValidationError("request id already used for another request", field="envelope.request_id")
        await ctx.out.forward(topic, case, raw, msg_type,
                              [(DELIVERED_AT, str(existing.accepted_ms).encode())], request_id=request_id)
        return False
    now = ctx.clock.now_ms()
    due = deadline_ms(msg_type, now, ctx.runtime.calendar.current) if isinstance(deadline, ByType) else deadline
    rec = new_record(request_id, type_=msg_type, court=court, case=case, agency=agency, now_ms=now,
                     partition=partition, correlation=correlation, deadline=due, counted_from_ms=counted_from_ms)
    requests.put(transition(transition(rec, State.ROUTED, now), State.DELIVERED, now))
    try:
        await ctx.out.forward(topic, case, raw, msg_type, [(DELIVERED_AT, str(now).encode())],
                              request_id=request_id)
    except Exception:
        # Not handed over after all: no deadline may run against the agency (the caller rejects it).
        current = requests.get(request_id)
        if current is not None and can_transition(current, State.FAILED):
            requests.put(transition(current, State.FAILED, ctx.clock.now_ms()))
        raise
    return True
