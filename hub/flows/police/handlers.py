"""Hub side of the police flows (SPEC §4, seed 002): validate, route, correlate, track measures.

court → ``court.requests`` → (validated here) → ``agency.mps.inbox`` → police →
``agency.mps.outbox`` → (correlated here) → ``court.replies`` (what answers a court's request: look-up
and measure replies, release acknowledgements) or ``court.notices`` (what nobody asked for: sightings,
lapses).

Requests and releases reach the police through :func:`hub.flows.delivery.deliver` (as the court wrote
them, with the ``delivered-at`` header, 000 §16); answers go back through :mod:`hub.flows.correlation`.
The ``measures`` table knows every measure the police placed (active / released / lapsed, see
:mod:`hub.flows.police.rows`).  Sightings are re-emitted to the court of the measure with
``delivered_active`` set by the hub and the measure's request id, so the court finds them by the
request it sent, whenever they arrive.  The hub lapses a measure at the end of its period (on every
tick) and tells the court and the police (MeasureLapsed).
"""

from __future__ import annotations

import logging
from typing import Any

from hub.clock import china_today, utc_datetime
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.envelope import envelope, message
from hub.errors import MeasureMismatch, UnknownAgency, UnknownMeasure, ValidationError
from hub.flows.correlation import answered_request, forward_answer, mark_answered
from hub.flows.delivery import deliver
from hub.flows.police import rows
from hub.flows.police.messages import (
    LAPSED,
    MEASURE_KIND_OF,
    POLICE_CODE,
    SIGHTING,
    VALIDATORS,
    validate_lookup_reply,
    validate_measure_reply,
    validate_release,
    validate_release_ack,
    validate_sighting,
)
from hub.flows.police.rows import MeasureRequestRow, MeasureRow
from hub.transport import RowTable, open_rows
from topics.catalog import inbox_name

log = logging.getLogger(__name__)

POLICE_INBOX = inbox_name(POLICE_CODE)


def check_addressed_to_police(recipient: str) -> None:
    if recipient != POLICE_CODE:
        raise UnknownAgency(f"police requests go to {POLICE_CODE!r}, not {recipient!r}", field="envelope.recipient")


def lapse_notice_body(row: MeasureRow) -> dict[str, Any]:
    """The body of the MeasureLapsed message about a lapsed measure."""
    return {"measure_id": row.measure_id, "measure_kind": row.measure_kind, "case_number": row.case_number,
            "lapsed_at": utc_datetime(row.lapsed_ms), "control_to": row.last_day}


