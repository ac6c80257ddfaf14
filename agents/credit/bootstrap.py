"""A new unit's copy of the list from the compacted current list (``interop-agency credit bootstrap``).

A unit that joins late need not replay the whole history (``credit replay``, ~14,000 publications/s): it
reads ``credit.list.current`` — one record per listing, the list as compaction keeps it — checks the copy
against the digest the hub published with one publication of ``credit.list.history``, and follows the
history from the next one, like the EU sanctions list's snapshot + delta + history.  Why the copy read is a
consistent cut, at which publication, and what happens when it is not: :mod:`agents.credit.snapshot`.

Steps (:func:`bootstrap`): read the current list to the end offset seen at the start; find the offset of
publication ``M`` (the newest value's) in the history by probing single records (usually ``M`` is the
last one; else one record per publication puts it at the beginning offset + ``M - 1``; else bisection,
publication ids growing with offsets); read the history from there until the copy
matches a published digest (usually at ``M`` itself), waiting up to ``settle_s`` for history records that
are still on their way; store the verified copy (:meth:`agents.credit.store.ListStore.restore`).  Then
:func:`follow` applies, verified, every publication after the cut: to the end, or until told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.credit.replay import ReplayProgress, collector_paused, history_topic
from agents.credit.snapshot import ConsistentCut, SnapshotBase, SnapshotUnverified
from agents.credit.store import ListStore
from hub.codec import AvroCodec, default_codec
from hub.errors import ConfigError
from hub.flows.credit.list_log import FETCH_BYTES, RECORDS_PER_FETCH
from hub.flows.credit.messages import ENTRY
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG, Role

#: how long the history may stay silent while the copy matches no publication yet (records on their way)
SETTLE_S = 10.0
#: longest wait of a fetch at the end of a log (aiokafka's default is 500 ms)
FETCH_WAIT_MS = 20
#: wait for one probed record before the history counts as unreadable
PROBE_TIMEOUT_S = 30.0

#: (history offset, raw bytes, decoded body) of each publication, as :class:`ListStore` applies them
Rows = list[tuple[int, bytes, dict[str, Any]]]


def current_topic(settings: HubSettings) -> str:
    return settings.topic(DEFAULT_CATALOG.one(Role.LIST_CURRENT).name)


@dataclass(frozen=True)
class BootstrapResult:
    base: SnapshotBase
    #: records of the current list read (values and tombstones)
    records: int
    #: ``M``: the newest ``last_publication_id`` among them
    newest: int
    #: publications applied on top of the snapshot to reach the cut (the window ``(M, P]``)
    window: int
    #: seconds reading the current list
    snapshot_seconds: float
    #: seconds to the verified copy, stored
    seconds: float

    @property
    def rate(self) -> float:
        """Listings in force per second, to the verified copy."""
        return self.base.size / self.seconds if self.seconds > 0 else 0.0


def _consumer(settings: HubSettings, *, moving: bool) -> AIOKafkaConsumer:
    """A consumer without a group.  One ``moving`` between topics and offsets waits at most
    :data:`FETCH_WAIT_MS` at a log's end: each move would otherwise wait out a long poll still in flight."""
    wait: dict[str, Any] = {"fetch_max_wait_ms": FETCH_WAIT_MS} if moving else {}
    return AIOKafkaConsumer(enable_auto_commit=False, fetch_max_bytes=FETCH_BYTES,
                            max_partition_fetch_bytes=FETCH_BYTES, **wait, **settings.kafka_client_kwargs())


async def read_current(consumer: AIOKafkaConsumer, topic: str, cut: ConsistentCut, codec: AvroCodec, *,
                       progress: bool = False, stream: TextIO | None = None) -> None:
    """Every record of the current list, from its beginning to the end offset seen at the start, into ``cut``."""
    tp = TopicPartition(topic, 0)
    begin = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
    bar = ReplayProgress(end - begin, label="snapshot", stream=stream) if progress else None
    if begin < end:
        consumer.assign([tp])
        consumer.seek(tp, begin)  # before the first await after assign (see hub.flows.credit.list_log)
        position = begin
        while position < end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=RECORDS_PER_FETCH)
            records = batch.get(tp, [])
            for r in records:
                if r.offset >= end:
                    break
                key = (r.key or b"").decode()
                if r.value is None:
                    cut.current(key, None, None)
                    continue
                msg = codec.decode(r.value)
                if msg.schema != ENTRY:
                    raise SnapshotUnverified(f"offset {r.offset} of {topic} holds a {msg.schema}, not a ListEntry",
                                             field="current")
                cut.current(key, r.value, msg.body)
            if records:
                position = records[-1].offset + 1
                if bar is not None:
                    bar.update(len(records))
    if bar is not None:
        bar.close()


