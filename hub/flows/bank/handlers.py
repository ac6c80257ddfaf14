"""Hub side of the bank flows (SPEC §3): validate, route, verify seals, correlate, fan out.

court → ``court.requests`` → (validated here) → ``agency.<bank>.inbox`` → bank →
``agency.<bank>.outbox`` → (seal and sender verified here) → ``court.replies``.
Requests are forwarded as the court wrote them, with the delivery time (000 §16: the moment the
request reached the hub) in the ``delivered-at`` header (:func:`hub.flows.delivery.deliver`); the bank
echoes it in its reply.  Replies are forwarded to the court byte for byte, so the bank's seal stays
verifiable (:mod:`hub.flows.correlation`).  An intensive query (seed 001, :mod:`hub.flows.bank.rows`)
fans out to its units as query requests correlated to it, and its merged result goes to the court
whenever a unit's state changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hub.clock import china_today
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.deadlines import deadline_ms
from hub.envelope import envelope, message
from hub.errors import RequestRefused, UnknownAgency, UnknownSealKey, ValidationError
from hub.flows.bank.messages import ESCALATION, INTENSIVE, INTENSIVE_RESULT, QUERY, VALIDATORS, household_place
from hub.flows.bank.rows import (
    IntensiveQuery,
    IntensiveTable,
    apply_reply,
    escalation_body,
    escalation_due,
    mark_escalated,
    mark_no_response,
    mark_viewed,
    new_intensive_query,
    result_body,
    unit_set,
)
from hub.flows.correlation import answered_request, forward_answer, mark_answered
from hub.flows.delivery import deliver
from hub.lifecycle import RequestRow, State, can_transition, new_record, transition
from hub.seal import KeyStore, SealVerifier

#: the pseudo-agency of an intensive query's own request row (its units have their own rows)
INTENSIVE_AGENCY = "intensive"


class BankFlow:
    """The bank flow's handlers over the context, the ``intensive`` tables and the registered seal keys."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        #: intensive-query id -> its row; case number -> the intensive-query ids of that case
        self.intensive = IntensiveTable(ctx.table("intensive"), ctx.table("intensive_by_case"))
        self._verifier: SealVerifier | None = None
        #: whether the court gets the merged result of a query at every unit's answer (else only when property
        #: is first found and when complete: a sweep, :mod:`hub.flows.sweeps`, sets it)
        self.every_result: Callable[[str], bool] = lambda request_id: True

    # --- seals --------------------------------------------------------------------------------
    def verify_seal(self, msg: AvroMessage, agency: str) -> None:
        """The reply carries ``agency``'s valid seal (000 §8); the registered keys (``<data_dir>/keys/registry.json``)
        are read on first use and again when a key is unknown (registered since)."""
        keys = KeyStore(self.ctx.settings.data_dir)
        if self._verifier is None:
            self._verifier = keys.verifier()
        try:
            self._verifier.verify(self.ctx.codec, msg, agency)
        except UnknownSealKey:
            self._verifier = keys.verifier()
            self._verifier.verify(self.ctx.codec, msg, agency)

    # --- court requests -----------------------------------------------------------------------
    def check_financial(self, code: str) -> None:
        agency = next((a for a in self.ctx.runtime.catalog.agencies if a.code == code), None)
        if agency is None or not agency.is_financial:
            raise UnknownAgency(f"{code!r} is not a bank, payment firm or securities unit of the hub",
                                field="envelope.recipient")

    def refuse_if_intensive_pending(self, case_number: str, unit: str) -> None:
        """Seed 001: until the units of an intensive query have answered, the court may not query them itself."""
        for query in self.intensive.of_case(case_number):
            if unit in query.pending_units:
                raise RequestRefused(
                    f"intensive query {query.request_id} for this case is pending and {unit} has not answered yet"
                    " (seed 001)",
                    field="envelope.recipient",
                )

    async def single_request(self, msg: AvroMessage, record: RawRecord) -> None:
        """Query, freeze, continued freeze, unfreeze, deduction: validated and delivered to the bank."""
        env, body = msg.envelope, msg.body
        VALIDATORS[msg.schema](body, env["sender"], china_today(self.ctx.clock))
        agency = env["recipient"]
        self.check_financial(agency)
        case_number = body["case"]["case_number"]
        if msg.schema == QUERY and msg.request_id not in self.ctx.requests:
            self.refuse_if_intensive_pending(case_number, agency)
        await deliver(self.ctx, msg.message_type, record.value or b"", request_id=msg.request_id,
                      court=env["sender"], case=case_number, agency=agency, partition=record.partition)

    async def intensive_query(self, msg: AvroMessage, record: RawRecord) -> None:
        """Seed 001: one query request per unit, correlated to the intensive query; the (empty) result at once."""
        ctx = self.ctx
        env, body = msg.envelope, msg.body
        VALIDATORS[INTENSIVE](body, env["sender"], china_today(ctx.clock))
        request_id, court = msg.request_id, env["sender"]
        existing = self.intensive.get(request_id)
        if existing is not None:
            await self.emit_result(existing, court)  # a resend gets the current merged result
            return
        units = unit_set(ctx.runtime.catalog.agencies, household_place(body), body["court_place_code"])
        query = await self.fan_out(request_id, message_type=msg.message_type, court=court, body=body, units=units,
                                   partition=record.partition, purpose="INTENSIVE")
        await self.emit_result(query, court)

    async def fan_out(self, request_id: str, *, message_type: str, court: str, body: dict[str, Any],
                      units: dict[str, str], partition: int, purpose: str,
                      lane: Callable[[str], str] | None = None, spacing_s: float = 0.0) -> IntensiveQuery:
        """One query request per unit (``units``: code -> category) correlated to ``request_id``, whose row is
        recorded routed; ``body`` has the case, subject, officer, assistance notice (and a transaction window);
        ``lane(unit)`` names the catalog topic a unit's request goes to when not its inbox (a sweep's lane), and
        ``spacing_s`` the time between two units' requests (a sweep's: so their replies do not come back at once)."""
        ctx = self.ctx
        case_number = body["case"]["case_number"]
        now = ctx.clock.now_ms()
        query = new_intensive_query(
            request_id, case_number=case_number, court=dict(body["case"]["court"]),
            filing_date=body["case"]["filing_date"], officer=body["officer"], units=units, now_ms=now,
            partition=partition,
        )
        self.intensive.add(query)
        deadline = deadline_ms(message_type, now, ctx.runtime.calendar.current)
        parent = new_record(request_id, type_=message_type, court=court, case=case_number,
                            agency=INTENSIVE_AGENCY, now_ms=now, partition=partition, deadline=deadline)
        # Routed to its units, whose own rows carry the deadlines: the intensive query is never overdue itself,
        # it completes when the last unit answers or is NO_RESPONSE at its deadline (seed 001 §(一)1).
        ctx.requests.put(transition(parent, State.ROUTED, now))
        for unit in sorted(units):
            child = message(QUERY, envelope(ctx.clock, request_id=f"{request_id}.{unit}", sender=court,
                                            recipient=unit, correlation_id=request_id), {
                "case": body["case"], "subject": body["subject"], "officer": body["officer"],
                "assistance_notice": body["assistance_notice"], "purpose": purpose,
                "transaction_window": body.get("transaction_window"),
            })
            await deliver(ctx, "QueryRequest", ctx.codec.encode_message(child), request_id=child.request_id,
                          court=court, case=case_number, agency=unit, partition=partition,
                          correlation=request_id, topic=lane(unit) if lane is not None else None)
            await asyncio.sleep(spacing_s)  # a fan-out of 26 units is not one slice of the loop: live work goes between
        return query

    async def property_viewed(self, msg: AvroMessage, record: RawRecord) -> None:
        """The officer has viewed the property feedback (seed 001 §(一)2)."""
        now = self.ctx.clock.now_ms()
        for query in self.intensive.of_case(msg.body["case_number"]):
            if query.property_reported_ms is not None:
                self.intensive.put(mark_viewed(query, now))

    # --- bank replies -------------------------------------------------------------------------
    async def reply(self, msg: AvroMessage, record: RawRecord) -> None:
        """A bank's sealed reply: correlated, seal and delivery time checked, forwarded byte for byte."""
        ctx = self.ctx
        agency = msg.envelope["sender"]
        row = answered_request(ctx, msg, agency)
        self.verify_seal(msg, agency)
        delivered = int(msg.body["delivered_at"].timestamp() * 1000)
        if delivered != row.accepted_ms:
            raise ValidationError(
                f"delivery time {delivered} differs from the hub's record {row.accepted_ms} (000 §16)",
                field="body.delivered_at",
            )
        await forward_answer(ctx, row, msg, record)
        now = ctx.clock.now_ms()
        row = mark_answered(ctx, row.request_id) or row
        if row.correlation_id:
            await self.unit_answered(row.correlation_id, agency, msg, now)

    async def unit_answered(self, request_id: str, unit: str, msg: AvroMessage, now: int) -> None:
        """A unit's reply merged into its intensive query; the parent answered once the last unit has."""
        query = self.intensive.get(request_id)
        if query is None:
            return
        updated = apply_reply(query, unit, msg.body, str(msg.envelope["message_id"]), now)
        if updated is query:
            return
        self.intensive.put(updated)
        parent = mark_answered(self.ctx, request_id, complete=updated.is_complete)
        first_property = updated.property_reported_ms is not None and query.property_reported_ms is None
        if updated.is_complete or first_property or self.every_result(request_id):
            await self.emit_result(updated, parent.court if parent else "")

    # --- time ---------------------------------------------------------------------------------
    async def unit_without_response(self, child: RequestRow, now: int) -> None:
        """Seed 001 §(一)1: a unit silent past its deadline is NO_RESPONSE; the last one completes the result."""
        request_id = child.correlation_id
        query = self.intensive.get(request_id) if request_id else None
        if request_id is None or query is None:
            return
        updated = mark_no_response(query, child.agency)
        if updated is query:
            return
        self.intensive.put(updated)
        if not updated.is_complete:
            return  # the final result names every unit's state at once
        parent = self.ctx.requests.get(request_id)
        if parent is not None and can_transition(parent, State.ANSWERED):  # complete at the deadline: on time
            self.ctx.requests.put(transition(parent, State.ANSWERED, now))
        await self.emit_result(updated, parent.court if parent else child.court)

    async def escalate_unviewed_property(self, partition: int, now_ms: int) -> None:
        """Seed 001 §(一)2: property feedback not viewed within 3 days goes to supervision (执行督办)."""
        ctx = self.ctx
        for query in self.intensive.in_partition(partition):
            if not escalation_due(query, now_ms):
                continue
            self.intensive.put(mark_escalated(query, now_ms))
            env = envelope(ctx.clock, request_id=query.request_id, recipient=query.court_code)
            await ctx.out.emit(ctx.topics.court_notices, query.case_number,
                               message(ESCALATION, env, escalation_body(query, now_ms)))

    # --- the merged result --------------------------------------------------------------------
    async def emit_result(self, query: IntensiveQuery, court: str) -> None:
        ctx = self.ctx
        unit_names = {a.code: a.name_zh for a in ctx.runtime.catalog.agencies}
        env = envelope(ctx.clock, request_id=query.request_id, recipient=court)
        body = result_body(query, unit_names, ctx.clock.now())
        await ctx.out.emit(ctx.topics.court_replies, query.case_number, message(INTENSIVE_RESULT, env, body))
