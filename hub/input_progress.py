"""What this worker has read of its input: how long records waited for it, and how far behind each partition is.

Every record of ``court.requests`` and the agencies' outboxes passes :meth:`InputProgress.read` before it is
handled.  Both topics are ``LogAppendTime``: a record's timestamp is when the broker appended it, so
``wall clock - timestamp`` is how long it waited for this worker (the fetch, and every record ahead of it in the
worker's queue) — the hub's share of a live round trip's latency, whatever the sender's clock says.

Two readers:

- the sweep lane (:mod:`hub.flows.sweeps.lane`) slows the sweeps while records wait longer than the budget, so a
  sweep never takes the time live requests need (:meth:`steering_delay_ms`);
- the anomaly feed (:mod:`hub.anomaly_feed`) tells the anomaly book's owner how far the worker has read each
  agency's outbox (:meth:`read_through`), so a heartbeat the hub has not read yet — the outbox is behind a
  backlog — is not taken for a missing one.

How far behind: the partition's end — the higher of the consumer's high watermark (``highwater(topic,
partition)``, known from its last fetch of the partition; None when unknown) and the end offset the broker
last reported (:meth:`broker_end`) — minus the next offset to read.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hub.deadletter import RawRecord

#: the delay quantile the sweep lane is steered by, over :data:`WINDOW_MS`: the tail, since a live round trip's
#: 99th percentile is what a sweep must not move (the 90th let it grow 4-7 times, bench ``--only sweep``)
DELAY_QUANTILE = 0.99
WINDOW_MS = 2_000
#: live records a window must hold before their quantile steers the sweeps (10 a second)
STEER_MIN_RECORDS = 20

Highwater = Callable[[str, int], "int | None"]


def wall_ms() -> int:
    return int(time.time() * 1000)


def _unknown(topic: str, partition: int) -> int | None:
    return None


@dataclass(frozen=True, slots=True)
class ReadThrough:
    """How far one input partition is read: the next offset, the records after it, the last one's append time."""

    next_offset: int
    behind: int
    appended_ms: int | None

    @property
    def caught_up(self) -> bool:
        return self.behind == 0


class InputProgress:
    """The worker's reading of its input partitions (records waiting, positions), in memory and per worker."""

    def __init__(self, highwater: Highwater = _unknown, clock_ms: Callable[[], int] = wall_ms,
                 window_ms: int = WINDOW_MS) -> None:
        self.highwater = highwater
        self.clock_ms = clock_ms
        self.window_ms = window_ms
        self.delays: deque[tuple[int, int]] = deque()  # (read at, waited), oldest first
        self.positions: dict[tuple[str, int], tuple[int, int | None]] = {}  # (topic, partition) -> (offset, ts)
        #: end offsets the broker reported when asked (hub.hub_watches.LagWatch, every 10 s): the consumer knows
        #: only what it fetched, and while a burst on one topic fills the streams' buffers the others are not fetched
        self.broker_ends: dict[tuple[str, int], int] = {}

    def read(self, record: RawRecord, *, live: bool = True) -> int | None:
        """``record`` is about to be handled; returns how long it waited (ms), when its append time is known.
        Only a ``live`` record's wait counts in :meth:`recent_delay_ms` (a sweep's replies wait behind each
        other: that is the sweep's own pace, not a delay it causes live work)."""
        self.positions[(record.topic, record.partition)] = (record.offset, record.timestamp_ms)
        if record.timestamp_ms is None:
            return None
        now = self.clock_ms()
        waited = max(0, now - record.timestamp_ms)
        if live:
            self.delays.append((now, waited))
        return waited

    def recent_delay_ms(self, quantile: float = DELAY_QUANTILE, min_records: int = 1) -> int | None:
        """The ``quantile`` of the waits of the live records read in the last window; None if fewer than
        ``min_records`` were read."""
        now = self.clock_ms()
        while self.delays and self.delays[0][0] < now - self.window_ms:
            self.delays.popleft()
        if len(self.delays) < max(1, min_records):
            return None
        waits = sorted(w for _, w in self.delays)
        return waits[min(len(waits) - 1, int(quantile * len(waits)))]

    def steering_delay_ms(self) -> int | None:
        """What the sweeps are steered by: the live records' 99th percentile wait, once the window holds
        :data:`STEER_MIN_RECORDS` of them (fewer: a "99th percentile" of a handful is their maximum, and one slow
        heartbeat would halve the sweeps; so little live work is not what a sweep delays)."""
        return self.recent_delay_ms(DELAY_QUANTILE, STEER_MIN_RECORDS)

    def read_through(self, topic: str, partition: int) -> ReadThrough | None:
        """How far this worker has read ``topic``/``partition`` (None: nothing read from it yet)."""
        position = self.positions.get((topic, partition))
        if position is None:
            return None
        offset, appended = position
        known = (self.highwater(topic, partition), self.broker_ends.get((topic, partition)))
        ends = [end for end in known if end is not None]
        behind = max(0, max(ends) - offset - 1) if ends else 0
        return ReadThrough(offset + 1, behind, appended)

    def broker_end(self, topic: str, partition: int, end: int) -> None:
        """The broker said ``topic``/``partition`` ends at ``end`` (the offset its next record will get)."""
        self.broker_ends[(topic, partition)] = end

    def forget(self, partitions: set[int]) -> None:
        """Hub partitions this worker lost (of every input topic: they are co-partitioned): another worker reads
        them now."""
        for key in [k for k in self.positions if k[1] in partitions]:
            del self.positions[key]
        for key in [k for k in self.broker_ends if k[1] in partitions]:
            del self.broker_ends[key]

    def read_partitions(self) -> list[tuple[str, int]]:
        return sorted(self.positions)