class HistoryProbe:
    """Single records of the history, to find a publication's offset without reading up to it.

    A probe fetches from its offset on (up to the consumer's fetch size): the first guess, ``M``'s own
    offset, lies near the end, so it costs little; the bisection, for a history whose offsets are not
    publication ids minus one, costs a fetch per step.
    """

    def __init__(self, consumer: AIOKafkaConsumer, topic: str, codec: AvroCodec) -> None:
        self.consumer = consumer
        self.tp = TopicPartition(topic, 0)
        self.codec = codec
        self.probes = 0
        consumer.assign([self.tp])

    async def bounds(self) -> tuple[int, int]:
        """(beginning offset, end offset) of the history now."""
        begin = (await self.consumer.beginning_offsets([self.tp]))[self.tp]
        end = (await self.consumer.end_offsets([self.tp]))[self.tp]
        return int(begin), int(end)

    async def at(self, offset: int) -> tuple[int, int]:
        """(offset, publication id) of the first record at or after ``offset``."""
        self.probes += 1
        self.consumer.seek(self.tp, offset)
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while time.monotonic() < deadline:
            batch = await self.consumer.getmany(self.tp, timeout_ms=500, max_records=1)
            for r in batch.get(self.tp, []):
                if r.offset >= offset and r.value:
                    return int(r.offset), int(self.codec.decode(r.value).body["publication_id"])
        raise TimeoutError(f"no record of {self.tp.topic} at offset {offset} within {PROBE_TIMEOUT_S:.0f}s")

    async def offset_of(self, publication_id: int, settle_s: float) -> int:
        """The offset of ``publication_id``'s record (waiting up to ``settle_s`` for the history to reach it)."""
        begin, end = await self.bounds()
        deadline = time.monotonic() + settle_s
        while True:
            last_offset, last = await self.at(end - 1) if end > begin else (begin, 0)
            if last == publication_id:
                return last_offset  # the usual case: the snapshot's newest value is the history's last publication
            if last > publication_id:
                break
            if time.monotonic() >= deadline:
                raise SnapshotUnverified(
                    f"the current list shows publication {publication_id}, the history ends at {last}: "
                    "replay the history instead", field="history")
            await asyncio.sleep(0.2)
            begin, end = await self.bounds()
        lo, hi = begin, end - 1
        guess = min(max(begin + publication_id - 1, lo), hi)  # one record per publication, from 1
        offset, pub = await self.at(guess)
        while pub != publication_id:
            if pub < publication_id:
                lo = offset + 1
            else:
                hi = guess - 1
            if lo > hi:
                raise SnapshotUnverified(f"publication {publication_id} is not in the history (a gap)",
                                         field="history")
            guess = (lo + hi) // 2
            offset, pub = await self.at(guess)
        return offset


async def _find_cut(probe: HistoryProbe, cut: ConsistentCut, settle_s: float) -> SnapshotBase:
    """Read the history from publication ``cut.newest`` until the copy matches a published digest."""
    consumer, tp, codec = probe.consumer, probe.tp, probe.codec
    consumer.seek(tp, await probe.offset_of(cut.newest, settle_s))
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle_s:
        batch = await consumer.getmany(tp, timeout_ms=200, max_records=RECORDS_PER_FETCH)
        records = batch.get(tp, [])
        if records:
            quiet_since = time.monotonic()
        for r in records:
            if not r.value:
                continue
            base = cut.history(r.offset, r.value, codec.decode(r.value).body)
            if base is not None:
                return base
    raise SnapshotUnverified(
        f"the copy read from the current list ({cut.state.size:,} listings, values up to publication {cut.newest}) "
        f"matches no published digest from publication {cut.newest} to {cut.state.last_publication_id}, and the "
        f"history stayed silent for {settle_s:g}s: the current list misses an update, or the read outlasted the "
        "tombstones; replay the history instead (credit replay --wipe)", field="list_digest")


async def bootstrap(settings: HubSettings, store: ListStore, *, progress: bool = True, stream: TextIO | None = None,
                    settle_s: float = SETTLE_S, codec: AvroCodec | None = None) -> BootstrapResult:
    """Make the empty ``store`` a verified copy of the list at one publication, from the current list."""
    if store.last_publication_id or store.base is not None:
        raise ConfigError(f"this copy already holds publication {store.last_publication_id}: continue it with "
                          "`credit replay`, or wipe it (--wipe)", field="store")
    codec = codec or default_codec()
    started = time.monotonic()
    cut = ConsistentCut()
    consumer = _consumer(settings, moving=True)
    await consumer.start()
    try:
        with collector_paused():
            await read_current(consumer, current_topic(settings), cut, codec, progress=progress, stream=stream)
            snapshot_s = time.monotonic() - started
            probe = HistoryProbe(consumer, history_topic(settings), codec)
            base = cut.start((await probe.bounds())[0])
            if base is None:
                base = await _find_cut(probe, cut, settle_s)
            store.restore(base, cut.raws.items(), cut.state)
    finally:
        await consumer.stop()
    return BootstrapResult(base, cut.records, cut.newest, cut.window, snapshot_s, time.monotonic() - started)


async def follow(settings: HubSettings, start_offset: int, apply: Callable[[Rows], int], *,
                 stop: asyncio.Event | None = None, codec: AvroCodec | None = None) -> int:
    """Apply the history from ``start_offset`` with ``apply`` (verified by the store): to the end offset seen at
    the start, or, given ``stop``, on as the hub publishes until ``stop`` is set.  Returns how many were new."""
    codec = codec or default_codec()
    consumer = _consumer(settings, moving=False)
    await consumer.start()
    applied = 0
    try:
        tp = TopicPartition(history_topic(settings), 0)
        end = (await consumer.end_offsets([tp]))[tp]
        if stop is None and start_offset >= end:
            return 0
        consumer.assign([tp])
        consumer.seek(tp, start_offset)
        position = start_offset
        # a catch-up allocates like a replay (collector paused); a unit that follows on keeps the collector
        with collector_paused() if stop is None else contextlib.nullcontext():
            while not (stop.is_set() if stop is not None else position >= end):
                batch = await consumer.getmany(tp, timeout_ms=200, max_records=RECORDS_PER_FETCH)
                records = batch.get(tp, [])
                if records:
                    position = records[-1].offset + 1
                rows = [(r.offset, r.value, codec.decode(r.value).body) for r in records
                        if r.value and (stop is not None or r.offset < end)]
                if rows:
                    applied += apply(rows)
    finally:
        await consumer.stop()
    return applied
