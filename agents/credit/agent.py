"""Hub side of the dishonest-debtor list and of consumption restriction (SPEC §5, §6).

court → ``court.requests`` (ListDecision, checked on its own here) → journal ``<app id>-credit-journal``
(1 partition) → :class:`~agents.credit.sequencer.Sequencer` (checked against the list, publication id,
digest) → ``credit.list.history`` (ListEvent) + ``credit.list.current`` (ListEntry; tombstone on removal)
→ the credit platform and the joint-punishment units read them.  The platform's ListAck (outbox) goes
to the court (``court.replies``) and to the journal, which tracks the 3-working-day deadlines of
失信规定 art. 9-10 (from the decision; for a term end, from its last day); an overdue one becomes a
``DeadlineEvent(EXPIRED)`` on ``court.replies`` and ``court.notices``, a late ack ``ANSWERED_LATE``, both
counted in ``interop_hub_deadline_events_total{message_type="ListDecision"}``.  Why a journal and not a
faust table: see :mod:`agents.credit.sequencer`.

Look-ups (ListLookupRequest) and consumption restrictions (ConsumptionRestriction) are ordinary
requests to the platform's inbox, rows of the ``requests`` table; a lift's due time runs from the
performance date (004 §23: 3 working days) and :mod:`hub.deadline_tracker` warns, escalates and counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faust import StreamT
from prometheus_client import Counter, Gauge

from agents.credit.models import (
    ACK,
    DEADLINE_EVENT,
    DECISION,
    ENTRY,
    EVENT,
    LOOKUP,
    LOOKUP_REPLY,
    PLATFORM,
    RESTRICTION,
    RESTRICTION_ACK,
    case_of,
    decision_deadline,
    restriction_lift_deadline,
    validate_decision,
    validate_restriction,
)
from agents.credit.replay import read_log
from agents.credit.sequencer import Pending, Sequencer
from hub.app import app, audit, dead_letters, emit, forward, runtime, send_raw, settings
from hub.audit import AuditEntry
from hub.clock import china_today
from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.deadlines import Deadline, deadline_ms
from hub.envelope import envelope, message
from hub.errors import CodecError, HubError, InternalError, UnknownRequest, ValidationError, WrongAgency
from hub.lifecycle import State, answer_state, can_transition, is_terminal, new_record, transition
from hub.routing import agency_route, court_route
from hub.tables import TICKS_TOPIC, requests, ticks_topic
from topics.catalog import credit_sequencer_group_id, inbox_name

log = logging.getLogger(__name__)

HISTORY = "credit.list.history"
CURRENT = "credit.list.current"
REPLIES = "court.replies"
NOTICES = "court.notices"
DELIVERED_AT = "delivered-at"
JOURNAL = f"{settings.app_id}-credit-journal"
JOURNAL_KEY = b"list"
LIST_READERS = "list-readers"
BATCH = 500
SEND_ATTEMPTS = 3

sequencer = Sequencer(runtime.calendar.current)
_lock = asyncio.Lock()

_registry = runtime.metrics.registry
publications_total = Counter("credit_list_publications_total", "List publications, by action", ["action"],
                             namespace="interop_hub", registry=_registry)
last_publication = Gauge("credit_list_last_publication_id", "Last publication id", namespace="interop_hub",
                         registry=_registry)
DECISION_TYPE = "ListDecision"
SEQUENCED = "cn.court.interop.ops.ListDecisionSequenced"


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def _header(headers: tuple[tuple[str, bytes | None], ...] | list[tuple[str, bytes]], name: str) -> str | None:
    for k, v in headers:
        if k == name and v is not None:
            return v.decode()
    return None


# --- court → hub: list decisions ------------------------------------------------------------------
@court_route(DECISION)
async def handle_decision(msg: AvroMessage, record: RawRecord) -> None:
    """Checks that need no list (art. 1-6), then onto the journal for the one ordered place.

    The decision is a row of the request table from here on: routed (to the sequencer), then delivered
    (published) or rejected (refused against the list), then answered when the platform acknowledges it;
    a revocation, correction or deletion is due within 3 working days of the decision (art. 9-10).
    """
    key = record.key.decode() if record.key else ""
    sender = str(msg.envelope["sender"])
    validate_decision(msg.body, sender, key, china_today(runtime.clock))
    now = runtime.clock.now_ms()
    headers = [("source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
               ("case", key.encode()), (DELIVERED_AT, str(now).encode())]
    await _to_journal(record.value or b"", headers)
    if requests.get(msg.request_id) is None:  # a resend is sequenced once (by request id) and keeps its row
        deadline, counted_from = decision_deadline(msg.body, now, runtime.calendar.current)
        rec = new_record(msg.request_id, type_=msg.message_type, court=sender, case=key, agency=PLATFORM,
                         now_ms=now, partition=record.partition, deadline=deadline, counted_from_ms=counted_from)
        requests[msg.request_id] = transition(rec, State.ROUTED, now)


@agency_route(ACK)
async def handle_ack(msg: AvroMessage, record: RawRecord) -> None:
    """The platform applied a publication: tell the court; the decision is answered (a term end: the
    sequencer stops its clock)."""
    await forward(REPLIES, record.key.decode() if record.key else "", record.value or b"", msg.message_type,
                  request_id=msg.request_id)
    rec = requests.get(msg.request_id)
    if rec is not None and rec["type"] == DECISION_TYPE and not is_terminal(rec):
        now = runtime.clock.now_ms()
        requests[msg.request_id] = transition(rec, answer_state(rec, now), now)
    await _to_journal(record.value or b"", [(DELIVERED_AT, str(runtime.clock.now_ms()).encode())])


@app.agent(ticks_topic)
async def decision_outcomes(stream: StreamT[AvroMessage]) -> None:
    """The sequencer's outcome, sent to the decision's own partition: the request row records it."""
    async for event in stream.events():
        msg = event.value
        if msg.schema != SEQUENCED:
            continue
        rec = requests.get(msg.request_id)
        published = msg.body["outcome"] == "PUBLISHED"
        to = State.DELIVERED if published else State.REJECTED
        if rec is not None and can_transition(rec, to):
            requests[msg.request_id] = transition(rec, to, runtime.clock.now_ms())


# --- the sequencer ------------------------------------------------------------------------------------
_owner = asyncio.Event()  # set while this worker's sequencer consumer owns the journal's only partition
_journal_ready = asyncio.Event()


async def _create_journal() -> None:
    """The journal: 1 partition, kept forever (its acknowledgements and escalations rebuild the deadlines)."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(JOURNAL, 1, 1, topic_configs={"retention.ms": "-1",
                                                                            "retention.bytes": "-1"})])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def _to_journal(raw: bytes, headers: list[tuple[str, bytes]]) -> None:
    await _journal_ready.wait()
    await send_raw(JOURNAL, JOURNAL_KEY.decode(), raw, headers)


