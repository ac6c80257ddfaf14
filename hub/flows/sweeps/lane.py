"""The sweep lane: each agency's ceiling on sweep requests a second and its window of outstanding ones.

Sweep queries go to each agency's own sweep topic (``agency.<code>.sweeps``, read after its live inbox), never
to its inbox, and the hub never sends an agency more than it stated it accepts (the setting ``sweep_ceilings``,
default ``sweep_ceiling_per_s``) nor keeps more than ``sweep_window`` of them unanswered there.  A sweep goes
out whole (one query to every unit of the debtor's intensive set) when every one of its units has room; until
then it waits in the hub, as its row in the due schedule (back-pressure: the agencies' topics never hold a
growing backlog).  Live requests never pass through the lane.

Each of the ``partitions`` hub partitions gets its share of every ceiling and window (a partition is never
split between workers, so the shares add up to the agency's figure whatever the number of workers); the
tokens are wall-clock (a ceiling is a rate the agency can carry), kept in memory.  The partitions' buckets
start out of step: partition ``p`` of ``P`` begins with ``1 - p / P`` of a token, so the partitions take
their turns a ``1 / P`` of the period apart.  Started in step (a burst of sweeps, one per partition, every
period), every partition's sweep went out at the same tick and its 26 replies came back together: ~300
records that kept the live ones behind them waiting up to a second (bench ``--only sweep``, 2026-11-26).

Live work first: a ceiling is what an agency accepts, not what the hub must send.  Each worker steers its
sweeps by how long its live input records wait for it — the 99th percentile, a sweep's own replies left out
(:meth:`hub.input_progress.InputProgress.steering_delay_ms`, the hub's share of a live round trip): while the
wait is above ``budget_ms`` the worker's pace — the share of
the ceilings its partitions use — halves, at most once a second, down to :data:`MIN_PACE`, if the worker sent
a sweep in the last :data:`BLAME_S` (a wait with no sweep of this worker in flight is not the sweeps' doing:
slowing them then only stalls the next one: at 1/64 of a 5/s ceiling shared by 12 partitions, a partition's
first sweep would wait up to two and a half minutes for its token); while it is under half the budget, the pace
grows back by :data:`PACE_STEP` a second (additive increase, multiplicative decrease, as TCP shares a link), and
in between it holds.  A sweep's replies come back as a burst of one reply per unit, so at full pace a loaded
worker would keep live records waiting behind them; steered, the sweep gets what live work leaves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

BURST_S = 2.0  # tokens accumulate for at most this long (ticks come about once a second)
MIN_PACE = 1 / 64  # the sweeps never stop for good: at worst a 64th of the ceilings
PACE_STEP = 0.05  # the pace grows back by this much a second while input waits stay under the budget
STEER_EVERY_S = 1.0
#: between two unit queries of one sweep: its 26 replies come back over ~130 ms, not as one burst that a live reply
#: behind it in the hub's outbox stream waits out (26 replies x ~4 ms of the worker's CPU each)
UNIT_SPACING_S = 0.005
#: a sweep sent this recently may be why live records wait (its replies come back within a second or two)
BLAME_S = 5.0


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: float


class SweepLane:
    """Token buckets per (partition, agency) and the window check."""

    def __init__(self, ceiling: Callable[[str], float], window: int, partitions: int,
                 monotonic: Callable[[], float] = time.monotonic, *,
                 input_wait_ms: Callable[[], int | None] = lambda: None, budget_ms: int | None = None) -> None:
        self.ceiling = ceiling
        self.window_total = window
        self.partitions = partitions
        self.monotonic = monotonic
        self.buckets: dict[tuple[int, str], Bucket] = {}
        self.input_wait_ms = input_wait_ms
        self.budget_ms = budget_ms  # None: no steering (the ceilings alone)
        self.pace = 1.0
        self.steered_at: float | None = None
        self.sent_at: float | None = None  # the last sweep this worker sent

    def steer(self) -> float:
        """The pace after this second's input waits (at most one change a second); returns it."""
        now = self.monotonic()
        if self.budget_ms is None or (self.steered_at is not None and now - self.steered_at < STEER_EVERY_S):
            return self.pace
        self.steered_at = now
        waited = self.input_wait_ms()
        if waited is not None and waited > self.budget_ms:
            if self.sent_at is not None and now - self.sent_at <= BLAME_S:
                self.pace = max(MIN_PACE, self.pace / 2)
        elif waited is None or waited <= self.budget_ms / 2:
            self.pace = min(1.0, self.pace + PACE_STEP)
        # over the budget with no sweep in flight, or between half the budget and the budget: held (grown to the
        # edge, it would oscillate)
        return self.pace

    def rate(self, agency: str) -> float:
        """Sweep requests a second one partition may send ``agency`` now (its share of the ceiling, paced)."""
        return self.ceiling(agency) * self.pace / self.partitions

    def window(self) -> int:
        """Sweep requests one partition may keep outstanding at an agency."""
        return max(1, self.window_total // self.partitions)

    def _bucket(self, partition: int, agency: str, now: float) -> Bucket:
        rate = self.rate(agency)
        cap = max(1.0, rate * BURST_S)
        bucket = self.buckets.get((partition, agency))
        if bucket is None:
            bucket = self.buckets[(partition, agency)] = Bucket(1.0 - (partition % self.partitions) / self.partitions,
                                                                now)
        else:
            bucket.tokens = min(cap, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
        return bucket

    def admits(self, partition: int, units: Iterable[str], outstanding: Mapping[str, int]) -> bool:
        """Whether a sweep to ``units`` may go now: a token and room in the window at every unit."""
        now = self.monotonic()
        window = self.window()
        # every bucket refilled (and started: a bucket's phase starts with its first use)
        tokens = {u: self._bucket(partition, u, now).tokens for u in units}
        return all(t >= 1.0 and outstanding.get(u, 0) < window for u, t in tokens.items())

    def take(self, partition: int, units: Iterable[str]) -> None:
        now = self.monotonic()
        self.sent_at = now
        for unit in units:
            self._bucket(partition, unit, now).tokens -= 1.0

    def forget(self, partitions: set[int]) -> None:
        """Partitions this worker lost: their buckets go (a worker given them back starts afresh)."""
        for key in [k for k in self.buckets if k[0] in partitions]:
            del self.buckets[key]
