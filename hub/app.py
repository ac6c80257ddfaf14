"""The Faust application of the hub, wired to the topic catalog.

``app`` is module level so that flows can declare agents with ``@app.agent``; faust
autodiscovers the hub's routing module and the agency packages under ``agents/``.  Every
catalog topic is opened with the ``avro`` codec; undecodable records reach
:class:`~hub.deadletter.DeadLetters` through :class:`HubTopic`'s decode-error hooks and the
partition keeps flowing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import faust
from faust.serializers import codecs
from faust.types import Message

from hub.audit import AuditEntry, AuditLog
from hub.audit_io import last_record
from hub.codec import AvroCodec, AvroMessage, check_size
from hub.deadletter import DeadLetters, RawRecord
from hub.errors import CatalogError, EncodeError, HubError
from hub.log_format import worker_logging_config
from hub.producer import GuardedProducer, HubApp
from hub.runtime import HubRuntime
from hub.settings import HubSettings, get_settings
from topics.catalog import HUB_PARTITIONS, Role, TopicSpec


class FaustAvroCodec(codecs.Codec):
    """faust codec ``avro``: bytes <-> :class:`AvroMessage` in single-object encoding."""

    def __init__(self, codec: AvroCodec, **kwargs: Any) -> None:
        self.avro = codec
        super().__init__(**kwargs)

    def _loads(self, s: bytes) -> Any:
        check_size(s, settings.max_message_bytes)  # oversize values are dead-lettered undecoded
        return self.avro.decode(s)

    def _dumps(self, s: Any) -> bytes:
        if isinstance(s, AvroMessage):
            return self.avro.encode_message(s)
        if isinstance(s, bytes):
            return s
        raise EncodeError(f"cannot encode {type(s).__name__}; send an AvroMessage")


class HubTopic(faust.Topic):
    """A topic whose decode errors go to the dead-letter path instead of the stream."""

    async def on_key_decode_error(self, exc: Exception, message: Message) -> None:
        await _dead_letter(exc, message)

    async def on_value_decode_error(self, exc: Exception, message: Message) -> None:
        await _dead_letter(exc, message)


def raw_record(message: Message) -> RawRecord:
    raw: Any = message.headers or ()
    pairs: Any = raw.items() if isinstance(raw, dict) else raw
    headers = tuple((str(k), bytes(v) if v is not None else None) for k, v in pairs)
    timestamp_ms = int(message.timestamp * 1000) if message.timestamp else None
    return RawRecord(message.topic, message.partition, message.offset, message.key, message.value,
                     headers, timestamp_ms)


async def _dead_letter(exc: BaseException, message: Message) -> None:
    await dead_letters.undecodable(exc, raw_record(message))


def _credentials(settings: HubSettings) -> faust.SASLCredentials | None:
    if settings.security_protocol != "SASL_PLAINTEXT":
        return None
    return faust.SASLCredentials(
        username=settings.sasl_username,
        password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
        mechanism=settings.sasl_mechanism,
    )


def create_app(settings: HubSettings) -> faust.App:
    return HubApp(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=_credentials(settings),
        store=settings.store,
        autodiscover=["hub.routing", "hub.web", "hub.deadline_tracker", "hub.ops", "agents"],
        origin="hub",
        Topic=HubTopic,
        topic_partitions=HUB_PARTITIONS,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        datadir=str(settings.data_dir / "faust" / settings.app_id),  # tables are per app (RocksDB locks)
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        # faust's built-in views (/table reads whole rows: resident IDs and names; /router, /graph, the
        # statistics at / and /assignment, /performance) are not served; hub.web also answers 404 to
        # any route that is not one of the hub's own pages, should an APP_WEB_*_ENABLED variable
        # turn one back on.
        web_tables_enabled=False,
        web_router_enabled=False,  # only needed by @app.table_route across workers, which the hub does not use
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        producer_max_request_size=settings.max_message_bytes * 2,
        # faust's worker replaces the root logger's handlers when it starts: JSON lines survive that
        logging_config=worker_logging_config(settings.log_format),
    )


settings = get_settings()
runtime = HubRuntime.build(settings)
codecs.register("avro", FaustAvroCodec(runtime.codec))
app = create_app(settings)


def topic_for(role: Role, *, agency: str | None = None) -> faust.TopicT:
    """The faust topic (all physical names) of a catalog role, optionally one agency's."""
    specs = [
        s for s in runtime.catalog.by_role(role) if agency is None or s.agency == agency
    ]
    names = [settings.topic(s.name) for s in specs]
    return app.topic(*names, key_serializer="raw", value_serializer="avro")


