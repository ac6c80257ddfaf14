"""The credit platform and the joint-punishment units as Kafka processes (``interop-agency simulate credit|joint``).

Each follows ``credit.list.history`` from where its own store stopped (a fresh or wiped store replays the
whole log first), so a unit that joins late simply catches up.  The platform also serves its inbox
(look-ups, consumption restrictions) and acknowledges every publication on its outbox; its store and
acknowledgements are written before the inbox offsets are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.credit.joint import JointUnit
from agents.credit.platform import CreditPlatform
from agents.credit.replay import history_topic
from agents.credit.store import ListStore
from agents.inbox import answer_inbox
from hub.codec import AvroCodec, AvroMessage, default_codec
from hub.flows.credit.list_log import FETCH_BYTES
from hub.flows.credit.messages import PLATFORM
from hub.security.users import as_principal
from hub.settings import HubSettings, agency_store
from topics.catalog import DEFAULT_CATALOG, agency_group_id, inbox_name, outbox_name

log = logging.getLogger(__name__)
BATCH = 5_000
Records = list[tuple[int, bytes, AvroMessage]]


def store_path(settings: HubSettings, unit: str) -> Path:
    """A unit's copy of the list; deployments sharing a data dir (by topic prefix) keep separate copies."""
    return agency_store(settings, "credit") / f"{unit}.sqlite"


async def _follow(settings: HubSettings, store: ListStore, stop: asyncio.Event, codec: AvroCodec,
                  on_batch: Callable[[Records], Awaitable[None]]) -> None:
    """Read the history from the store's next offset; call ``on_batch(records)`` with decoded records."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, fetch_max_bytes=FETCH_BYTES,
                                max_partition_fetch_bytes=FETCH_BYTES, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tp = TopicPartition(history_topic(settings), 0)
        consumer.assign([tp])
        consumer.seek(tp, store.next_offset)
        while not stop.is_set():
            batch = await consumer.getmany(tp, timeout_ms=200, max_records=BATCH)
            records = [(r.offset, r.value, codec.decode(r.value)) for r in batch.get(tp, []) if r.value]
            if records:
                await on_batch(records)
    finally:
        await consumer.stop()


async def run_platform(settings: HubSettings, stop: asyncio.Event) -> None:
    codec = default_codec()
    store = ListStore(store_path(settings, PLATFORM), codec)
    platform = CreditPlatform(store, codec)
    settings = as_principal(settings, DEFAULT_CATALOG.agency(PLATFORM).principal)  # secure: log in as the platform
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **settings.kafka_client_kwargs())
    await producer.start()
    outbox = settings.topic(outbox_name(PLATFORM))

    async def on_history(records: Records) -> None:
        acks = platform.apply(records)
        futures = [await producer.send(outbox, value, key=key) for key, value in acks]
        for fut in futures:
            await fut

    inbox = asyncio.create_task(_serve_inbox(settings, platform, producer, stop, codec))
    try:
        await _follow(settings, store, stop, codec, on_history)
    finally:
        inbox.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await inbox
        await producer.stop()
        store.close()


async def _serve_inbox(settings: HubSettings, platform: CreditPlatform, producer: AIOKafkaProducer,
                       stop: asyncio.Event, codec: AvroCodec) -> None:
    consumer = AIOKafkaConsumer(settings.topic(inbox_name(PLATFORM)),
                                group_id=agency_group_id(settings.app_id, PLATFORM),
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                **settings.kafka_client_kwargs())
    outbox = settings.topic(outbox_name(PLATFORM))
    await consumer.start()
    try:
        await answer_inbox(consumer, producer, outbox, lambda value, headers: platform.handle(codec.decode(value),
                                                                                              list(headers)),
                           codec, PLATFORM, stop)
    finally:
        await consumer.stop()


async def run_joint(settings: HubSettings, units: list[str], stop: asyncio.Event) -> None:
    codec = default_codec()

    async def one(code: str) -> None:
        unit = JointUnit(code, ListStore(store_path(settings, code), codec))
        login = as_principal(settings, DEFAULT_CATALOG.agency(code).principal)  # secure: as the unit itself

        async def on_history(records: Records) -> None:
            unit.apply((o, raw, m.body) for o, raw, m in records)

        try:
            await _follow(login, unit.store, stop, codec, on_history)
        finally:
            unit.store.close()

    await asyncio.gather(*(one(code) for code in units))
