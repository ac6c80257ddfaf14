"""Hub side of the dishonest-debtor list and of consumption restriction (SPEC §5, §6): what the hub does
with each message of the credit flow.

A list decision (ListDecision) is checked on its own here, then journalled for the one ordered place
(:mod:`hub.flows.credit.journal`); from here on it is a row of the request table: routed (to the
sequencer), then delivered (published) or rejected (refused against the list) when its outcome comes
back on ``hub.ticks``, then answered when the platform acknowledges the publication (ListAck, forwarded to
the court and journalled); a revocation, correction or deletion is due within 3 working days of the
decision (失信规定 art. 9-10).

Look-ups (ListLookupRequest) and consumption restrictions (ConsumptionRestriction) are ordinary requests
to the platform's inbox (:func:`hub.flows.delivery.deliver`); a lift's due time runs from the
performance date (004 §23: 3 working days) and :mod:`hub.deadline_tracker` warns, escalates and
counts.  The platform's replies are correlated like every agency answer
(:func:`hub.flows.correlation.answer`).
"""

from __future__ import annotations

from hub.clock import china_today
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.deadlines import Deadline
from hub.errors import ValidationError
from hub.flows.correlation import answer, mark_answered
from hub.flows.credit.journal import CreditJournal
from hub.flows.credit.list_rules import decision_deadline, restriction_lift_deadline
from hub.flows.credit.messages import DECISION_TYPE, PLATFORM, validate_decision, validate_restriction
from hub.flows.credit.rows import CASE_HEADER, SOURCE_HEADER
from hub.flows.delivery import BY_TYPE, ByType, deliver
from hub.lifecycle import State, can_transition, new_record, transition
from hub.outbound import DELIVERED_AT


def _case(record: RawRecord) -> str:
    """The record key: the case number of every message on a hub-consumed topic."""
    return record.key.decode() if record.key else ""


class CreditFlow:
    def __init__(self, ctx: HubContext, journal: CreditJournal) -> None:
        self.ctx = ctx
        self.journal = journal

    # --- court → hub: list decisions -----------------------------------------------------------------
    async def list_decision(self, msg: AvroMessage, record: RawRecord) -> None:
        """Checks that need no list (失信规定 art. 1-6), then onto the journal; the row is routed.

        A resend is journalled again (the sequencer publishes a request id once) and keeps its row.
        """
        ctx = self.ctx
        case, court = _case(record), str(msg.envelope["sender"])
        validate_decision(msg.body, court, case, china_today(ctx.clock))
        now = ctx.clock.now_ms()
        headers = [(SOURCE_HEADER, f"{record.topic}/{record.partition}/{record.offset}".encode()),
                   (CASE_HEADER, case.encode()), (DELIVERED_AT, str(now).encode())]
        await self.journal.write(record.value or b"", headers)
        if msg.request_id not in ctx.requests:
            deadline, counted_from = decision_deadline(msg.body, now, ctx.runtime.calendar.current)
            row = new_record(msg.request_id, type_=msg.message_type, court=court, case=case, agency=PLATFORM,
                             now_ms=now, partition=record.partition, deadline=deadline, counted_from_ms=counted_from)
            ctx.requests.put(transition(row, State.ROUTED, now))

    async def decision_sequenced(self, msg: AvroMessage, record: RawRecord) -> None:
        """The sequencer's outcome, sent to the decision's own partition of ``hub.ticks``: the row records it."""
        ctx = self.ctx
        row = ctx.requests.get(msg.request_id)
        to = State.DELIVERED if msg.body["outcome"] == "PUBLISHED" else State.REJECTED
        if row is not None and can_transition(row, to):
            ctx.requests.put(transition(row, to, ctx.clock.now_ms()))

    # --- platform → hub: acknowledgements of publications ---------------------------------------------
    async def list_ack(self, msg: AvroMessage, record: RawRecord) -> None:
        """The platform applied a publication: tell the court; the decision is answered (late if past due),
        and the journal learns it (a term-end deletion's clock stops)."""
        ctx = self.ctx
        await ctx.out.forward(ctx.topics.court_replies, _case(record), record.value or b"", msg.message_type,
                              request_id=msg.request_id)
        row = ctx.requests.get(msg.request_id)
        if row is not None and row.message_type == DECISION_TYPE:
            mark_answered(ctx, msg.request_id)
        await self.journal.write(record.value or b"", [(DELIVERED_AT, str(ctx.clock.now_ms()).encode())])

    # --- look-ups and consumption restriction: requests to the platform's inbox -------------------------
    async def lookup(self, msg: AvroMessage, record: RawRecord) -> None:
        """"Is this subject listed, and why?" (tendering notice §3): due by the type's own rule."""
        if not str(msg.body["id_number"]).strip():
            raise ValidationError("id_number is empty", field="body.id_number")
        await self._deliver(msg, record, BY_TYPE, None)

    async def restriction(self, msg: AvroMessage, record: RawRecord) -> None:
        """004 §23: a lift is due within 3 working days of performance; placing has no deadline."""
        ctx = self.ctx
        validate_restriction(msg.body, str(msg.envelope["sender"]), china_today(ctx.clock))
        deadline, counted_from = restriction_lift_deadline(msg.body, ctx.clock.now_ms(), ctx.runtime.calendar.current)
        await self._deliver(msg, record, deadline, counted_from)

    async def _deliver(self, msg: AvroMessage, record: RawRecord, deadline: Deadline | ByType | None,
                       counted_from_ms: int | None) -> None:
        if msg.envelope["recipient"] != PLATFORM:
            raise ValidationError(f"{msg.message_type} goes to {PLATFORM!r}", field="envelope.recipient")
        await deliver(self.ctx, msg.message_type, record.value or b"", request_id=msg.request_id,
                      court=str(msg.envelope["sender"]), case=_case(record), agency=PLATFORM,
                      partition=record.partition, deadline=deadline, counted_from_ms=counted_from_ms)

    async def platform_reply(self, msg: AvroMessage, record: RawRecord) -> None:
        """A look-up reply or a restriction's acknowledgement: forwarded to the court, the request answered."""
        await answer(self.ctx, msg, record, PLATFORM)
