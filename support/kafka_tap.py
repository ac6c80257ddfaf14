"""Reading catalog topics as an outside party would, from their end at the time the tap is opened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.settings import HubSettings


class Tap:
    """Reads catalog topics from their current end: only what arrives after it was opened.

    ``consumer_options`` go to the aiokafka consumer (e.g. ``fetch_max_wait_ms``); no group, no commits.
    """

    def __init__(self, settings: HubSettings, *names: str, **consumer_options: Any) -> None:
        self.settings = settings
        self.topics = {settings.topic(n): settings.catalog.get(n).partitions for n in names}
        self.consumer = AIOKafkaConsumer(enable_auto_commit=False, **consumer_options,
                                         **settings.kafka_client_kwargs())

    async def __aenter__(self) -> Self:
        await self.consumer.start()
        tps = [TopicPartition(t, p) for t, n in self.topics.items() for p in range(n)]
        self.consumer.assign(tps)
        for tp, offset in (await self.consumer.end_offsets(tps)).items():
            self.consumer.seek(tp, offset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def batch(self, timeout_ms: int = 300, max_records: int | None = None) -> list[ConsumerRecord[Any, Any]]:
        """The records that arrived within ``timeout_ms`` (at most ``max_records``); empty if none did."""
        batch = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return [record for records in batch.values() for record in records]

    async def collect(
        self,
        done: Callable[[list[ConsumerRecord[Any, Any]]], bool],
        timeout: float = 30.0,  # noqa: ASYNC109 - one deadline for the whole collection, batch after batch
    ) -> list[ConsumerRecord[Any, Any]]:
        """Every record read until ``done(records so far)`` or ``timeout`` seconds."""
        seen: list[ConsumerRecord[Any, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(seen):
            seen.extend(await self.batch())
        return seen
