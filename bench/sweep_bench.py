"""(9) ``sweep``, opt-in (``--only sweep``): a terminated-case sweep (终本统查) beside live traffic.

One hub worker and the simulated banks of the debtors' intensive set (the 26 financial units a Beijing court's
query reaches: icbc, the live requests' bank, in a process of its own, the other 25 in one more at a lower CPU
priority, :data:`OTHERS_NICENESS`), on topics of their own, the hub on the system
clock with the sweep ceiling ``--sweep-ceiling`` for every agency (``HUB_SWEEP_CEILING_PER_S``).  In one run:

1. live round-trip latency, open loop at ``--sweep-live-rate`` QueryRequests a second to icbc for
   ``--sweep-seconds``, no sweep running (the baseline);
2. ``--sweep-cases`` TerminatedCaseRegistered written to ``court.requests`` as fast as the producer takes them
   (terminated long enough ago to be due at once: every case's first sweep is due today), until the hub has
   consumed them all — the sweeps start meanwhile, as the lane admits them;
3. the sweep alone for ``--sweep-seconds`` (the registrations' backlog worked off meanwhile): the hub worker's
   CPU per sweep unit query, and the hub's input lag at its end;
4. the same live load for the same time while the sweep runs: its latency, and the sweep's unit queries the
   agencies were sent (the end offsets of every ``agency.<code>.sweeps`` topic at the window's start and end).

At the ceilings the whole sweep of N cases takes N × units / ceiling sum (hours for 100,000 cases), so the
sweep is measured over a window of that length, not to its end.  One debtor in :data:`FOUND_EVERY` is an account
holder of the simulated icbc (the sweep finds property); the others hold nothing anywhere (an empty sweep, as
most terminated cases are).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from aiokafka import TopicPartition

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, person
from agents.population import resident_id
from bench.cpu import CpuMeter, ms_per_unit
from bench.env import BenchEnv, end_offsets, group_lag, rss_bytes, wait_until
from bench.load import BANK, COURT, OFFICER, Request, _subjects, producer, requests_topic, send_all
from bench.roundtrip import HubUnderTest
from bench.scrape import quantile_ms, scrape
from bench.stats import percentile
from hub.clock import SystemClock, china_today
from hub.codec import default_codec
from hub.compacted import read_to_end
from hub.flows.bank.rows import unit_set
from hub.seal import KeyStore
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG, Role, outbox_name, sweeps_name

HOUSEHOLD_PLACE = "110105"  # the debtors' household registration: Beijing, as the court's
FOUND_EVERY = 20  # one debtor in 20 holds an account at icbc
NOTICE = document("ASSISTANCE_NOTICE", "终本统查协助查询通知书")
MB = 1024 * 1024


def sweep_units(settings: HubSettings) -> list[str]:
    """The units one sweep of the bench's debtors reaches (the court's and the debtors' place: Beijing)."""
    place = CourtClient(settings, COURT).court.place_code
    return sorted(unit_set(DEFAULT_CATALOG.agencies, HOUSEHOLD_PLACE, place))


