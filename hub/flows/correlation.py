"""An agency's answer back to the court: the one way every flow correlates and forwards it.

The answer names the request it answers (``envelope.request_id``); the request must exist and have
been sent to the answering agency.  The answer is forwarded to ``court.replies`` byte for byte (a
seal stays verifiable) and the request row moves to answered (late if past its due time).
"""

from __future__ import annotations

from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.errors import UnknownRequest, WrongAgency
from hub.lifecycle import RequestRow, answer_state, transition


def answered_request(ctx: HubContext, msg: AvroMessage, agency: str) -> RequestRow:
    """The row of the request ``msg`` answers, checked to have been sent to ``agency`` (not moved yet)."""
    rec = ctx.requests.get(msg.request_id)
    if rec is None:
        raise UnknownRequest(f"no request {msg.request_id!r} was sent to {agency}", field="envelope.request_id")
    if rec.agency != agency:
        raise WrongAgency(f"request {msg.request_id} was addressed to {rec.agency}, not {agency}",
                          field="envelope.sender")
    return rec


async def forward_answer(ctx: HubContext, rec: RequestRow, msg: AvroMessage, record: RawRecord) -> None:
    """The agency's bytes to the court's replies, keyed by the request's case number."""
    await ctx.out.forward(ctx.topics.court_replies, rec.case_number, record.value or b"", msg.message_type,
                          request_id=rec.request_id)


def mark_answered(ctx: HubContext, request_id: str, *, complete: bool = True) -> RequestRow | None:
    """Move the request to (partially) answered, late if past due.  Re-read first: a deadline may have moved
    it while the caller awaited.  The row as it is now (None if unknown)."""
    rec = ctx.requests.get(request_id)
    if rec is None or rec.is_terminal:
        return rec
    now = ctx.clock.now_ms()
    return ctx.requests.put(transition(rec, answer_state(rec, now, complete=complete), now))


async def answer(ctx: HubContext, msg: AvroMessage, record: RawRecord, agency: str) -> RequestRow:
    """Correlate, forward and mark answered: all an ordinary reply needs.  The row as correlated."""
    rec = answered_request(ctx, msg, agency)
    await forward_answer(ctx, rec, msg, record)
    mark_answered(ctx, rec.request_id)
    return rec
