"""The hub's faust worker: the app, its Kafka-backed context and the wiring of the hooks to streams.

:func:`build_worker` is the only place a faust app of the hub is made: it builds the runtime, the
context (:mod:`hub.context`) with faust's sender and tables, lets every flow register
(:func:`hub.flows.register_all`), then gives the hooks their streams and timers: one agent per
input role (court requests, agency outboxes, ``hub.ticks``), one timer that sends each owned
partition its tick, the flows' periodic and background jobs, and the HTTP pages (:mod:`hub.web`).
Every catalog topic is opened with the ``avro`` codec; undecodable records reach the dead letters
through :class:`HubTopic`'s decode-error hooks and the partition keeps flowing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import faust
from faust import StreamT
from faust.exceptions import ConsumerNotStarted
from faust.serializers import codecs
from faust.types import TP, Message

from hub.audit_io import last_record
from hub.codec import AvroCodec, AvroMessage, check_size
from hub.context import AuditSource, HubContext, build_context
from hub.deadletter import RawRecord
from hub.envelope import envelope, message
from hub.errors import EncodeError
from hub.input_progress import Highwater
from hub.intake import TICK, Intake
from hub.log_format import worker_logging_config
from hub.producer import GuardedProducer, HubApp
from hub.runtime import HubRuntime
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.tables import faust_table_maker
from hub.transport import Headers
from hub.tree_heads import HUB_KEY
from topics.catalog import Role

_T = TypeVar("_T")
TICK_INTERVAL_S = 1.0
#: the share of the interval the ticks of a worker's partitions are spread over (the rest: room for the timer)
TICK_SPREAD = 0.5


class FaustAvroCodec(codecs.Codec):
    """faust codec ``avro``: bytes <-> :class:`AvroMessage` in single-object encoding."""

    def __init__(self, codec: AvroCodec, max_bytes: int, **kwargs: Any) -> None:
        self.avro = codec
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def _loads(self, s: bytes) -> Any:
        check_size(s, self.max_bytes)  # oversize values are dead-lettered undecoded
        return self.avro.decode(s)

    def _dumps(self, s: Any) -> bytes:
        if isinstance(s, AvroMessage):
            return self.avro.encode_message(s)
        if isinstance(s, bytes):
            return s
        raise EncodeError(f"cannot encode {type(s).__name__}; send an AvroMessage")


def raw_record(message: Message) -> RawRecord:
    raw: Any = message.headers or ()
    pairs: Any = raw.items() if isinstance(raw, dict) else raw
    headers = tuple((str(k), bytes(v) if v is not None else None) for k, v in pairs)
    timestamp_ms = int(message.timestamp * 1000) if message.timestamp else None
    return RawRecord(message.topic, message.partition, message.offset, message.key, message.value,
                     headers, timestamp_ms)


class HubTopic(faust.Topic):
    """A topic whose decode errors go to the dead-letter path (the app's ``undecodable``) instead of the stream."""

    async def _undecodable(self, exc: Exception, message: Message) -> None:
        app = self.app
        if not isinstance(app, HubApp) or app.undecodable is None:
            raise EncodeError("a hub topic outside the hub's worker app") from exc
        await app.undecodable(exc, raw_record(message))

    async def on_key_decode_error(self, exc: Exception, message: Message) -> None:
        await self._undecodable(exc, message)

    async def on_value_decode_error(self, exc: Exception, message: Message) -> None:
        await self._undecodable(exc, message)


def _credentials(settings: HubSettings) -> faust.SASLCredentials | None:
    if settings.security_protocol != "SASL_PLAINTEXT":
        return None
    return faust.SASLCredentials(
        username=settings.sasl_username,
        password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
        mechanism=settings.sasl_mechanism,
    )


def create_app(settings: HubSettings) -> HubApp:
    request_bytes = settings.max_message_bytes * 2
    app = HubApp(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=_credentials(settings),
        store=settings.store,
        autodiscover=False,  # everything is registered explicitly by build_worker
        origin="hub",
        Topic=HubTopic,
        topic_partitions=settings.partitions,
        # any topic faust creates itself is replicated like the catalog's (its changelogs are catalog topics)
        topic_replication_factor=settings.replication_factor,
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
        producer_max_request_size=request_bytes,
        producer_max_batch_size=min(settings.producer_batch_bytes, request_bytes),
        # faust's worker replaces the root logger's handlers when it starts: JSON lines survive that
        logging_config=worker_logging_config(settings.log_format),
    )
    app.fetch_max_wait_ms = settings.consumer_fetch_max_wait_ms  # faust fixes 1500 ms (hub.consumer)
    return app


class FaustSender:
    """The context's sender on faust's producer (:class:`~hub.producer.GuardedProducer`)."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def send(self, topic: str, key: bytes | None, value: bytes | None, *, partition: int | None = None,
                   headers: Headers | None = None) -> Awaitable[int]:
        fut = await self.app.producer.send(topic, key, value, partition, None, headers or [])
        return _offset(fut)

    async def send_soon(self, topic: str, key: str, value: bytes, headers: Headers | None = None) -> None:
        """Enqueue without waiting for the ack (the hot path, see :mod:`hub.producer`): the send is
        acknowledged before the offset of the record being processed is committed; a send that fails for
        good stops this worker from committing at all."""
        producer = self.app.producer
        fut = await producer.send(topic, key.encode(), value, None, None, headers)
        if isinstance(producer, GuardedProducer):
            producer.watch(fut)  # type: ignore[arg-type]


async def _offset(fut: Awaitable[Any]) -> int:
    metadata = await fut
    return int(metadata.offset)


@dataclass(frozen=True)
class HubWorker:
    app: HubApp
    ctx: HubContext
    intake: Intake


def build_worker(settings: HubSettings, runtime: HubRuntime | None = None) -> HubWorker:
    """The worker's app with every flow registered and wired (reads the working calendar: an invalid
    schedule file stops the process here)."""
    from hub import web
    from hub.flows import register_all

    runtime = runtime or HubRuntime.build(settings)
    codecs.register("avro", FaustAvroCodec(runtime.codec, settings.max_message_bytes))
    app = create_app(settings)
    ctx = build_context(runtime, FaustSender(app), faust_table_maker(app, settings),
                        audit_source=_audit_source(app, runtime),
                        tables_recovered=lambda: bool(app.tables.recovery.completed.is_set()),  # type: ignore[attr-defined]
                        highwater=_highwater(app))
    register_all(ctx)
    intake = Intake(ctx)
    app.undecodable = intake.undecodable  # HubTopic's decode-error hooks
    writer = ctx.audit.writer
    # every offset commit waits for what the committed records caused: the flows' reports, the audit entries
    app.before_flush.extend(ctx.hooks.commit_waits)
    app.before_flush.append(writer.flush)
    ticks_name = settings.topic(runtime.catalog.one(Role.TICKS).name)

    async def audit_chains_revoked(sender: Any, revoked: Any = (), *args: Any, signal: Any = None,
                                   **kwargs: Any) -> None:
        lost = {tp.partition for tp in revoked if tp.topic == ticks_name}
        for observer in ctx.hooks.revoked:
            observer(lost)
        await writer.revoked()  # flushed and acknowledged before any other worker is given a partition

    # a strong reference (weak=False); faust passes (sender, revoked, signal=...)
    app.on_partitions_revoked.connect(audit_chains_revoked)  # type: ignore[arg-type]

    _wire_streams(app, ctx, intake)
    for seconds, job in ctx.hooks.timers:
        app.timer(interval=seconds, name=job.__qualname__)(job)
    for job in ctx.hooks.background:
        app.task(job)
    web.register(app, ctx)
    return HubWorker(app, ctx, intake)


def _audit_source(app: faust.App, runtime: HubRuntime) -> AuditSource:
    """Chains are the partitions of ``hub.ticks`` this worker owns (every hub topic is co-partitioned); tree
    heads are signed with the hub's key, made at the first start (owner-only, beside the agencies' keys)."""
    settings = runtime.settings
    audit_topic = settings.topic(runtime.catalog.one(Role.AUDIT).name)
    ticks_topic = settings.topic(runtime.catalog.one(Role.TICKS).name)
    keys = KeyStore(settings.data_dir)
    keys.generate([HUB_KEY])
    signer = keys.signer(HUB_KEY)

    async def last_batch(chain: int) -> AvroMessage | None:
        return await last_record(settings, audit_topic, chain, runtime.codec)

    def owned() -> list[int]:
        return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == ticks_topic)

    return AuditSource(last_batch, owned, lambda: signer)


def _highwater(app: faust.App) -> Highwater:
    """The end offset of an input partition as the consumer's last fetch of it saw it (None: not assigned here).

    From the consumer, not from faust's monitor (``Monitor.tp_end_offsets``, noted only as records are handed to
    the streams): while a burst on one topic fills the streams' buffers, another topic's records are fetched but
    not handed on, and the monitor would show those partitions caught up.  Not through ``consumer.assignment()``
    either: it builds a set of every assigned partition per call (9 % of the worker's CPU once every outbox
    partition was asked about each second)."""

    def highwater(topic: str, partition: int) -> int | None:
        try:
            end = app.consumer.highwater(TP(topic, partition))
        except ConsumerNotStarted:  # stopping, or not started yet
            return None
        except (AssertionError, AttributeError):  # aiokafka asserts the partition is assigned (None under -O)
            return None
        return int(end) if end is not None else None

    return highwater


def _topic(app: faust.App, ctx: HubContext, role: Role) -> faust.TopicT:
    """The faust topic (all physical names) of a catalog role."""
    names = [ctx.settings.topic(s.name) for s in ctx.runtime.catalog.by_role(role)]
    return app.topic(*names, key_serializer="raw", value_serializer="avro")


async def _in_turn(stream: StreamT[AvroMessage], handle: Callable[[AvroMessage, RawRecord], Awaitable[None]]) -> None:
    """Each event of ``stream`` to ``handle``, then the other tasks' turn.

    faust takes a stream's next event without yielding while its queue holds one (``Stream._py_aiter`` tries
    ``get_nowait`` first), so without the turn an agent with a backlog — the burst of replies to a sweep —
    keeps every other agent waiting to its end: a live court request waited for a hundred sweep replies."""
    async for event in stream.events():
        await handle(event.value, raw_record(event.message))
        await asyncio.sleep(0)


async def _spread(items: Sequence[_T], each: Callable[[_T], Awaitable[None]], over_s: float) -> None:
    """``each`` item in turn, evenly spaced over ``over_s`` seconds (which the call always takes, even for none)."""
    for item in items:
        await each(item)
        await asyncio.sleep(over_s / len(items))
    if not items:
        await asyncio.sleep(over_s)


def _wire_streams(app: faust.App, ctx: HubContext, intake: Intake) -> None:
    ticks_topic = _topic(app, ctx, Role.TICKS)
    ticks_name = ctx.settings.topic(ctx.topics.ticks)

    async def court_intake(stream: StreamT[AvroMessage]) -> None:
        await _in_turn(stream, intake.court_message)

    async def agency_intake(stream: StreamT[AvroMessage]) -> None:
        await _in_turn(stream, intake.agency_message)

    async def internal_intake(stream: StreamT[AvroMessage]) -> None:
        await _in_turn(stream, intake.internal_message)

    async def issue_ticks() -> None:
        """One ``Tick`` to each partition of ``hub.ticks`` this worker owns: the time-driven checks of that
        partition then run inside stream processing, where its table rows may change.  The ticks are spread over
        ``TICK_SPREAD`` of the period: one partition's sweeps go out (and their replies come back) at a time,
        not every partition's at the same moment."""
        owned = sorted(tp for tp in app.assignor.assigned_actives() if tp.topic == ticks_name) \
            if ctx.hooks.ticks else []

        async def tick(tp: TP) -> None:
            msg = message(TICK, envelope(ctx.clock, request_id=f"tick-{tp.partition}", recipient="hub"),
                          {"partition": tp.partition, "issued_at": ctx.clock.now()})
            await ticks_topic.send(key=str(tp.partition).encode(), value=msg, partition=tp.partition)

        await _spread(owned, tick, TICK_INTERVAL_S * TICK_SPREAD)

    app.agent(_topic(app, ctx, Role.COURT_REQUESTS), name="hub.court_intake")(court_intake)
    app.agent(_topic(app, ctx, Role.AGENCY_OUTBOX), name="hub.agency_intake")(agency_intake)
    app.agent(ticks_topic, name="hub.internal_intake")(internal_intake)
    # the timer sleeps its interval after each run, and a run spreads the ticks over TICK_SPREAD of the period
    app.timer(interval=TICK_INTERVAL_S * (1 - TICK_SPREAD), name="hub.issue_ticks")(issue_ticks)
