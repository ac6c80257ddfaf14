"""Round trips court -> hub -> simulated bank -> hub -> court on the real broker.

The hub worker and ``interop-agency simulate banks --agency icbc`` run as child processes with a
fresh topic prefix and app id.  Peak: a backlog of requests is written as fast as the producer
takes them and the replies are counted; the rate is taken over the middle 80 % of the replies
(warm-up and drain excluded).  The hub's events (records it consumes plus records it produces,
audit and changelog records included) are counted from the topics' end offsets.  Latency: an
open-loop producer paced at a given rate; each reply's arrival minus its request's send time.
Both also report the hub worker's CPU (user + system, all threads) from the first request sent to
the last reply received, per round trip answered.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass

from agents.process import AgencyProcess
from bench.cpu import CpuMeter, ms_per_unit
from bench.env import BenchEnv, apply_topics, end_offsets, group_lag, wait_until
from bench.load import (
    BANK,
    Replies,
    Request,
    producer,
    query_requests,
    replies_topic,
    requests_topic,
    send_all,
    send_paced,
)
from bench.stats import percentile
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.settings import HubSettings
from support.ports import free_ports
from topics.catalog import DEFAULT_CATALOG, Role, agency_group_id

EXTERNAL_ROLES = (Role.COURT_REQUESTS, Role.AGENCY_OUTBOX)  # written by the court and the agencies
CONSUMED_ROLES = (Role.COURT_REQUESTS, Role.AGENCY_OUTBOX, Role.TICKS)  # read by the hub


@dataclass
class Peak:
    round_trips_per_s: float
    hub_events_per_s: float
    events_per_round_trip: float
    answered: int
    sent: int
    hub_cpu_ms_per_round_trip: float


@dataclass
class Latency:
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    answered: int
    sent: int
    hub_cpu_ms_per_round_trip: float


@dataclass
class Round:
    """One round of requests: (sent, arrived) of each answered request, the worker's CPU meanwhile."""

    pairs: list[tuple[float, float]]
    worker_cpu_s: float  # from the first send to the last reply (NaN if the worker is gone)

    @property
    def answered(self) -> int:
        return len(self.pairs)

    @property
    def cpu_ms_per_round_trip(self) -> float:
        return ms_per_unit(self.worker_cpu_s, self.answered)


def middle_rate(arrivals: list[float]) -> float:
    """Replies per second over the middle 80 % of the arrivals (warm-up and drain left out)."""
    ordered = sorted(arrivals)
    lo, hi = int(len(ordered) * 0.1), int(len(ordered) * 0.9) - 1
    if hi <= lo or ordered[hi] <= ordered[lo]:
        return 0.0
    return (hi - lo) / (ordered[hi] - ordered[lo])


class HubUnderTest:
    """A hub worker plus the simulated icbc, on topics of their own."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.settings: HubSettings = env.fresh("hub")
        self.worker: WorkerProcess = env.worker(self.settings, "hub-worker")
        self.bank: AgencyProcess = env.agency(self.settings, "bank", ["simulate", "banks", "--agency", BANK])
        self._next = 0
        self.warm_rate = 0.0

    async def add_worker(self) -> WorkerProcess:
        """A second worker in the same consumer group (its own data dir and port, the same key registry);
        returns once both own partitions again."""
        other = self.settings.model_copy(update={"data_dir": self.env.tmp / f"second-{self.settings.app_id}",
                                                 "web_port": free_ports(1)[0]})
        shutil.copytree(self.settings.data_dir / "keys", other.data_dir / "keys")
        second = self.env.worker(other, "hub-worker-2")
        await asyncio.to_thread(second.start, 180.0)
        await asyncio.to_thread(self.worker.wait_healthy, 180.0)
        return second

    def requests(self, count: int) -> list[Request]:
        out = query_requests(self.settings, count, self._next)
        self._next += count
        return out

    async def start(self) -> None:
        await apply_topics(self.settings)
        KeyStore(self.settings.data_dir).generate([BANK])
        await asyncio.to_thread(self.worker.start, 180.0)
        self.bank.spawn()
        warm = self.requests(300)
        done = await self.round(warm, timeout_s=180)
        if done.answered < len(warm):
            raise TimeoutError(
                f"only {done.answered}/{len(warm)} warm-up round trips; see {self.env.log('hub-worker')}"
            )
        self.warm_rate = middle_rate([a for _, a in done.pairs])

    async def round(self, reqs: list[Request], timeout_s: float, rate: float | None = None) -> Round:
        """Send ``reqs`` (all at once, or paced at ``rate``) and wait for their replies."""
        keys = {r.key for r in reqs}
        async with Replies(self.settings) as replies:
            prod = await producer(self.settings)
            try:
                collecting = asyncio.create_task(replies.collect_keys(keys, timeout_s, idle_s=60.0))
                topic = requests_topic(self.settings)
                with CpuMeter(self.worker.pid) as cpu:
                    sent = await (send_paced(prod, topic, reqs, rate) if rate else send_all(prod, topic, reqs))
                    await collecting
            finally:
                await prod.stop()
        return Round([(sent[k], replies.arrived[k]) for k in keys if k in replies.arrived], cpu.seconds)

    async def settle(self, timeout_s: float = 300.0) -> bool:
        """Wait until the hub and the bank have committed everything they were sent (a drained backlog)."""
        s = self.settings
        hub_in = [
            s.topic(x.name)
            for r in EXTERNAL_ROLES
            for x in DEFAULT_CATALOG.by_role(r)
            if x.agency in (None, BANK)
        ]
        inbox = [s.topic(x.name) for x in DEFAULT_CATALOG.by_role(Role.AGENCY_INBOX) if x.agency == BANK]

        async def drained() -> bool:
            return (
                await group_lag(s, s.app_id, hub_in) == 0
                and await group_lag(s, agency_group_id(s.app_id, BANK), inbox) == 0
            )

        return await wait_until(drained, timeout_s, 1.0)

    async def hub_events(self) -> int:
        """Records the hub has consumed plus produced so far (from the end offsets of its topics)."""
        offsets = await end_offsets(self.settings, [self.settings.topic_prefix, self.settings.app_id])
        external = {self.settings.topic(s.name) for r in EXTERNAL_ROLES for s in DEFAULT_CATALOG.by_role(r)}
        consumed = {self.settings.topic(s.name) for r in CONSUMED_ROLES for s in DEFAULT_CATALOG.by_role(r)}
        return sum(n for t, n in offsets.items() if t in consumed) + sum(
            n for t, n in offsets.items() if t not in external
        )

    async def peak(self, count: int) -> Peak:
        await self.settle()
        reqs = self.requests(count)
        before = await self.hub_events()
        done = await self.round(reqs, timeout_s=max(120.0, count / 50))
        await asyncio.sleep(1.0)  # the hub's last audit records
        events = await self.hub_events() - before
        rate = middle_rate([a for _, a in done.pairs])
        per_rt = events / max(done.answered, 1)
        return Peak(rate, rate * per_rt, per_rt, done.answered, count, done.cpu_ms_per_round_trip)

    async def latency(self, rate: float, seconds: float) -> Latency:
        await self.settle()
        reqs = self.requests(max(int(rate * seconds), 50))
        done = await self.round(reqs, timeout_s=seconds + 120, rate=rate)
        ms = [(a - s) * 1000 for s, a in done.pairs]
        p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
        return Latency(rate, p50, p95, p99, done.answered, len(reqs), done.cpu_ms_per_round_trip)

    def replies_topic(self) -> str:
        return replies_topic(self.settings)
