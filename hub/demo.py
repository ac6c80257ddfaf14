"""``interop-hub demo``: the main job.

Starts the broker if needed, applies the topic catalog, runs the hub worker as its own
process, drives a scenario through the topics only (as an outside court would), prints a
summary and keeps ``/metrics`` served while it runs.  The flow issues extend the scenario;
today it proves the foundation: the hub answers every court message — an error reply for
request types no flow handles yet, a dead letter for bytes that are not Avro — and loses none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.court.samples import query_request
from hub.broker.server import LocalBroker
from hub.clock import SystemClock
from hub.codec import default_codec
from hub.console import echo
from hub.process import WorkerProcess, http_json
from hub.settings import HubSettings
from topics.admin import apply_catalog
from topics.catalog import DEFAULT_CATALOG, Role


@dataclass
class Summary:
    broker: str = ""
    topics_created: int = 0
    topics_total: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    error_replies: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    unanswered: int = 0
    metrics_dead_letters_total: float = 0.0
    health: str = ""
    seconds: float = 0.0

    @property
    def sent_total(self) -> int:
        return sum(self.sent.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sent_total": self.sent_total}


async def tail_from_end(consumer: AIOKafkaConsumer, topics: dict[str, int]) -> None:
    """Assign every partition of ``topics`` and start reading after what is there now."""
    tps = [TopicPartition(t, p) for t, n in topics.items() for p in range(n)]
    consumer.assign(tps)
    for tp, offset in (await consumer.end_offsets(tps)).items():
        consumer.seek(tp, offset)


async def _scenario(settings: HubSettings, count: int, rate: float) -> Summary:
    codec = default_codec()
    clock = SystemClock()
    summary = Summary()
    requests_topic = settings.topic(DEFAULT_CATALOG.one(Role.COURT_REQUESTS).name)
    replies_topic = settings.topic(DEFAULT_CATALOG.one(Role.COURT_REPLIES).name)
    dl_topic = settings.topic(DEFAULT_CATALOG.one(Role.DEAD_LETTER).name)
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_kwargs())
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await producer.start()
    await consumer.start()
    try:
        await tail_from_end(consumer, {replies_topic: DEFAULT_CATALOG.one(Role.COURT_REPLIES).partitions,
                                       dl_topic: DEFAULT_CATALOG.one(Role.DEAD_LETTER).partitions})
        expected: set[str] = set()
        banks = [a.code for a in DEFAULT_CATALOG.agencies if a.is_financial]
        interval = 1.0 / rate if rate > 0 else 0.0
        for i in range(count):
            msg = query_request(clock, bank=banks[i % len(banks)])
            expected.add(msg.request_id)
            await producer.send_and_wait(requests_topic, codec.encode_message(msg), key=b"demo")
            summary.sent["QueryRequest"] = summary.sent.get("QueryRequest", 0) + 1
            if interval:
                await asyncio.sleep(interval)
        corrupt = [b"not avro at all", b"\xc3\x01" + b"\x00" * 8 + b"junk"]
        for raw in corrupt:
            await producer.send_and_wait(requests_topic, raw, key=b"demo")
        summary.sent["corrupt bytes"] = len(corrupt)
        pending_dead = len(corrupt) + count
        deadline = time.monotonic() + 60
        while (expected or pending_dead > 0) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    if rec.topic == dl_topic:
                        reason = dict(rec.headers).get("reason", b"?").decode()
                        summary.dead_letters[reason] = summary.dead_letters.get(reason, 0) + 1
                        pending_dead -= 1
                        continue
                    reply = codec.decode(rec.value)
                    code = str(reply.body.get("error_code", reply.message_type))
                    summary.error_replies[code] = summary.error_replies.get(code, 0) + 1
                    expected.discard(reply.request_id)
        summary.unanswered = len(expected)
    finally:
        await consumer.stop()
        await producer.stop()
    return summary


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _demo(args: argparse.Namespace, settings: HubSettings) -> int:
    started = time.monotonic()
    broker = LocalBroker(settings)
    status = broker.start()
    report = asyncio.run(apply_catalog(DEFAULT_CATALOG, settings))
    worker = WorkerProcess(settings, settings.data_dir / "worker.log")
    echo(f"broker up at {status.bootstrap}; {len(report.created)} topics created; starting the hub worker",
         err=args.json)
    worker.start()
    try:
        echo(f"hub worker ready; metrics at {worker.base_url}/metrics", err=args.json)
        summary = asyncio.run(_scenario(settings, args.requests, args.rate))
        summary.broker = status.bootstrap
        summary.topics_created = len(report.created)
        summary.topics_total = len(DEFAULT_CATALOG)
        _, health = http_json(worker.base_url + "/health")
        summary.health = str(health.get("status"))
        with urllib.request.urlopen(worker.base_url + "/metrics", timeout=5) as resp:  # noqa: S310
            summary.metrics_dead_letters_total = _metric(resp.read().decode(), "interop_hub_dead_letters_total")
        remaining = args.duration - (time.monotonic() - started)
        if remaining > 0:
            echo(f"serving {worker.base_url}/metrics for {remaining:.0f} more seconds", err=args.json)
            time.sleep(remaining)
    finally:
        worker.stop()
    summary.seconds = round(time.monotonic() - started, 1)
    if args.json:
        echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_table(summary)
    ok = summary.unanswered == 0 and summary.health == "ok"
    return 0 if ok else 1


def _print_table(s: Summary) -> None:
    echo("")
    echo("interop-hub demo summary")
    echo("------------------------")
    echo(f"broker                 {s.broker}")
    echo(f"topics                 {s.topics_total} in catalog, {s.topics_created} created this run")
    for kind, n in s.sent.items():
        echo(f"sent                   {n:>5}  {kind}")
    for code, n in s.error_replies.items():
        echo(f"error replies          {n:>5}  {code}")
    for code, n in s.dead_letters.items():
        echo(f"dead letters           {n:>5}  {code}")
    echo(f"unanswered requests    {s.unanswered:>5}")
    echo(f"dead letters (metrics) {s.metrics_dead_letters_total:>5.0f}")
    echo(f"hub health             {s.health}")
    echo(f"elapsed                {s.seconds}s")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("demo", help="run the main job: broker, topics, hub, scenario, summary")
    parser.add_argument("--duration", type=float, default=0.0, help="keep /metrics served until N seconds")
    parser.add_argument("--rate", type=float, default=50.0, help="court requests per second")
    parser.add_argument("--requests", type=int, default=20, help="court requests in the scenario")
    parser.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    parser.set_defaults(func=_demo)
