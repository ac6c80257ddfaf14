"""Measuring the two relay baselines: a backlog of requests is forwarded from a source to a sink topic.

The rate is taken from the sink records' own timestamps (first to last), so process start-up and
the consumer group's join are not counted; events = consumed + produced = 2 per message.
"""

from __future__ import annotations

import asyncio
import secrets

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.env import BenchEnv, create_topics, end_offsets, wait_until
from bench.load import Request, producer, send_all
from hub.settings import HubSettings

PARTITIONS = 4
STEP_TIMEOUT_S = (
    120.0  # a step that hangs (broker starved on a shared machine) fails the run, then is retried
)


async def sink_span(settings: HubSettings, topic: str, idle_s: float = 5.0) -> tuple[int, float]:
    """(records, seconds between the first and the last record's timestamp) of ``topic``."""
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest", **settings.kafka_client_kwargs()
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        total = sum((await consumer.end_offsets(tps)).values())
        for tp in tps:
            consumer.seek(tp, 0)
        first, last, count = float("inf"), 0.0, 0
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while count < total and loop.time() - quiet_since < idle_s:
            batch = await consumer.getmany(timeout_ms=500, max_records=10000)
            for records in batch.values():
                quiet_since = loop.time()
                for rec in records:
                    first, last = min(first, rec.timestamp), max(last, rec.timestamp)
                    count += 1
        return count, max(last - first, 1.0) / 1000.0
    finally:
        await consumer.stop()


async def run_baseline(env: BenchEnv, kind: str, reqs: list[Request], timeout_s: float = 300.0) -> float:
    """Events per second (consumed + produced) of the ``relay`` or ``faust`` baseline over ``reqs``."""
    settings = env.fresh(kind)
    tag = secrets.token_hex(3)
    source, sink = f"{settings.topic_prefix}src", f"{settings.topic_prefix}dst"
    await asyncio.wait_for(create_topics(settings, [source, sink], PARTITIONS), STEP_TIMEOUT_S)
    prod = await asyncio.wait_for(producer(settings), STEP_TIMEOUT_S)
    try:
        await asyncio.wait_for(send_all(prod, source, reqs), STEP_TIMEOUT_S)
    finally:
        await prod.stop()
    if kind == "relay":
        child = env.python("bench.relay", [source, sink, f"bench-relay-{tag}"], f"relay-{tag}", settings)
    else:
        child = env.python(
            "bench.forwarder", [source, sink, f"bench-fwd-{tag}"], f"faust-{tag}", settings
        )
    child.spawn()
    try:

        async def done() -> bool:
            if not child.running():
                raise RuntimeError(f"the {kind} baseline exited; see {child.log_path}")
            return sum((await end_offsets(settings, [sink])).values()) >= len(reqs)

        if not await wait_until(done, timeout_s, 0.5):
            raise TimeoutError(f"{kind} baseline did not forward {len(reqs)} messages in {timeout_s}s")
    finally:
        await asyncio.to_thread(env.forget, child)
    count, seconds = await asyncio.wait_for(sink_span(settings, sink), STEP_TIMEOUT_S)
    return 2 * count / seconds
