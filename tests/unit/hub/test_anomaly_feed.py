"""What a worker reports to the anomaly book's owner (hub.anomaly_feed): how far it has read the outboxes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.anomaly_feed import LAG_WORTH_MS, OBSERVATIONS, OWNER_PARTITION, AnomalyFeed
from hub.codec import default_codec
from hub.deadletter import RawRecord
from hub.input_progress import InputProgress
from hub.memory_backend import MemoryHub
from hub.request_gauges import RequestCounts

CODEC = default_codec()
T = 1_700_000_000_000


def _reports(hub: MemoryHub) -> list[tuple[int | None, dict[str, Any]]]:
    ticks = hub.ctx.settings.topic(hub.ctx.topics.ticks)
    decoded = [(s.partition, CODEC.decode(s.value or b"")) for s in hub.sender.on(ticks)]
    return [(partition, m.body) for partition, m in decoded if m.schema == OBSERVATIONS]


async def test_a_workers_flush_reports_the_outbox_partitions_it_is_behind_on_until_caught_up(
        bare_hub: MemoryHub) -> None:
    topic = bare_hub.ctx.settings.topic
    icbc, ccb, court = topic("agency.icbc.outbox"), topic("agency.ccb.outbox"), topic("court.requests")
    boc = topic("agency.boc.outbox")
    highwater = {(icbc, 3): 110, (ccb, 5): 21, (court, 3): 5000, (boc, 1): 12}  # the end offsets fetched
    progress = InputProgress(highwater=lambda t, p: highwater.get((t, p)), clock_ms=lambda: T + 60_000)
    feed = AnomalyFeed(replace(bare_hub.ctx, input=progress), RequestCounts)
    progress.read(RawRecord(icbc, 3, 9, b"icbc", b"", timestamp_ms=T))  # 100 records after it
    progress.read(RawRecord(ccb, 5, 20, b"ccb", b"", timestamp_ms=T))  # the last one: caught up
    progress.read(RawRecord(court, 3, 7, b"case", b"", timestamp_ms=T))  # not an outbox
    # a busy worker is a few records behind most of the time: not worth a report under LAG_WORTH_MS
    progress.read(RawRecord(boc, 1, 9, b"boc", b"", timestamp_ms=T + 60_000 - LAG_WORTH_MS))

    behind = [{"agency": "icbc", "partition": 3, "read_ms": T, "behind": 100}]
    await feed.flush()
    await feed.flush()  # every flush while behind, with nothing else to report
    assert _reports(bare_hub) == [(OWNER_PARTITION, body) for body in [_body(feed, behind)] * 2]

    progress.read(RawRecord(icbc, 3, 109, b"icbc", b"", timestamp_ms=T + 30_000))
    await feed.flush()
    await feed.flush()  # caught up is reported once
    assert [body["lagging"] for _, body in _reports(bare_hub)][2:] == [
        [{"agency": "icbc", "partition": 3, "read_ms": T + 30_000, "behind": 0}]]


def _body(feed: AnomalyFeed, lagging: list[dict[str, Any]]) -> dict[str, Any]:
    empty: dict[str, Any] = {name: [] for name in ("messages", "heartbeats", "errors", "dead_letters", "warnings",
                                                    "joined", "waiting", "answered", "acks", "faults")}
    return {"worker": feed.worker, **empty, "lagging": lagging}
