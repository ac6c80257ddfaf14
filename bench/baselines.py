"""Measuring the two relay baselines: a backlog of requests is forwarded from a source to a sink topic.

The rate is taken from the sink records' own timestamps (first to last), so process start-up and
the consumer group's join are not counted; events = consumed + produced = 2 per message.  On request
the same requests are then sent once more to the warm, idle forwarder, and its CPU (user + system,
all threads) from the first send until the sink holds them all is taken per two messages forwarded
(a hub round trip forwards two: the request and the reply).
"""

from __future__ import annotations

import asyncio
import math
import secrets

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.cpu import CpuMeter, ms_per_unit
from bench.env import BenchEnv, create_topics, end_offsets, wait_until
from bench.load import Request, producer, send_all
from hub.process import ChildProcess
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


async def fill(settings: HubSettings, topic: str, reqs: list[Request]) -> None:
    prod = await asyncio.wait_for(producer(settings), STEP_TIMEOUT_S)
    try:
        await asyncio.wait_for(send_all(prod, topic, reqs), STEP_TIMEOUT_S)
    finally:
        await prod.stop()


async def forwarded(
    child: ChildProcess, settings: HubSettings, sink: str, total: int, timeout_s: float, interval_s: float = 0.5
) -> None:
    """Returns once ``sink`` holds ``total`` records (raises if the child exits or it takes ``timeout_s``)."""

    async def done() -> bool:
        if not child.running():
            raise RuntimeError(f"the {child.module} baseline exited; see {child.log_path}")
        return sum((await end_offsets(settings, [sink])).values()) >= total

    if not await wait_until(done, timeout_s, interval_s):
        raise TimeoutError(f"{child.module} baseline did not forward {total} messages in {timeout_s}s")


async def cpu_ms_per_pair(
    child: ChildProcess, settings: HubSettings, topics: tuple[str, str], reqs: list[Request], timeout_s: float
) -> float:
    """CPU ms of the warm, idle ``child`` per two messages, forwarding ``reqs`` once more."""
    source, sink = topics
    already = sum((await end_offsets(settings, [sink])).values())
    prod = await asyncio.wait_for(producer(settings), STEP_TIMEOUT_S)
    try:
        with CpuMeter(child.pid) as cpu:
            await asyncio.wait_for(send_all(prod, source, reqs), STEP_TIMEOUT_S)
            await forwarded(child, settings, sink, already + len(reqs), timeout_s, interval_s=0.1)
    finally:
        await prod.stop()
    return ms_per_unit(cpu.seconds, len(reqs) / 2)


async def run_baseline(
    env: BenchEnv, kind: str, reqs: list[Request], cpu_runs: list[float] | None = None, timeout_s: float = 300.0
) -> float:
    """Events per second (consumed + produced) of the ``relay`` or ``faust`` baseline over ``reqs``;
    with ``cpu_runs``, also its CPU ms per message pair (:func:`cpu_ms_per_pair`), appended there."""
    settings = env.fresh(kind)
    tag = secrets.token_hex(3)
    source, sink = f"{settings.topic_prefix}src", f"{settings.topic_prefix}dst"
    await asyncio.wait_for(create_topics(settings, [source, sink], PARTITIONS), STEP_TIMEOUT_S)
    await fill(settings, source, reqs)
    if kind == "relay":
        child = env.python("bench.relay", [source, sink, f"bench-relay-{tag}"], f"relay-{tag}", settings)
    else:
        child = env.python(
            "bench.forwarder", [source, sink, f"bench-fwd-{tag}"], f"faust-{tag}", settings
        )
    child.spawn()
    try:
        await forwarded(child, settings, sink, len(reqs), timeout_s)
        # read while the child idles, before the CPU pass adds to the sink
        count, seconds = await asyncio.wait_for(sink_span(settings, sink), STEP_TIMEOUT_S)
        cpu = math.nan
        if cpu_runs is not None:
            cpu = await cpu_ms_per_pair(child, settings, (source, sink), reqs, timeout_s)
    finally:
        await asyncio.to_thread(env.forget, child)
    if cpu_runs is not None:
        cpu_runs.append(cpu)
    return 2 * count / seconds
