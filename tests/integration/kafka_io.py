"""Writing to the hub's topics as an outside party would (reading them: :class:`support.kafka_tap.Tap`)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from hub.settings import HubSettings


async def produce(settings: HubSettings, name: str, value: bytes, key: bytes) -> int:
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_kwargs())
    await producer.start()
    try:
        meta = await producer.send_and_wait(settings.topic(name), value, key=key)
        return int(meta.offset)
    finally:
        await producer.stop()