class _Ownership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Kafka's group protocol gives the journal's only partition to one worker: the single writer."""

    async def on_partitions_revoked(self, revoked: Any) -> None:
        _owner.clear()
        sequencer.ready = False  # another worker may publish meanwhile: rebuild from the history

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            _owner.set()


def _owns_journal() -> bool:
    return _owner.is_set()


async def ensure_ready() -> None:
    """Rebuild the sequencer from the history and the journal unless it is current.

    A new working calendar (a schedule file loaded) also rebuilds it: every acknowledgement deadline
    is counted again, provisional ones become official.
    """
    if sequencer.calendar is not runtime.calendar.current:
        sequencer.calendar = runtime.calendar.current
        sequencer.ready = False
    if sequencer.ready and not sequencer.dirty:
        return
    sequencer.reset()
    async for batch in read_log(settings, settings.topic(HISTORY)):
        for _offset, _raw, event in batch:
            sequencer.replay(event.body)
        runtime.metrics.replay_events_total.inc(len(batch))
    async for batch in read_log(settings, JOURNAL):
        for _offset, _raw, rec in batch:
            if rec.schema == ACK:
                sequencer.note_ack(int(rec.body["publication_id"]), int(rec.body["applied_at"].timestamp() * 1000))
            elif rec.schema == DEADLINE_EVENT and rec.envelope.get("correlation_id"):
                _note_marker(rec)
    sequencer.ready = True
    _gauges()
    log.info("credit sequencer ready at publication %d, %d listings in force",
             sequencer.state.last_publication_id, sequencer.state.size)


def _gauges() -> None:
    runtime.metrics.list_size.set(sequencer.state.size)
    last_publication.set(sequencer.state.last_publication_id)


async def _publish(event: dict[str, Any]) -> list[Awaitable[Any]]:
    """Produce a ListEvent and the listing's current state; the futures resolve when the broker has them."""
    lid = str(event["listing_id"])
    env = envelope(runtime.clock, request_id=str(event["decision_request_id"]), recipient=LIST_READERS,
                   correlation_id=lid)
    history = runtime.codec.encode_message(message(EVENT, env, event))
    removed = not event["in_force"]
    entry = message(ENTRY, envelope(runtime.clock, request_id=str(event["decision_request_id"]),
                                    recipient=LIST_READERS, correlation_id=lid), {
        "listing_id": lid, "in_force": not removed, "record": event["entry"], "last_action": event["action"],
        "last_publication_id": event["publication_id"], "removed_at": event["published_at"] if removed else None,
        "deletion_ground": event["deletion_ground"],
    })
    producer = app.producer
    futures = [
        await producer.send(settings.topic(HISTORY), lid.encode(), history, 0, None, []),
        await producer.send(settings.topic(CURRENT), lid.encode(), runtime.codec.encode_message(entry), 0, None, []),
    ]
    if removed:  # compaction keeps the tombstone: the listing leaves the current list
        futures.append(await producer.send(settings.topic(CURRENT), lid.encode(), None, 0, None, []))
    publications_total.labels(str(event["action"])).inc()
    runtime.metrics.messages_sent_total.labels("list_history", "ListEvent").inc()
    case, _court = case_of(event["entry"])
    await audit(AuditEntry("EMIT", settings.topic(HISTORY), history, "hub", partition=0, message_type="ListEvent",
                           message_id=str(env["message_id"]), request_id=str(event["decision_request_id"]),
                           case_number=case, agency=LIST_READERS,
                           decision=f"publication {event['publication_id']} {event['action']} {lid}"))
    return futures


