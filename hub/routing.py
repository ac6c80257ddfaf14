"""Intake of the hub: every court request and every agency message enters here.

Flows register a handler per message type with :func:`court_route` or :func:`agency_route`.
A message type nobody handles is rejected (error reply + dead letter), never dropped.  A
handler raising a non-retriable :class:`~hub.errors.HubError` rejects the message the same
way; a retriable one is retried with back-off, then rejected with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from faust import StreamT

from hub.app import app, audit, dead_letters, hold_audit, principal_of, raw_record, release_audit, runtime, topic_for
from hub.audit import AuditEntry
from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.errors import CatalogError, HubError, InternalError, NoRoute, WrongSender
from hub.lifecycle import State, new_record, transition
from hub.log_format import log_fields
from hub.tables import requests
from topics.catalog import Role

log = logging.getLogger(__name__)

Handler = Callable[[AvroMessage, RawRecord], Awaitable[None]]
#: told about every message a flow accepted (the anomaly detector learns an agency is alive)
accept_observers: list[Callable[[Role, AvroMessage, RawRecord], Awaitable[None]]] = []
_court_routes: dict[str, Handler] = {}
_agency_routes: dict[str, Handler] = {}
RETRIES = 3
BACKOFF_S = 0.2


def court_route(schema: str) -> Callable[[Handler], Handler]:
    """Register the handler of a message type arriving from the courts."""

    def register(fn: Handler) -> Handler:
        _court_routes[schema] = fn
        return fn

    return register


def agency_route(schema: str) -> Callable[[Handler], Handler]:
    """Register the handler of a message type arriving from an agency outbox."""

    def register(fn: Handler) -> Handler:
        _agency_routes[schema] = fn
        return fn

    return register


async def reject(role: Role, msg: AvroMessage, record: RawRecord, error: HubError) -> None:
    """Dead-letter and answer; a court request also gets a ``rejected`` row in the request table."""
    await dead_letters.reject(record, msg, error)
    if role is Role.COURT_REQUESTS and requests.get(msg.request_id) is None:
        env = msg.envelope
        now = runtime.clock.now_ms()
        rec = new_record(msg.request_id, type_=msg.message_type, court=str(env["sender"]),
                         case=str(record.key.decode("utf-8", "replace") if record.key else ""),
                         agency=str(env["recipient"]), now_ms=now, partition=record.partition, deadline=None)
        requests[msg.request_id] = transition(rec, State.REJECTED, now)


async def dispatch(routes: dict[str, Handler], role: Role, msg: AvroMessage, record: RawRecord) -> None:
    """Run the message's flow; the trail gets its ACCEPT (or REJECT) entry, then the entries of its effects."""
    runtime.metrics.messages_received_total.labels(role.value, msg.message_type).inc()
    handler = routes.get(msg.schema)
    if handler is None:
        await reject(role, msg, record, NoRoute(f"no flow handles {msg.schema} on {role.value}"))
        return
    async with hold_audit() as effects:
        failure = await _run(handler, msg, record)
    if failure is not None:
        await reject(role, msg, record, failure)
        await release_audit(effects)  # anything it had sent before failing stays on the record
        return
    await audit(AuditEntry(
        "ACCEPT", record.topic, record.value or b"", principal_of(record.topic),
        client=str(msg.envelope.get("sender")), partition=record.partition, offset=record.offset,
        message_type=msg.message_type, message_id=str(msg.envelope.get("message_id")),
        request_id=msg.request_id, case_number=record.key.decode("utf-8", "replace") if record.key else None,
        agency=str(msg.envelope.get("recipient")) if role is Role.COURT_REQUESTS
        else str(msg.envelope.get("sender")),
        decision="accepted",
    ))
    await release_audit(effects)
    for observer in accept_observers:
        await observer(role, msg, record)


async def _run(handler: Handler, msg: AvroMessage, record: RawRecord) -> HubError | None:
    """The handler, retried with back-off while it fails retriably; the error that rejects it, if any."""
    for attempt in range(1, RETRIES + 1):
        try:
            await handler(msg, record)
            return None
        except HubError as exc:
            if not exc.retriable or attempt == RETRIES:
                return exc
            log.warning("retriable %s on %s (attempt %d): %s", exc.code, msg.request_id, attempt, exc,
                        extra=request_log_fields(msg, record))
            await asyncio.sleep(BACKOFF_S * attempt)
        except Exception as exc:
            log.exception("flow for %s failed on %s", msg.schema, msg.request_id, extra=request_log_fields(msg, record))
            return InternalError(f"{type(exc).__name__}: {exc}")
    return None


def request_log_fields(msg: AvroMessage, record: RawRecord) -> dict[str, str]:
    """``extra=`` of a log line about ``msg`` (:mod:`hub.log_format`): its request id, case number (the
    record key) and agency (the outbox's owner, or the recipient of a court's request)."""
    try:
        agency = runtime.catalog.get(record.topic.removeprefix(runtime.settings.topic_prefix)).agency
    except CatalogError:
        agency = None
    return log_fields(msg.request_id, record.key.decode("utf-8", "replace") if record.key else None,
                      agency or msg.envelope.get("recipient"))


def check_agency_sender(msg: AvroMessage, record: RawRecord) -> None:
    """An outbox belongs to one agency: the envelope must name it as sender."""
    spec = runtime.catalog.get(record.topic.removeprefix(runtime.settings.topic_prefix))
    if msg.envelope.get("sender") != spec.agency:
        raise WrongSender(
            f"message on {spec.name} claims sender {msg.envelope.get('sender')!r}", field="envelope.sender"
        )


@app.agent(topic_for(Role.COURT_REQUESTS))
async def court_intake(stream: StreamT[AvroMessage]) -> None:
    async for event in stream.events():
        await dispatch(_court_routes, Role.COURT_REQUESTS, event.value, raw_record(event.message))


@app.agent(topic_for(Role.AGENCY_OUTBOX))
async def agency_intake(stream: StreamT[AvroMessage]) -> None:
    async for event in stream.events():
        record = raw_record(event.message)
        try:
            check_agency_sender(event.value, record)
        except WrongSender as exc:
            await reject(Role.AGENCY_OUTBOX, event.value, record, exc)
            continue
        await dispatch(_agency_routes, Role.AGENCY_OUTBOX, event.value, record)
