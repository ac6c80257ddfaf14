"""Intake of the hub: every court request, agency message and hub-internal message enters here.

Flows register a handler per message type on the hooks (:class:`~hub.hooks.FlowHooks`).  A message
type nobody handles is rejected (error reply + dead letter), never dropped; so is a message whose
handler raises.  A handler is not retried here: a failure that may heal (the broker) surfaces in the
producer and stops the worker's commits, and the record is processed again after the restart
(:mod:`hub.producer`) by handlers that are idempotent by request id.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.audit_log import AuditEntry
from hub.audit_writer import in_chain
from hub.codec import AvroMessage, check_size
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.errors import CatalogError, HubError, InternalError, NoRoute, WrongSender
from hub.hooks import Handler
from hub.lifecycle import State, new_record, transition
from hub.log_format import log_fields
from topics.catalog import Role

log = logging.getLogger(__name__)

TICK = "cn.court.interop.ops.Tick"


def decode_value(ctx: HubContext, value: bytes) -> AvroMessage:
    """The one decoder of record values (oversize values are refused undecoded)."""
    check_size(value, ctx.settings.max_message_bytes)
    return ctx.codec.decode(value)


class Intake:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    # Everything written while a record is handled belongs to the audit chain of the record's partition.
    async def court_message(self, msg: AvroMessage, record: RawRecord) -> None:
        self.read(Role.COURT_REQUESTS, msg, record)
        with in_chain(record.partition):
            await self.dispatch(self.ctx.hooks.court_routes, Role.COURT_REQUESTS, msg, record)

    async def agency_message(self, msg: AvroMessage, record: RawRecord) -> None:
        self.read(Role.AGENCY_OUTBOX, msg, record)
        with in_chain(record.partition):
            try:
                self.check_agency_sender(msg, record)
            except WrongSender as exc:
                await self.reject(Role.AGENCY_OUTBOX, msg, record, exc)
                return
            await self.dispatch(self.ctx.hooks.agency_routes, Role.AGENCY_OUTBOX, msg, record)

    def read(self, role: Role, msg: AvroMessage, record: RawRecord) -> None:
        """How long the record waited for this worker (both input topics are LogAppendTime), and where it is;
        live traffic apart from paced background work (a sweep's replies, :meth:`FlowHooks.paced_traffic`)."""
        paced = any(is_paced(msg) for is_paced in self.ctx.hooks.paced)
        waited = self.ctx.input.read(record, live=not paced)
        if waited is not None:
            traffic = "paced" if paced else "live"
            self.ctx.runtime.metrics.input_wait_seconds.labels(role.value, traffic).observe(waited / 1000)

    async def internal_message(self, msg: AvroMessage, record: RawRecord) -> None:
        """A message the hub sent to one of its own partitions (``hub.ticks``): a tick or a flow's outcome."""
        if msg.schema == TICK:
            await self.tick(record.partition, self.ctx.clock.now_ms())
            return
        with in_chain(record.partition):
            handler = self.ctx.hooks.internal_routes.get(msg.schema)
            if handler is None:
                error = NoRoute(f"no flow handles {msg.schema} on hub.ticks")
                await self.ctx.dead_letters.reject(record, msg, error)
                return
            await handler(msg, record)

    async def tick(self, partition: int, now_ms: int) -> None:
        with in_chain(partition):
            for handler in self.ctx.hooks.ticks:
                try:
                    await handler(partition, now_ms)
                except Exception:  # one failing check must not stop the others; the next tick runs it again
                    log.exception("tick handler %s failed on partition %d", handler.__qualname__, partition)

    async def undecodable(self, exc: BaseException, record: RawRecord) -> None:
        self.ctx.input.read(record)
        with in_chain(record.partition):
            await self.ctx.dead_letters.undecodable(exc, record)

    async def reject(self, role: Role, msg: AvroMessage, record: RawRecord, error: HubError) -> None:
        """Dead-letter and answer; a court request also gets a ``rejected`` row in the request table."""
        ctx = self.ctx
        await ctx.dead_letters.reject(record, msg, error)
        if role is Role.COURT_REQUESTS and msg.request_id not in ctx.requests:
            env = msg.envelope
            now = ctx.clock.now_ms()
            rec = new_record(msg.request_id, type_=msg.message_type, court=str(env["sender"]),
                             case=str(record.key.decode("utf-8", "replace") if record.key else ""),
                             agency=str(env["recipient"]), now_ms=now, partition=record.partition, deadline=None)
            ctx.requests.put(transition(rec, State.REJECTED, now))

    async def dispatch(self, routes: dict[str, Handler], role: Role, msg: AvroMessage, record: RawRecord) -> None:
        """Run the message's flow; the trail gets its ACCEPT (or REJECT) entry, then the entries of its effects."""
        ctx = self.ctx
        ctx.runtime.metrics.messages_received_total.labels(role.value, msg.message_type).inc()
        handler = routes.get(msg.schema)
        if handler is None:
            await self.reject(role, msg, record, NoRoute(f"no flow handles {msg.schema} on {role.value}"))
            return
        async with ctx.audit.hold() as effects:
            failure = await self._run(handler, msg, record)
        if failure is not None:
            await self.reject(role, msg, record, failure)
            await ctx.audit.release(effects)  # anything it had sent before failing stays on the record
            return
        await ctx.audit.append(AuditEntry(
            "ACCEPT", record.topic, record.value or b"", ctx.audit.principal_of(record.topic),
            client=str(msg.envelope.get("sender")), partition=record.partition, offset=record.offset,
            message_type=msg.message_type, message_id=str(msg.envelope.get("message_id")),
            request_id=msg.request_id, case_number=record.key.decode("utf-8", "replace") if record.key else None,
            agency=str(msg.envelope.get("recipient")) if role is Role.COURT_REQUESTS
            else str(msg.envelope.get("sender")),
            decision="accepted",
        ))
        await ctx.audit.release(effects)
        for observer in ctx.hooks.accepted:
            await observer(role, msg, record)

    async def _run(self, handler: Handler, msg: AvroMessage, record: RawRecord) -> HubError | None:
        """The handler; the error that rejects the message, if any."""
        try:
            await handler(msg, record)
        except HubError as exc:
            return exc
        except Exception as exc:
            log.exception("flow for %s failed on %s", msg.schema, msg.request_id,
                          extra=self.request_log_fields(msg, record))
            return InternalError(f"{type(exc).__name__}: {exc}")
        return None

    def request_log_fields(self, msg: AvroMessage, record: RawRecord) -> dict[str, Any]:
        """``extra=`` of a log line about ``msg`` (:mod:`hub.log_format`): its request id, case number (the
        record key) and agency (the outbox's owner, or the recipient of a court's request)."""
        rt = self.ctx.runtime
        try:
            agency = rt.catalog.get(record.topic.removeprefix(rt.settings.topic_prefix)).agency
        except CatalogError:
            agency = None
        return log_fields(msg.request_id, record.key.decode("utf-8", "replace") if record.key else None,
                          agency or msg.envelope.get("recipient"))

    def check_agency_sender(self, msg: AvroMessage, record: RawRecord) -> None:
        """An outbox belongs to one agency: the envelope must name it as sender."""
        rt = self.ctx.runtime
        spec = rt.catalog.get(record.topic.removeprefix(rt.settings.topic_prefix))
        if msg.envelope.get("sender") != spec.agency:
            raise WrongSender(
                f"message on {spec.name} claims sender {msg.envelope.get('sender')!r}", field="envelope.sender"
            )