def debtor(i: int) -> dict[str, object]:
    """Debtor ``i``: a Beijing resident born 1960-1999 who holds no account at any simulated bank."""
    born = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
    return person(f"终本被执行人{i}", resident_id(HOUSEHOLD_PLACE, born, 500 + (i // 840) % 500))


def registrations(settings: HubSettings, count: int, today: date, start: int = 0) -> list[Request]:
    """``count`` encoded TerminatedCaseRegistered of the court, keyed by case number, each due for its first
    sweep today: terminated ``sweep_interval_days`` + 30 days ago."""
    court = CourtClient(settings, COURT)
    codec = default_codec()
    holders = _subjects()
    terminated = today - timedelta(days=settings.sweep_interval_days + 30)
    filed = date(terminated.year - 1, 3, 1)
    out: list[Request] = []
    for i in range(start, start + count):
        subject = holders[(i // FOUND_EVERY) % len(holders)] if i % FOUND_EVERY == 0 else debtor(i)
        case = court.case(f"（{filed.year}）京0105执{i + 1}号", filed)
        msg = bank_api.terminated_case(court, case=case, subject=subject, officer=OFFICER, assistance_notice=NOTICE,
                                       termination_date=terminated)
        out.append(Request(str(case["case_number"]).encode(), codec.encode_message(msg)))
    return out


def sweep_topics(settings: HubSettings, offsets: dict[str, int]) -> int:
    """Records on the agencies' sweep lanes, of the end offsets of every topic (prefixed names)."""
    lanes = {settings.topic(sweeps_name(a.code)) for a in DEFAULT_CATALOG.agencies if a.is_financial}
    return sum(n for topic, n in offsets.items() if topic in lanes)


WARM_S = 10.0  # live requests at the live rate before the first measured window
#: the 25 other units of the set run at this lower CPU priority: on the network they are 25 other organisations'
#: machines, here they share two cores with the live path (the broker, the hub, icbc, the load generator), whose
#: latency is what the bench measures; icbc answers live and sweep queries at normal priority, as does the broker
OTHERS_NICENESS = 10


@dataclass
class Window:
    """One live window: the latency of the live requests and what the sweep lanes got meanwhile."""

    rate: float
    seconds: float
    sent: int
    answered: int
    p50_ms: float
    p99_ms: float
    sweep_requests: int
    worker_cpu_s: float
    wait_p50_ms: float = math.nan  # the hub's input wait over the window (its /metrics): its share of the latency
    wait_p99_ms: float = math.nan
    pace: float = math.nan  # the sweep pace at the window's end (share of the ceilings the worker used)
    #: every process's CPU over the window, as a share of one core (where a live slowdown's cores went)
    core_shares: dict[str, float] = field(default_factory=dict)

    def cores(self) -> str:
        return ", ".join(f"{name} {share:.0%}" for name, share in self.core_shares.items())

    @property
    def sweep_per_s(self) -> float:
        return self.sweep_requests / self.seconds if self.seconds > 0 else math.nan

    @property
    def worker_cpu_ms_per_sweep_request(self) -> float:
        """The hub worker's CPU per sweep unit query put on a lane (meaningful in a window of the sweep alone)."""
        return ms_per_unit(self.worker_cpu_s, self.sweep_requests)

    @property
    def worker_core_share(self) -> float:
        """The hub worker's CPU over the window, as a share of one core."""
        return self.worker_cpu_s / self.seconds if self.seconds > 0 else math.nan


@dataclass
class Registered:
    cases: int
    send_s: float  # the producer wrote them all
    consumed_s: float  # the hub's consumer group committed them all (the sweep running meanwhile)
    drained: bool
    rss_before_mb: float
    rss_after_mb: float

    @property
    def per_s(self) -> float:
        return self.cases / self.consumed_s if self.consumed_s > 0 else math.nan


class SweepHub(HubUnderTest):
    """:class:`HubUnderTest` with sweep ceilings and the simulated banks of the whole intensive set."""

    def __init__(self, env: BenchEnv, ceiling: float, window: int | None = None) -> None:
        # not HubUnderTest.__init__: other settings, and a bank process for every unit of the set
        self.env = env
        self.settings = env.fresh("sweep", sweep_ceiling_per_s=ceiling,
                                  **({} if window is None else {"sweep_window": window}))
        self.units = sweep_units(self.settings)
        self.worker = env.worker(self.settings, "sweep-worker")
        # the live requests' bank in a process of its own, as every bank's adapter is its own system; the other
        # units of the set share one process (one event loop: a burst of sweep queries there never delays icbc)
        self.bank = env.agency(self.settings, "sweep-bank-icbc", ["simulate", "banks", "--agency", BANK])
        self.others = env.agency(self.settings, "sweep-banks", [
            "simulate", "banks", *(arg for code in self.units if code != BANK for arg in ("--agency", code))])
        self.others.niceness = OTHERS_NICENESS
        self._next = 0
        self.warm_rate = 0.0

    async def start(self) -> None:
        KeyStore(self.settings.data_dir).generate(self.units)
        await super().start()
        self.others.spawn()


class SweepBench:
    """The run: a live window without the sweep, the registrations, live windows with the sweep."""

    def __init__(self, env: BenchEnv, *, cases: int, ceiling: float, live_rate: float, seconds: float,
                 window: int | None = None) -> None:
        self.env = env
        self.cases, self.ceiling, self.live_rate, self.seconds = cases, ceiling, live_rate, seconds
        self.hub = SweepHub(env, ceiling, window)
        #: (detected at, kind, agency) of every anomaly opened, and (what, when) of each phase of the run
        self.anomaly_log: list[tuple[float, str, str]] = []
        self.phases: list[tuple[str, float]] = []

    @property
    def units(self) -> list[str]:
        return self.hub.units

    @property
    def ceiling_sum(self) -> float:
        """Sweep unit queries a second the agencies' ceilings allow in all (every unit is in every sweep)."""
        return self.ceiling * len(self.units)

    async def start(self) -> None:
        """The hub and its banks, then :data:`WARM_S` of live requests at the live rate, not measured: the 25 units'
        process starts last, and its start-up shared the cores with the first seconds of the no-sweep window
        (p99 728 ms over its first 5 s, 180-260 ms after, 2026-11-26)."""
        await self.hub.start()
        hub = self.hub
        await hub.round(hub.requests(int(self.live_rate * WARM_S)), timeout_s=WARM_S + 120, rate=self.live_rate)

    def close(self) -> None:
        self.env.forget(self.hub.bank)
        self.env.forget(self.hub.others)
        self.env.forget(self.hub.worker)

    async def sweep_offsets(self) -> int:
        s = self.hub.settings
        return sweep_topics(s, await end_offsets(s, [s.topic("agency.")]))

    def pids(self) -> dict[str, int | None]:
        """Every process of the run on these cores but the hub worker (metered by the round itself)."""
        broker = self.env.broker.recorded_pid() if self.env.broker is not None else None
        return {"broker": broker, "icbc": self.hub.bank.pid, "other banks": self.hub.others.pid,
                "load generator": os.getpid()}

    async def live(self) -> Window:
        """Live QueryRequests open loop at ``live_rate`` for ``seconds``; the sweep lanes' growth meanwhile."""
        hub = self.hub
        reqs = hub.requests(max(int(self.live_rate * self.seconds), 50))
        first = await scrape(hub.settings)
        before, started = await self.sweep_offsets(), time.monotonic()
        with contextlib.ExitStack() as metering:
            meters = {name: metering.enter_context(CpuMeter(pid)) for name, pid in self.pids().items()}
            done = await hub.round(reqs, timeout_s=self.seconds + 120, rate=self.live_rate)
            after, elapsed = await self.sweep_offsets(), time.monotonic() - started
        last = await scrape(hub.settings)
        waits = last.since(first)
        ms = [(a - s) * 1000 for s, a in done.pairs]
        shares = {"hub worker": done.worker_cpu_s, **{name: m.seconds for name, m in meters.items()}}
        return Window(self.live_rate, elapsed, len(reqs), done.answered, percentile(ms, 50), percentile(ms, 99),
                      after - before, done.worker_cpu_s, quantile_ms(waits, 0.5), quantile_ms(waits, 0.99),
                      last.pace, {name: cpu / elapsed for name, cpu in shares.items()})

    async def sweep_only(self) -> Window:
        """``seconds`` of the sweep alone: what the lanes got and the hub worker's CPU meanwhile."""
        first = await scrape(self.hub.settings)
        before, started = await self.sweep_offsets(), time.monotonic()
        with CpuMeter(self.hub.worker.pid) as cpu:
            await asyncio.sleep(self.seconds)
        after, elapsed = await self.sweep_offsets(), time.monotonic() - started
        last = await scrape(self.hub.settings)
        waits = last.since(first)
        return Window(0.0, elapsed, 0, 0, math.nan, math.nan, after - before, cpu.seconds, quantile_ms(waits, 0.5),
                      quantile_ms(waits, 0.99), last.pace)

    async def input_lag(self) -> int:
        """Records of ``court.requests`` and the agencies' outboxes the hub has not committed yet."""
        s = self.hub.settings
        roles = (Role.COURT_REQUESTS, Role.AGENCY_OUTBOX)
        return await group_lag(s, s.app_id, [s.topic(t.name) for r in roles for t in DEFAULT_CATALOG.by_role(r)])

    async def anomalies_opened(self) -> Counter[str]:
        """Anomalies the hub opened so far, by kind (every AnomalyNotice on ``ops.anomalies`` whose anomaly was not
        seen before): a sweep beside live work should open none."""
        s = self.hub.settings
        topic = s.topic(DEFAULT_CATALOG.one(Role.ANOMALIES).name)
        tps = [TopicPartition(topic, p) for p in range(DEFAULT_CATALOG.one(Role.ANOMALIES).partitions)]
        codec = default_codec()
        seen: dict[str, str] = {}
        async for _, records in read_to_end(s, tps, timeout_s=600.0):
            for rec in records:
                body = codec.decode(rec.value or b"").body
                if str(body["anomaly_id"]) not in seen:
                    self.anomaly_log.append((body["detected_at"].timestamp(), str(body["kind"]), str(body["agency"])))
                seen.setdefault(str(body["anomaly_id"]), str(body["kind"]))
        return Counter(seen.values())

    async def heartbeat_gaps(self) -> dict[str, float]:
        """The longest gap (s, broker append times) between two heartbeats of each unit of the set, read back from
        the outboxes (heartbeats are keyed by the agency's code, replies by case number): a gap above 3 intervals
        is a HEARTBEAT_MISSING the hub is right to open (the simulated banks share one process and the cores)."""
        s = self.hub.settings
        topics = {s.topic(outbox_name(code)): code for code in self.units}
        tps = [TopicPartition(t, p) for t, code in topics.items()
               for p in range(s.catalog.get(outbox_name(code)).partitions)]
        beats: dict[str, list[int]] = {code: [] for code in self.units}
        async for tp, records in read_to_end(s, tps, timeout_s=600.0):
            code = topics[tp.topic]
            beats[code] += [r.timestamp for r in records if r.key == code.encode()]
        gaps: dict[str, float] = {}
        for code, times in beats.items():
            ordered = sorted(times)
            gaps[code] = max((b - a for a, b in itertools.pairwise(ordered)), default=0) / 1000
        return gaps

    async def register(self) -> Registered:
        """Every case written to ``court.requests`` at once; returns when the hub consumed them all."""
        s = self.hub.settings
        today = china_today(SystemClock())
        reqs = await asyncio.to_thread(registrations, s, self.cases, today)
        topic = requests_topic(s)
        rss_before = rss_bytes(self.hub.worker.pid or 0) / MB
        started = time.monotonic()
        prod = await producer(s)
        try:
            await send_all(prod, topic, reqs)
        finally:
            await prod.stop()
        sent_s = time.monotonic() - started
        del reqs

        async def consumed() -> bool:
            return await group_lag(s, s.app_id, [topic]) == 0

        drained = await wait_until(consumed, timeout_s=max(600.0, self.cases / 50), interval_s=1.0)
        consumed_s = time.monotonic() - started
        return Registered(self.cases, sent_s, consumed_s, drained, rss_before,
                          rss_bytes(self.hub.worker.pid or 0) / MB)