async def _confirm(futures: list[Awaitable[Any]]) -> None:
    for fut in futures:
        await fut
    sequencer.dirty = False
    _gauges()


def _original(raw: bytes, headers: tuple[tuple[str, bytes | None], ...]) -> RawRecord:
    """The court's record as it arrived on ``court.requests`` (for the error reply and the dead letter)."""
    parts = (_header(headers, "source") or "").rsplit("/", 2)
    case = (_header(headers, "case") or "").encode()
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return RawRecord(parts[0], int(parts[1]), int(parts[2]), case, raw)
    return RawRecord(settings.topic("court.requests"), 0, -1, case, raw)


Outcome = tuple[int, AvroMessage]  # (partition of the court's request, ListDecisionSequenced)


def _outcome(msg: AvroMessage, partition: int, *, publication_id: int | None = None,
             error: HubError | None = None) -> Outcome:
    body = {"partition": partition, "outcome": "REFUSED" if error else "PUBLISHED", "publication_id": publication_id,
            "reason": f"{error.code}: {error}"[:500] if error else None, "sequenced_at": runtime.clock.now()}
    return partition, message(SEQUENCED, envelope(runtime.clock, request_id=msg.request_id, recipient="hub"), body)


async def _sequence(msg: AvroMessage, record: RawRecord, futures: list[Awaitable[Any]],
                    outcomes: list[Outcome]) -> None:
    now = runtime.clock.now_ms()
    if msg.schema == DECISION:
        original = _original(record.value or b"", record.headers)
        error: HubError | None = None
        try:
            event = sequencer.decide(msg.body, request_id=msg.request_id, sender=str(msg.envelope["sender"]),
                                     key=(original.key or b"").decode(), now_ms=now)
        except HubError as exc:
            error = exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            error = InternalError(f"{type(exc).__name__}: {exc}")
        if error is not None:
            await dead_letters.reject(original, msg, error)
            outcomes.append(_outcome(msg, original.partition, error=error))
            return
        if event is not None:
            futures.extend(await _publish(event))
            outcomes.append(_outcome(msg, original.partition, publication_id=int(event["publication_id"])))
    elif msg.schema == ACK:
        late = sequencer.note_ack(int(msg.body["publication_id"]), now)
        if late is not None:
            runtime.metrics.deadline_events_total.labels("answered_late", DECISION_TYPE).inc()
            await _deadline_event(NOTICES, late, "ANSWERED_LATE", now)
    elif msg.schema == DEADLINE_EVENT and msg.envelope.get("correlation_id"):
        _note_marker(msg)


