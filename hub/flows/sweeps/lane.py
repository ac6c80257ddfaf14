"""The sweep lane: each agency's ceiling on sweep requests a second and its window of outstanding ones.

Sweep queries go to each agency's own sweep topic (``agency.<code>.sweeps``, read after its live inbox), never
to its inbox, and the hub never sends an agency more than it stated it accepts (the setting ``sweep_ceilings``,
default ``sweep_ceiling_per_s``) nor keeps more than ``sweep_window`` of them unanswered there.  A sweep goes
out whole (one query to every unit of the debtor's intensive set) when every one of its units has room; until
then it waits in the hub, as its row in the due schedule (back-pressure: the agencies' topics never hold a
growing backlog).  Live requests never pass through the lane.

Each of the ``partitions`` hub partitions gets its share of every ceiling and window (a partition is never
split between workers, so the shares add up to the agency's figure whatever the number of workers); the
tokens are wall-clock (a ceiling is a rate the agency can carry), kept in memory: a restarted worker begins
with a second's worth.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

BURST_S = 2.0  # tokens accumulate for at most this long (ticks come about once a second)


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: float


class SweepLane:
    """Token buckets per (partition, agency) and the window check."""

    def __init__(self, ceiling: Callable[[str], float], window: int, partitions: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = ceiling
        self.window_total = window
        self.partitions = partitions
        self.monotonic = monotonic
        self.buckets: dict[tuple[int, str], Bucket] = {}

    def rate(self, agency: str) -> float:
        """Sweep requests a second one partition may send ``agency``."""
        return self.ceiling(agency) / self.partitions

    def window(self) -> int:
        """Sweep requests one partition may keep outstanding at an agency."""
        return max(1, self.window_total // self.partitions)

    def _bucket(self, partition: int, agency: str, now: float) -> Bucket:
        rate = self.rate(agency)
        cap = max(1.0, rate * BURST_S)
        bucket = self.buckets.get((partition, agency))
        if bucket is None:
            bucket = self.buckets[(partition, agency)] = Bucket(min(cap, max(1.0, rate)), now)
        else:
            bucket.tokens = min(cap, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
        return bucket

    def admits(self, partition: int, units: Iterable[str], outstanding: Mapping[str, int]) -> bool:
        """Whether a sweep to ``units`` may go now: a token and room in the window at every unit."""
        now = self.monotonic()
        window = self.window()
        return all(self._bucket(partition, u, now).tokens >= 1.0 and outstanding.get(u, 0) < window for u in units)

    def take(self, partition: int, units: Iterable[str]) -> None:
        now = self.monotonic()
        for unit in units:
            self._bucket(partition, unit, now).tokens -= 1.0

    def forget(self, partitions: set[int]) -> None:
        """Partitions this worker lost: their buckets go (a worker given them back starts afresh)."""
        for key in [k for k in self.buckets if k[0] in partitions]:
            del self.buckets[key]