class PoliceFlow:
    """The hub's handlers of police requests, answers, sightings and lapses."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        #: measure id -> :class:`~hub.flows.police.rows.MeasureRow` (as JSON)
        self.measures: RowTable = ctx.table("measures")
        #: request id -> :class:`~hub.flows.police.rows.MeasureRequestRow` (as JSON), until the police name the measure
        self.measure_requests: RowTable = ctx.table("measure_requests")

    # --- the tables, typed --------------------------------------------------------------------
    def measure(self, measure_id: str) -> MeasureRow | None:
        row = self.measures.get(measure_id)
        return MeasureRow.from_json(row) if isinstance(row, dict) else None

    def known_measure(self, measure_id: str) -> MeasureRow:
        row = self.measure(measure_id)
        if row is None:
            raise UnknownMeasure(f"no measure {measure_id!r} is known to the hub", field="body.measure_id")
        return row

    def put_measure(self, row: MeasureRow) -> MeasureRow:
        self.measures[row.measure_id] = row.to_json()
        return row

    def measure_request(self, request_id: str) -> MeasureRequestRow | None:
        row = self.measure_requests.get(request_id)
        return MeasureRequestRow.from_json(row) if isinstance(row, dict) else None

    # --- court -> police ------------------------------------------------------------------------
    async def handle_request(self, msg: AvroMessage, record: RawRecord) -> None:
        """Look-ups (002 §2(二)) and measures (002 §3(一)-(三))."""
        ctx, env, body = self.ctx, msg.envelope, msg.body
        VALIDATORS[msg.schema](body, env["sender"], china_today(ctx.clock))
        check_addressed_to_police(env["recipient"])
        case = body["case"]["case_number"]
        if msg.request_id not in ctx.requests and msg.schema in MEASURE_KIND_OF:
            # kept before forwarding: the police may answer at once
            pending = rows.pending_measure(msg.request_id, MEASURE_KIND_OF[msg.schema], body, env["sender"],
                                           record.partition)
            self.measure_requests[msg.request_id] = pending.to_json()
        await deliver(ctx, msg.message_type, record.value or b"", request_id=msg.request_id, court=env["sender"],
                      case=case, agency=POLICE_CODE, partition=record.partition,
                      correlation=env.get("correlation_id"))

    async def handle_release(self, msg: AvroMessage, record: RawRecord) -> None:
        """002 §3(三) last para: the court pushes the release; the measure stops being an active hit now."""
        ctx, env, body = self.ctx, msg.envelope, msg.body
        validate_release(body, env["sender"], china_today(ctx.clock), env.get("correlation_id"))
        check_addressed_to_police(env["recipient"])
        row = self.known_measure(body["measure_id"])
        if row.court != env["sender"] or row.case_number != body["case"]["case_number"]:
            raise MeasureMismatch(f"measure {row.measure_id} belongs to {row.court} case {row.case_number}",
                                  field="body.measure_id")
        if row.measure_kind != body["measure_kind"]:
            raise MeasureMismatch(f"measure {row.measure_id} is a {row.measure_kind}", field="body.measure_kind")
        if msg.request_id not in ctx.requests:  # released at once: sightings from now on are not active hits
            self.put_measure(rows.release(row, msg.request_id, ctx.clock.now_ms()))
        await deliver(ctx, msg.message_type, record.value or b"", request_id=msg.request_id, court=env["sender"],
                      case=row.case_number, agency=POLICE_CODE, partition=record.partition,
                      correlation=env.get("correlation_id"))

    # --- police -> court ------------------------------------------------------------------------
    async def handle_lookup_reply(self, msg: AvroMessage, record: RawRecord) -> None:
        rec = answered_request(self.ctx, msg, POLICE_CODE)
        if msg.message_type != rec.message_type.removesuffix("Request") + "Reply":
            raise ValidationError(f"{msg.message_type} does not answer a {rec.message_type}",
                                  field="envelope.request_id")
        validate_lookup_reply(msg.body)
        await forward_answer(self.ctx, rec, msg, record)
        mark_answered(self.ctx, rec.request_id)

    async def handle_measure_reply(self, msg: AvroMessage, record: RawRecord) -> None:
        """The police placed (or refused) a measure: from now on the hub tracks it by its id."""
        ctx = self.ctx
        rec = answered_request(ctx, msg, POLICE_CODE)
        pending = self.measure_request(msg.request_id)
        if pending is None:
            raise ValidationError(f"request {msg.request_id} is not a measure request", field="envelope.request_id")
        body = msg.body
        validate_measure_reply(body, pending.measure_kind)
        if body["outcome"] == "PLACED" and self.measure(body["measure_id"]) is None:
            self.put_measure(rows.placed(body["measure_id"], pending, ctx.clock.now_ms(), record.partition))
        await forward_answer(ctx, rec, msg, record)
        mark_answered(ctx, rec.request_id)

    async def handle_release_ack(self, msg: AvroMessage, record: RawRecord) -> None:
        rec = answered_request(self.ctx, msg, POLICE_CODE)
        if rec.message_type != "MeasureRelease":
            raise ValidationError(f"a release acknowledgement does not answer a {rec.message_type}",
                                  field="envelope.request_id")
        validate_release_ack(msg.body)
        row = self.known_measure(msg.body["measure_id"])
        self.put_measure(rows.acknowledged(row, msg.body["status"]))
        await forward_answer(self.ctx, rec, msg, record)  # answers the release
        mark_answered(self.ctx, rec.request_id)

    async def handle_sighting(self, msg: AvroMessage, record: RawRecord) -> None:
        """002 §3(二)-(三): to the court and case of the measure, however late; flagged if no longer active."""
        body = msg.body
        validate_sighting(body, msg.envelope.get("correlation_id"))
        row = self.known_measure(body["measure_id"])
        if row.measure_kind != body["measure_kind"]:
            raise MeasureMismatch(f"measure {row.measure_id} is a {row.measure_kind}", field="body.measure_kind")
        key = record.key.decode("utf-8", "replace") if record.key else ""
        if key != row.case_number:
            raise MeasureMismatch(f"a sighting is keyed by its measure's case number {row.case_number!r}",
                                  field="key")
        updated, active = rows.sighted(row)
        self.put_measure(updated)
        if not active:
            log.info("sighting %s for %s measure %s delivered for the record only", msg.envelope["message_id"],
                     row.state.value, row.measure_id)
        env = {**msg.envelope, "request_id": row.request_id, "correlation_id": row.measure_id,
               "recipient": row.court}
        notice = message(SIGHTING, env, {**body, "case_number": row.case_number, "delivered_active": active})
        await self.ctx.out.emit(self.ctx.topics.court_notices, row.case_number, notice)

    async def handle_police_lapse(self, msg: AvroMessage, record: RawRecord) -> None:
        """The police may report a lapse themselves; the court hears of each lapse once."""
        row = self.known_measure(msg.body["measure_id"])
        if not row.is_active:
            log.info("measure %s already %s; police lapse recorded only", row.measure_id, row.state.value)
            return
        row = self.put_measure(rows.lapse(row, int(msg.body["lapsed_at"].timestamp() * 1000)))
        env = {**msg.envelope, "request_id": row.request_id, "correlation_id": row.measure_id,
               "recipient": row.court}
        await self.ctx.out.emit(self.ctx.topics.court_notices, row.case_number,
                                message(LAPSED, env, lapse_notice_body(row)))

    # --- time -------------------------------------------------------------------------------------
    async def lapse_measures(self, partition: int, now_ms: int) -> None:
        """End of the control period (控制期限): the measure lapses; court and police are told."""
        for _, stored in open_rows(self.measures, partition):
            lapsed = rows.lapsed_if_due(MeasureRow.from_json(stored), now_ms)
            if lapsed is not None:
                await self.tell_lapsed(self.put_measure(lapsed))

    async def tell_lapsed(self, row: MeasureRow) -> None:
        """The court of the measure (``court.notices``) and the police (their inbox) hear of the lapse."""
        ctx = self.ctx
        body = lapse_notice_body(row)
        for recipient, topic in ((row.court, ctx.topics.court_notices), (POLICE_CODE, POLICE_INBOX)):
            env = envelope(ctx.clock, request_id=row.request_id, recipient=recipient, correlation_id=row.measure_id)
            await ctx.out.emit(topic, row.case_number, message(LAPSED, env, body))