def _note_marker(msg: AvroMessage) -> None:
    """A deadline event the list clock journalled: that publication was warned about, or escalated."""
    publication = int(str(msg.envelope["correlation_id"]).rpartition("/")[2])
    if msg.body["kind"] == "WARNING":
        sequencer.note_warned(publication)
    else:
        sequencer.note_escalated(publication)


async def _send_outcomes(outcomes: list[Outcome]) -> None:
    """After the batch's publications are on the broker: each decision's row learns what happened."""
    for partition, msg in outcomes:
        raw = runtime.codec.encode_message(msg)
        fut = await app.producer.send(TICKS_TOPIC, str(partition).encode(), raw, partition, None, [])
        await fut


@app.task  # type: ignore[untyped-decorator]
async def credit_sequencer() -> None:
    """Consume the journal in order; commit only after the batch's publications are on the broker."""
    await _create_journal()
    _journal_ready.set()
    consumer = AIOKafkaConsumer(group_id=credit_sequencer_group_id(settings.app_id), enable_auto_commit=False,
                                auto_offset_reset="earliest", **settings.kafka_client_kwargs())
    consumer.subscribe([JOURNAL], listener=_Ownership())
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            for tp, records in batch.items():
                try:
                    await _sequence_batch(records)
                except Exception:
                    # Nothing is committed: the batch is read again once the broker is back.
                    log.exception("credit sequencer failed on a batch of %d; retrying it", len(records))
                    sequencer.dirty = True
                    consumer.seek(tp, records[0].offset)
                    await asyncio.sleep(1.0)
                    break
                await consumer.commit()
    finally:
        await consumer.stop()


async def _sequence_batch(records: list[Any]) -> None:
    async with _lock:
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await ensure_ready()
                futures: list[Awaitable[Any]] = []
                outcomes: list[Outcome] = []
                for rec in records:
                    await _sequence_record(rec, futures, outcomes)
                await _confirm(futures)
                await _send_outcomes(outcomes)
                return
            except KafkaError:
                if attempt == SEND_ATTEMPTS:
                    raise
                # Some publications may be in the history: rebuild from it and redo the batch (decisions
                # already published are skipped by request id).
                log.exception("publishing failed (attempt %d); rebuilding from the history", attempt)
                sequencer.dirty = True
                await asyncio.sleep(0.5 * attempt)


async def _sequence_record(rec: Any, futures: list[Awaitable[Any]], outcomes: list[Outcome]) -> None:
    try:
        msg = runtime.codec.decode(rec.value)
    except CodecError:
        log.exception("undecodable journal record at offset %d skipped", rec.offset)
        return
    raw = RawRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value, tuple(rec.headers))
    await _sequence(msg, raw, futures, outcomes)


@app.timer(interval=1.0)  # type: ignore[untyped-decorator]
async def list_clock() -> None:
    """Term ends (art. 10 para 2) and acknowledgement deadlines (art. 9-10), on the hub clock."""
    if not _owns_journal():
        return
    async with _lock:
        try:
            await ensure_ready()
            now = runtime.clock.now_ms()
            futures: list[Awaitable[Any]] = []
            for event in sequencer.expire(now):
                futures.extend(await _publish(event))
            await _confirm(futures)
            for pending in sequencer.to_warn(now):
                await _warn(pending, now)
            for pending in sequencer.overdue(now):
                await _escalate(pending, now)
        except (KafkaError, HubError):
            # The timer must outlive any one failure: nothing unconfirmed stays in the state (it is
            # rebuilt from the history before the next run) and the next tick tries again.
            log.exception("credit list clock failed; rebuilding from the history")
            sequencer.dirty = True


async def _warn(pending: Pending, now: int) -> None:
    """75 % of the 3 working days passed without the platform's acknowledgement: the court is warned."""
    runtime.metrics.deadline_events_total.labels("warning", DECISION_TYPE).inc()
    marker = await _deadline_event(NOTICES, pending, "WARNING", now)
    sequencer.note_warned(pending.publication_id)
    await _to_journal(runtime.codec.encode_message(marker), [])


