"""Rebuilding a consumer's copy of the list from the hub's log (``interop-hub credit replay``).

``credit.list.history`` has one partition and infinite retention, and the hub writes exactly one
record per publication in publication-id order, so the log alone rebuilds the list: from the
beginning, from a publication id (a copy that stopped at N-1 catches up), or as of a point in
time (every publication made at or before it).  Records are fetched with ``getmany`` in large
batches and decoded with the hub's codec; progress goes to stderr, the final digest is compared
with the digest the hub published with the last event applied.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import Progress, TextColumn

from agents.credit.store import ListStore
from hub.codec import AvroCodec, AvroMessage, default_codec
from hub.errors import ConfigError
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG, Role

FETCH_BYTES = 64 * 1024 * 1024
BATCH = 20_000


def history_topic(settings: HubSettings) -> str:
    return settings.topic(DEFAULT_CATALOG.one(Role.LIST_HISTORY).name)


class ReplayProgress:
    """The replay's progress: a rich bar on a terminal; on a file or pipe one line when it is done (no
    carriage-return redraws in redirected output)."""

    def __init__(self, total: int, label: str = "replay", stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = max(total, 0), label, 0
        self.started = time.monotonic()
        self.console = Console(file=stream if stream is not None else sys.stderr, highlight=False)
        self.bar: Progress | None = None
        if self.console.is_terminal:
            self.bar = Progress(*Progress.get_default_columns(), TextColumn("{task.fields[rate]}"),
                                console=self.console, transient=False)
            self.task = self.bar.add_task(label, total=self.total or None, rate="")
            self.bar.start()

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            rate = self.done / max(time.monotonic() - self.started, 1e-9)
            self.bar.update(self.task, completed=self.done, rate=f"{rate:,.0f} ev/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            return
        seconds = time.monotonic() - self.started
        self.console.print(f"{self.label}: {self.done:,}/{self.total:,} events in {seconds:.1f} s "
                           f"({self.done / max(seconds, 1e-9):,.0f} ev/s)")


async def read_log(settings: HubSettings, topic: str, *, start_offset: int = 0,
                   codec: AvroCodec | None = None,
                   on_total: Any = None) -> AsyncGenerator[list[tuple[int, bytes, AvroMessage]], None]:
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
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=BATCH)
            records = batch.get(tp, [])
            out = [(r.offset, r.value, codec.decode(r.value)) for r in records if r.offset < end and r.value]
            if records:
                position = records[-1].offset + 1
            if out:
                yield out
    finally:
        await consumer.stop()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a copy is rebuilt.

    A rebuild allocates millions of containers (decoded events, the list's entries) and keeps most of
    them; with the collector running, each of its full collections rescans everything kept so far, which
    at 100,000 events is about a third of the replay.  The replay's own objects form no reference cycles
    (they are freed by reference counting as usual); anything cyclic allocated meanwhile is collected once
    the collector is back on, which it is afterwards if it was on before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class ReplayResult:
    applied: int
    last_publication_id: int
    size: int
    digest: str
    published_digest: str | None
    seconds: float

    @property
    def identical(self) -> bool:
        """The copy's digest is the hub's (also True when the hub has published nothing: no mismatch)."""
        return self.published_digest is None or self.digest == self.published_digest

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds > 0 else 0.0


def digest_comparison(result: ReplayResult) -> str:
    """The line of ``credit replay`` that compares the rebuilt copy's digest with the hub's."""
    if result.published_digest is None:
        return "hub's  none: the hub has published no list yet (no digest to compare)"
    return f"hub's  {result.published_digest} -> {'identical' if result.identical else 'DIFFERENT'}"


async def replay(settings: HubSettings, store: ListStore, *, from_publication: int | None = None,
                 as_of: datetime | None = None, progress: bool = True, stream: TextIO | None = None,
                 topic: str | None = None) -> ReplayResult:
    """Bring ``store`` up to the log's end (or to ``as_of``); a resumed copy continues after its last event."""
    topic = topic or history_topic(settings)
    started = time.monotonic()
    if from_publication is not None and from_publication != store.last_publication_id + 1:
        raise ConfigError(f"this copy ends at publication {store.last_publication_id}: replay from "
                          f"{store.last_publication_id + 1}, or wipe it and replay from the beginning",
                          field="from_publication")
    start = store.next_offset if store.last_publication_id else 0
    limit_ms = int(as_of.timestamp() * 1000) if as_of is not None else None
    bar: list[ReplayProgress] = []
    applied, published = 0, None

    def total(n: int) -> None:
        if progress:
            bar.append(ReplayProgress(n, stream=stream))

    async with contextlib.aclosing(read_log(settings, topic, start_offset=start, on_total=total)) as batches:
        with collector_paused():
            async for batch in batches:
                rows, stop = _until(batch, limit_ms)
                if rows:
                    published = str(rows[-1][2]["list_digest"])
                applied += store.apply_batch(rows)
                for b in bar:
                    b.update(len(rows))
                if stop:
                    break
    for b in bar:
        b.close()
    return ReplayResult(applied, store.last_publication_id, store.state.size, store.digest(),
                        published if published is not None else store.published_digest(),
                        time.monotonic() - started)


def _until(batch: list[tuple[int, bytes, AvroMessage]],
           limit_ms: int | None) -> tuple[list[tuple[int, bytes, dict[str, Any]]], bool]:
    """The records of ``batch`` published at or before ``limit_ms``, and whether the limit was reached."""
    rows: list[tuple[int, bytes, dict[str, Any]]] = []
    for offset, raw, msg in batch:
        body = msg.body
        if limit_ms is not None and int(body["published_at"].timestamp() * 1000) > limit_ms:
            return rows, True
        rows.append((offset, raw, body))
    return rows, False
