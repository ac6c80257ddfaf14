"""Reading a compacted topic as a table: the last value of every key, read up to the topic's current end."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from hub.audit_io import partitions_of
from hub.errors import HubError
from hub.settings import HubSettings


class TopicReadTimeout(HubError):
    """A topic could not be read to its end in time (the broker is slow or unreachable): try again."""

    code = "topic_read_timeout"
    retriable = True


async def read_to_end(settings: HubSettings, partitions: list[TopicPartition], *, timeout_s: float = 30.0,
                      max_records: int = 5000) -> AsyncIterator[tuple[TopicPartition, list[ConsumerRecord[Any, Any]]]]:
    """Every record of ``partitions`` from the start to the end offsets they had when called, a batch per partition
    as fetched.  No consumer group: partitions are assigned, so any principal allowed to read them can call it."""
    deadline = time.monotonic() + timeout_s
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    try:
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while unread := [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TopicReadTimeout(f"{unread[0].topic} not read to its end in {timeout_s:.0f} s", field="topic")
            for tp, records in (await consumer.getmany(*unread, timeout_ms=1000, max_records=max_records)).items():
                yield tp, [rec for rec in records if rec.offset < ends[tp]]
    finally:
        await consumer.stop()


async def read_latest(settings: HubSettings, topic: str, *, timeout_s: float = 30.0) -> dict[str, bytes | None]:
    """Record key -> the last value of that key in ``topic`` (every partition) as of now; None is a tombstone."""
    latest: dict[str, bytes | None] = {}
    partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not partitions:
        return latest
    async for _, records in read_to_end(settings, partitions, timeout_s=timeout_s):
        for rec in records:
            if rec.key is not None:
                latest[rec.key.decode("utf-8")] = rec.value
    return latest