async def _escalate(pending: Pending, now: int) -> None:
    """Overdue: the court gets the "not acknowledged in time" outcome and the escalation (as hub.deadline_tracker)."""
    runtime.metrics.deadline_events_total.labels("expired", DECISION_TYPE).inc()
    await _deadline_event(REPLIES, pending, "EXPIRED", now)
    marker = await _deadline_event(NOTICES, pending, "EXPIRED", now)
    sequencer.note_escalated(pending.publication_id)
    await _to_journal(runtime.codec.encode_message(marker), [])


async def _deadline_event(topic: str, p: Pending, kind: str, now: int) -> AvroMessage:
    body = {
        "kind": kind, "rule_id": p.rule_id, "rule_source": p.rule_source, "message_type": DECISION,
        "agency": PLATFORM, "court_code": p.court_code, "case_number": p.case_number,
        "started_at": _ts(p.started_ms), "due_at": _ts(p.due_ms),
        "answered_at": _ts(p.acked_ms) if kind == "ANSWERED_LATE" else None, "emitted_at": _ts(now),
        "provisional": p.provisional,
    }
    msg = message(DEADLINE_EVENT, envelope(runtime.clock, request_id=p.request_id, recipient=p.court_code,
                                           correlation_id=f"publication/{p.publication_id}"), body)
    await emit(topic, p.case_number, msg)
    return msg


# --- look-ups and consumption restriction: requests to the platform's inbox ------------------------
async def _deliver(msg: AvroMessage, record: RawRecord, deadline: Deadline | None,
                   counted_from_ms: int | None = None) -> None:
    """Record the request (deadline tracked by hub.deadline_tracker), forward it to the platform's inbox."""
    if msg.envelope["recipient"] != PLATFORM:
        raise ValidationError(f"{msg.message_type} goes to {PLATFORM!r}", field="envelope.recipient")
    case = record.key.decode() if record.key else ""
    if requests.get(msg.request_id) is not None:
        raise ValidationError("request id already used", field="envelope.request_id")
    now = runtime.clock.now_ms()
    rec = new_record(msg.request_id, type_=msg.message_type, court=str(msg.envelope["sender"]), case=case,
                     agency=PLATFORM, now_ms=now, partition=record.partition, deadline=deadline,
                     counted_from_ms=counted_from_ms)
    rec = transition(rec, State.ROUTED, now)
    await forward(inbox_name(PLATFORM), case, record.value or b"", msg.message_type,
                  [(DELIVERED_AT, str(now).encode())], request_id=msg.request_id)
    requests[msg.request_id] = transition(rec, State.DELIVERED, runtime.clock.now_ms())


@court_route(LOOKUP)
async def handle_lookup(msg: AvroMessage, record: RawRecord) -> None:
    if not str(msg.body["id_number"]).strip():
        raise ValidationError("id_number is empty", field="body.id_number")
    await _deliver(msg, record, deadline_ms(msg.message_type, runtime.clock.now_ms(), runtime.calendar.current))


@court_route(RESTRICTION)
async def handle_restriction(msg: AvroMessage, record: RawRecord) -> None:
    """004 §23: a lift is due within 3 working days of performance; placing has no deadline."""
    validate_restriction(msg.body, str(msg.envelope["sender"]), china_today(runtime.clock))
    deadline, counted_from = restriction_lift_deadline(msg.body, runtime.clock.now_ms(), runtime.calendar.current)
    await _deliver(msg, record, deadline, counted_from)


async def handle_platform_reply(msg: AvroMessage, record: RawRecord) -> None:
    """Forward to the court; the request is answered (late if overdue: the tracker notes it)."""
    rec = requests.get(msg.request_id)
    if rec is None:
        raise UnknownRequest(f"no request {msg.request_id!r} was sent to the platform", field="envelope.request_id")
    if rec["agency"] != PLATFORM:
        raise WrongAgency(f"request {msg.request_id} went to {rec['agency']}", field="envelope.sender")
    await forward(REPLIES, rec["case"], record.value or b"", msg.message_type, request_id=msg.request_id)
    now = runtime.clock.now_ms()
    if not is_terminal(rec):
        requests[msg.request_id] = transition(rec, answer_state(rec, now), now)


agency_route(LOOKUP_REPLY)(handle_platform_reply)
agency_route(RESTRICTION_ACK)(handle_platform_reply)