async def send_raw(topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> int:
    """Produce ``value`` to the physical ``topic`` and wait for the broker's ack; returns the offset."""
    fut = await app.producer.send(topic, key.encode(), value, None, None, headers)
    metadata = await fut
    return int(metadata.offset)


async def send_soon(topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]] | None) -> None:
    """Enqueue ``value`` for ``topic`` without waiting for the ack (the hot path, see :mod:`hub.producer`).

    The send is acknowledged before the offset of the record being processed is committed; a send
    that fails for good stops this worker from committing at all.
    """
    producer = app.producer
    fut = await producer.send(topic, key.encode(), value, None, None, headers)
    if isinstance(producer, GuardedProducer):
        producer.watch(fut)  # type: ignore[arg-type]


AUDIT_TOPIC = settings.topic(runtime.catalog.one(Role.AUDIT).name)


async def _audit_send(value: bytes, key: str) -> None:
    # Enqueued in chain order (under the audit lock); the producer delivers in that order.
    await send_soon(AUDIT_TOPIC, key, value, None)


async def _audit_last() -> AvroMessage | None:
    return await last_record(settings, AUDIT_TOPIC, runtime.codec)


audit_log = AuditLog(runtime.codec, runtime.clock, _audit_send, _audit_last)


#: audit entries written while a message is being handled, held back until its own ACCEPT or REJECT entry
#: is appended (:func:`hold_audit`): the trail reads in causal order.
_held: ContextVar[list[AuditEntry] | None] = ContextVar("held_audit_entries", default=None)


async def audit(entry: AuditEntry) -> None:
    held = _held.get()
    if held is not None:
        held.append(entry)
        return
    await audit_log.append(entry)
    runtime.metrics.audit_records_total.labels(entry.action).inc()


@asynccontextmanager
async def hold_audit() -> AsyncIterator[list[AuditEntry]]:
    """Hold the audit entries written inside (the effects of one message); the caller appends the cause's
    entry after the block, then :func:`release_audit` the held ones."""
    held: list[AuditEntry] = []
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


async def release_audit(held: list[AuditEntry]) -> None:
    for entry in held:
        await audit(entry)


async def emit(name: str, key: str, msg: AvroMessage, headers: list[tuple[str, bytes]] | None = None) -> None:
    """Encode ``msg`` and produce it to catalog topic ``name``; counted and audited.

    The audit record names the message by id and payload digest: its offset is not known yet (the
    send is pipelined, :func:`send_soon`).
    """
    spec = runtime.catalog.get(name)
    raw = runtime.codec.encode_message(msg)
    await send_soon(settings.topic(name), key, raw, headers)
    runtime.metrics.messages_sent_total.labels(spec.role.value, msg.message_type).inc()
    await audit(AuditEntry(
        "EMIT", settings.topic(name), raw, "hub", partition=None, offset=None, message_type=msg.message_type,
        message_id=str(msg.envelope["message_id"]), request_id=msg.request_id, case_number=key,
        agency=spec.agency or str(msg.envelope.get("recipient")), decision="emitted",
    ))


async def forward(name: str, key: str, raw: bytes, message_type: str,
                  headers: list[tuple[str, bytes]] | None = None, request_id: str | None = None) -> None:
    """Produce already-encoded bytes unchanged (a sealed reply must reach the court as the bank sealed it)."""
    spec = runtime.catalog.get(name)
    await send_soon(settings.topic(name), key, raw, headers)
    runtime.metrics.messages_sent_total.labels(spec.role.value, message_type).inc()
    await audit(AuditEntry("EMIT", settings.topic(name), raw, "hub", message_type=message_type,
                           request_id=request_id, case_number=key, agency=spec.agency, decision="forwarded"))


dead_letters = DeadLetters(runtime, send_raw)


def principal_of(topic: str) -> str:
    """The principal that produced to a catalog topic (courts through the gateway, or one agency)."""
    try:
        spec = runtime.catalog.get(topic.removeprefix(settings.topic_prefix))
    except CatalogError:
        return "unknown"
    return ",".join(sorted(spec.producers))


async def _audit_dead_letter(record: RawRecord, spec: TopicSpec | None, error: HubError,
                             decoded: AvroMessage | None) -> None:
    await audit(AuditEntry(
        "REJECT" if decoded is not None else "DEAD_LETTER", record.topic, record.value or b"",
        principal_of(record.topic), client=str(decoded.envelope.get("sender")) if decoded else None,
        partition=record.partition, offset=record.offset, message_type=decoded.message_type if decoded else None,
        message_id=str(decoded.envelope.get("message_id")) if decoded else None,
        request_id=decoded.request_id if decoded else None,
        case_number=record.key.decode("utf-8", "replace") if record.key else None,
        agency=spec.agency if spec else None, decision=f"{error.code}: {error}"[:500],
    ))


dead_letters.observers.append(_audit_dead_letter)
