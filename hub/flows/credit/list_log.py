"""Reading a single-partition log topic of the list from the start (``credit.list.history``, the journal).

The hub rebuilds its sequencer with it (:mod:`hub.flows.credit.journal`); the credit platform, the
joint-punishment units and ``interop-agency credit replay`` rebuild their copies with it
(:mod:`agents.credit.replay`).  Records are fetched with ``getmany`` in large batches and decoded
with the hub's codec.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.codec import AvroCodec, AvroMessage, default_codec
from hub.settings import HubSettings

FETCH_BYTES = 64 * 1024 * 1024
RECORDS_PER_FETCH = 20_000

#: one fetch of a log: (offset, raw value, decoded value) of each record
LogBatch = list[tuple[int, bytes, AvroMessage]]


async def read_log(settings: HubSettings, topic: str, *, start_offset: int = 0,
                   codec: AvroCodec | None = None,
                   on_total: Callable[[int], None] | None = None) -> AsyncGenerator[LogBatch, None]:
    """Batches of (offset, raw, decoded) from ``start_offset`` to the end offset seen at the start."""
    codec = codec or default_codec()
    consumer = AIOKafkaConsumer(enable_auto_commit=False, fetch_max_bytes=FETCH_BYTES,
                                max_partition_fetch_bytes=FETCH_BYTES, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        begin = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        start = max(start_offset, begin)
        if on_total is not None:
            on_total(max(end - start, 0))
        if start >= end:
            return
        # positioned before the first await after assign(): a fetch from the reset position (the log's
        # end, a long poll) would otherwise be in flight, and the first batch would wait for it to expire
        consumer.assign([tp])
        consumer.seek(tp, start)
        position = start
        while position < end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=RECORDS_PER_FETCH)
            records = batch.get(tp, [])
            out = [(r.offset, r.value, codec.decode(r.value)) for r in records if r.offset < end and r.value]
            if records:
                position = records[-1].offset + 1
            if out:
                yield out
    finally:
        await consumer.stop()
