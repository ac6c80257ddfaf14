"""Small aiokafka helpers for driving the hub through its topics, as an outside party would."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG


class Tap:
    """Reads catalog topics from their current end: only what arrives after it was opened."""

    def __init__(self, settings: HubSettings, *names: str) -> None:
        self.settings = settings
        self.topics = {settings.topic(n): DEFAULT_CATALOG.get(n).partitions for n in names}
        self.consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())

    async def __aenter__(self) -> Tap:
        await self.consumer.start()
        tps = [TopicPartition(t, p) for t, n in self.topics.items() for p in range(n)]
        self.consumer.assign(tps)
        for tp, offset in (await self.consumer.end_offsets(tps)).items():
            self.consumer.seek(tp, offset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def collect(
        self, done: Callable[[list[ConsumerRecord[Any, Any]]], bool], timeout: float = 30.0
    ) -> list[ConsumerRecord[Any, Any]]:
        seen: list[ConsumerRecord[Any, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(seen):
            batch = await self.consumer.getmany(timeout_ms=300)
            for records in batch.values():
                seen.extend(records)
        return seen


async def produce(settings: HubSettings, name: str, value: bytes, key: bytes) -> int:
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_kwargs())
    await producer.start()
    try:
        meta = await producer.send_and_wait(settings.topic(name), value, key=key)
        return int(meta.offset)
    finally:
        await producer.stop()
