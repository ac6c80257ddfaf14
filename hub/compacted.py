"""Reading a compacted topic as a table: the last value of every key, read up to the topic's current end."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.audit_io import partitions_of
from hub.errors import HubError
from hub.settings import HubSettings


class TopicReadTimeout(HubError):
    """A topic could not be read to its end in time (the broker is slow or unreachable): try again."""

    code = "topic_read_timeout"
    retriable = True


async def read_latest(settings: HubSettings, topic: str, *, timeout_s: float = 30.0) -> dict[str, bytes | None]:
    """Record key -> the last value of that key in ``topic`` (every partition) as of now; None is a tombstone.
    No consumer group: partitions are assigned, so any principal allowed to read the topic can call it."""
    latest: dict[str, bytes | None] = {}
    partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not partitions:
        return latest
    deadline = time.monotonic() + timeout_s
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    try:
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                if time.monotonic() > deadline:
                    raise TopicReadTimeout(f"{topic} not read to its end in {timeout_s:.0f} s", field="topic")
                for rec in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if rec.offset < ends[tp] and rec.key is not None:
                        latest[rec.key.decode("utf-8")] = rec.value
    finally:
        await consumer.stop()
    return latest
