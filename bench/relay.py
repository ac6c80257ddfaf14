"""Baseline 1: a raw aiokafka relay (consume -> produce), the ceiling of any Python process.

``python -m bench.relay <source> <sink> <group>``, broker from ``HUB_BOOTSTRAP_SERVERS``.
Consumes in batches and produces every record unchanged (same key, same partition) without
waiting for each ack; commits after each batch's sends are acknowledged.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.settings import HubSettings


async def relay(settings: HubSettings, source: str, sink: str, group: str) -> None:
    kwargs = settings.kafka_client_kwargs()
    consumer = AIOKafkaConsumer(
        source, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest", **kwargs
    )
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, linger_ms=2, max_batch_size=256 * 1024, **kwargs)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=2000)
            futures = []
            for tp, records in batch.items():
                for rec in records:
                    futures.append(await producer.send(sink, rec.value, key=rec.key, partition=tp.partition))
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


def main(argv: list[str]) -> int:
    source, sink, group = argv
    asyncio.run(relay(HubSettings(), source, sink, group))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
