"""Reading the audit topic: the last record (to continue the chain) and every record (verify, search)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.codec import AvroCodec, AvroMessage
from hub.settings import HubSettings


async def read_topic(settings: HubSettings, topic: str, *, batch: int = 5000) -> AsyncIterator[tuple[int, bytes]]:
    """(offset, value) of every record of a one-partition topic, from the beginning to the current end."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    try:
        await consumer.start()  # inside: a consumer that could not reach the broker is closed too
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            for rec in (await consumer.getmany(tp, timeout_ms=1000, max_records=batch)).get(tp, []):
                if rec.offset >= end:
                    return
                yield rec.offset, rec.value
    finally:
        await consumer.stop()


async def last_record(settings: HubSettings, topic: str, codec: AvroCodec) -> AvroMessage | None:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    try:
        await consumer.start()
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return None
        consumer.seek(tp, end - 1)
        while True:
            records = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
            if records:
                return codec.decode(records[-1].value)
    finally:
        await consumer.stop()
