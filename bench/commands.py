"""``python -m bench``: run the measurements, print the table (or JSON)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.stats import Figure, median, render_table, to_json
from hub.cli import program_parser, run
from hub.console import echo
from hub.settings import HubSettings

if TYPE_CHECKING:
    from bench.roundtrip import HubUnderTest

NAMES = ("codec", "baselines", "roundtrip", "latency", "replay", "memory", "bootstrap")
#: measured only when named in --only (they start more JVMs than the default run)
OPT_IN = ("cluster", "sweep")
MB = 1024 * 1024
MILLION = 1_000_000
DEFAULT_OUTSTANDING = 100_000  # 1M rows take minutes to restore: pass --outstanding 1000000 for the target


def _say(text: str) -> None:
    echo(f"[bench] {text}", err=True)


class Bench:
    def __init__(self, args: argparse.Namespace, settings: HubSettings) -> None:
        self.args = args
        self.only = set(args.only or NAMES)
        from bench.env import BenchEnv

        self.env = BenchEnv(settings, args.bootstrap, keep=args.keep)
        self.figures: dict[str, Figure] = {}
        self.extra: dict[str, Any] = {"notes": []}

    def fig(self, name: str, unit: str, **kw: Any) -> Figure:
        if name not in self.figures:
            self.figures[name] = Figure(name, unit, **kw)
        return self.figures[name]

    def note(self, text: str) -> None:
        self.extra["notes"].append(text)

    async def run(self) -> None:
        a = self.args
        self.extra["parameters"] = {
            "repeat": a.repeat,
            "requests": a.requests,
            "events": a.events,
            "listings": a.listings,
            "outstanding": a.outstanding,
            "latency_seconds": a.latency_seconds,
            "quick": a.quick,
            "only": sorted(self.only),
        }
        self.extra["machine"] = {
            "cpus": os.cpu_count(),
            "load_avg_at_start": os.getloadavg(),
            "python": platform.python_version(),
        }
        if "codec" in self.only:
            self.codec()
        needs_broker = self.only - {"codec"}
        if needs_broker:
            _say(f"broker: {'starting a local one' if self.env.broker else a.bootstrap} (tmp {self.env.tmp})")
            await asyncio.to_thread(self.env.start)
        if "baselines" in self.only or "roundtrip" in self.only:
            await self.baselines()
        if "roundtrip" in self.only or "latency" in self.only:
            await self.roundtrip()
        if "replay" in self.only:
            await self.replay()
        if "memory" in self.only:
            await self.memory()
        if "bootstrap" in self.only:
            await self.bootstrap()
        if "cluster" in self.only:
            await self.cluster()
        if "sweep" in self.only:
            await self.sweep()
        self._judge()

    # --- (6) codec ---------------------------------------------------------------------------------
    def codec(self) -> None:
        from bench import codec_bench
        from hub.codec import default_codec

        msgs = codec_bench.sample_messages(self.env.base)
        codec = default_codec()
        seconds = 0.3 if self.args.quick else 1.5
        ours = self.fig("codec_us_ours", "µs/msg", baseline="apache avro", ratio_up=False, target=">= 10x")
        ref = self.fig("codec_us_avro", "µs/msg")
        for i in range(self.args.repeat):
            ours.runs.append(codec_bench.ours_us(codec, msgs, seconds))
            theirs = codec_bench.reference_us(codec, msgs, seconds)
            ref.runs.append(theirs if theirs is not None else float("nan"))
            _say(f"codec {i + 1}/{self.args.repeat}: ours {ours.runs[-1]:.1f} µs, avro {ref.runs[-1]:.1f} µs")
        ours.baseline_value = ref.value
        ours.note = (
            "encode + decode per message, mean of a QueryRequest and a sealed QueryReply; "
            "ratio = avro time / our time"
        )
        if any(v != v for v in ref.runs):
            ours.note += "; the `avro` package is missing (pip install avro) so there is no reference"

    # --- (1) baselines -----------------------------------------------------------------------------
    async def baselines(self) -> None:
        from bench import baselines
        from bench.load import query_requests

        reqs = query_requests(self.env.base, self.args.requests)
        relay = self.fig("relay_events_per_s", "events/s")
        fwd = self.fig("faust_events_per_s", "events/s", baseline="relay")
        pair = self.fig("forwarder_cpu_ms_per_message_pair", "ms")
        for i in range(self.args.repeat):
            relay.runs.append(await self._retry(baselines.run_baseline, self.env, "relay", reqs))
            fwd.runs.append(await self._retry(baselines.run_baseline, self.env, "faust", reqs, pair.runs))
            _say(
                f"baselines {i + 1}/{self.args.repeat}: relay {relay.runs[-1]:,.0f}, "
                f"faust {fwd.runs[-1]:,.0f} ev/s, {pair.runs[-1]:.3f} CPU ms per message pair"
            )
        fwd.baseline_value = relay.value
        relay.note = (
            f"aiokafka consume -> produce of {len(reqs):,} QueryRequests ({len(reqs[0].value)} B), "
            "4 partitions; events = consumed + produced"
        )
        pair.note = (
            "CPU (user + system, all threads) of the bare faust forwarder per 2 messages forwarded: "
            "the same requests sent once more to it warm, first send -> last one in the sink"
        )

    async def _retry(self, fn: Any, *args: Any) -> float:
        """``fn(*args)`` once more after a timeout (noted), since the machine may be shared."""
        try:
            result: float = await fn(*args)
        except TimeoutError as exc:
            self.note(f"retried after a timeout: {exc}")
            _say(f"timeout ({exc}); retrying once")
            result = await fn(*args)
        return result

    # --- (2)+(3) round trips -----------------------------------------------------------------------
    async def roundtrip(self) -> None:
        from bench.roundtrip import HubUnderTest

        hut = HubUnderTest(self.env)
        _say("starting the hub worker and the simulated icbc")
        await hut.start()
        rt = self.fig("round_trips_per_s", "rt/s", target=">= 2000")
        events = self.fig("hub_events_per_s", "events/s", baseline="faust", target=">= 0.7x faust")
        vs_relay = self.fig("hub_events_per_s_vs_relay", "events/s", baseline="relay")
        per = self.fig("events_per_round_trip", "events")
        cpu = self.fig("hub_cpu_ms_per_round_trip_batched", "ms", baseline="forwarder pair")
        repeats = self.args.repeat if "roundtrip" in self.only else 1
        # a backlog worth about --peak-seconds at the warm-up rate, at most --requests
        count = int(min(self.args.requests, max(300, hut.warm_rate * self.args.peak_seconds)))
        for i in range(repeats):
            peak = await hut.peak(count)
            rt.runs.append(peak.round_trips_per_s)
            events.runs.append(peak.hub_events_per_s)
            vs_relay.runs.append(peak.hub_events_per_s)
            per.runs.append(peak.events_per_round_trip)
            cpu.runs.append(peak.hub_cpu_ms_per_round_trip)
            if peak.answered < peak.sent:
                self.note(f"peak round {i + 1}: {peak.answered}/{peak.sent} answered")
            _say(
                f"round trips {i + 1}/{repeats}: {peak.round_trips_per_s:,.0f} rt/s, "
                f"{peak.hub_events_per_s:,.0f} hub ev/s ({peak.events_per_round_trip:.1f} per rt), "
                f"hub CPU {peak.hub_cpu_ms_per_round_trip:.2f} ms per rt"
            )
        if "faust_events_per_s" in self.figures:
            events.baseline_value = self.figures["faust_events_per_s"].value
            vs_relay.baseline_value = self.figures["relay_events_per_s"].value
        if "forwarder_cpu_ms_per_message_pair" in self.figures:
            cpu.baseline_value = self.figures["forwarder_cpu_ms_per_message_pair"].value
        rt.note = (
            f"backlog of {count:,} QueryRequests (icbc account holders) per run; "
            "rate over the middle 80% of replies"
        )
        per.note = "records the hub consumes + produces per round trip (incl. audit, changelogs, ticks)"
        cpu.note = (
            "CPU (user + system, all threads) of the hub worker process in the peak round, first request "
            "sent -> last reply, per round trip answered; ratio = this / the forwarder's CPU per message pair"
        )
        if "latency" in self.only:
            await self.latency(hut, rt.value)
        if self.args.profile:
            await self.profile(hut, rt.value)
        if "roundtrip" in self.only:
            await self.two_workers(hut, count, repeats, rt.value)
        await asyncio.to_thread(self.env.forget, hut.bank)
        await asyncio.to_thread(self.env.forget, hut.worker)

    async def two_workers(self, hut: HubUnderTest, count: int, repeats: int, one_worker: float) -> None:
        """The same backlog with a second worker in the group: how throughput grows with workers."""
        _say("adding a second hub worker")
        second = await hut.add_worker()
        two = self.fig("round_trips_per_s_2_workers", "rt/s", baseline="1 worker")
        for i in range(repeats):
            peak = await hut.peak(count)
            two.runs.append(peak.round_trips_per_s)
            _say(f"round trips with 2 workers {i + 1}/{repeats}: {peak.round_trips_per_s:,.0f} rt/s")
        two.baseline_value = one_worker
        two.note = (f"the same backlog, two workers in one consumer group on this {os.cpu_count()}-core machine "
                    "(the broker and the simulated bank share it)")
        await asyncio.to_thread(self.env.forget, second)

    async def latency(self, hut: HubUnderTest, peak: float) -> None:
        """p50/p95/p99 at half the peak (the target's point) and, for reference, at a quarter of it."""
        for label, share in (("", 0.5), ("quarter_", 0.25)):
            rate = max(peak * share, 5.0)
            figs = [
                self.fig(f"latency_{label}p{q}_ms", "ms", target="<= 250" if q == 99 and not label else None)
                for q in (50, 95, 99)
            ]
            cpu = None if label else self.fig("hub_cpu_ms_per_round_trip_open_loop", "ms", baseline="forwarder pair")
            for i in range(self.args.repeat):
                lat = await hut.latency(rate, self.args.latency_seconds)
                for f, v in zip(figs, (lat.p50_ms, lat.p95_ms, lat.p99_ms), strict=True):
                    f.runs.append(v)
                if cpu is not None:
                    cpu.runs.append(lat.hub_cpu_ms_per_round_trip)
                if lat.answered < lat.sent:
                    self.note(f"latency {label or 'half_'}round {i + 1}: {lat.answered}/{lat.sent} answered")
                _say(
                    f"latency {i + 1}/{self.args.repeat} at {rate:,.0f}/s: p50 {lat.p50_ms:.0f} "
                    f"p95 {lat.p95_ms:.0f} p99 {lat.p99_ms:.0f} ms; hub CPU {lat.hub_cpu_ms_per_round_trip:.2f} ms/rt"
                )
            figs[0].note = (
                f"open loop at {rate:,.0f} requests/s ({share:g} x the peak) for {self.args.latency_seconds:.0f}s; "
                "send -> reply arrival at the court"
            )
            if cpu is not None:
                pair = self.figures.get("forwarder_cpu_ms_per_message_pair")
                cpu.baseline_value = pair.value if pair is not None else None
                cpu.note = (
                    f"as hub_cpu_ms_per_round_trip_batched, in the open-loop round at {rate:,.0f} requests/s "
                    "(first request sent -> last reply)"
                )

    async def profile(self, hut: HubUnderTest, peak: float) -> None:
        from bench import profile

        if profile.py_spy() is None:
            self.note(profile.INSTALL_HINT)
            _say(profile.INSTALL_HINT)
            return
        seconds = 8.0 if self.args.quick else 20.0
        count = int(max(peak, 50) * (seconds + 5))
        out = {
            "hub worker": self.env.tmp / "profile-worker.txt",
            "bank simulator": self.env.tmp / "profile-bank.txt",
        }
        _say(f"profiling the hub worker and the bank for {seconds:.0f}s ({count:,} requests)")
        procs = [
            await profile.record(hut.worker.pid or 0, seconds, out["hub worker"]),
            await profile.record(hut.bank.pid or 0, seconds, out["bank simulator"]),
        ]
        reqs = hut.requests(count)
        await hut.round(reqs, timeout_s=seconds + 120)
        for p in procs:
            await p.wait()
        summaries = []
        for name, path in out.items():
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
            summaries.append(profile.summarise(text, name, seconds))
        self.extra.setdefault("profile", []).extend(
            {
                "process": s.process,
                "samples": s.samples,
                "seconds": s.seconds,
                "self": s.self_top,
                "hub_inclusive": s.own_inclusive,
            }
            for s in summaries
        )
        self.extra.setdefault("profile_text", []).extend(line for s in summaries for line in s.lines())

    # --- (4) replay --------------------------------------------------------------------------------
    async def replay(self) -> None:
        from bench.replay_bench import ListReplay

        job = ListReplay(self.env, self.args.events)
        _say(f"generating and writing {self.args.events:,} ListEvents")
        await job.prepare()
        rep = self.fig("replay_events_per_s", "events/s", baseline="raw consume", target=">= 100000")
        raw = self.fig("raw_consume_events_per_s", "events/s")
        for i in range(self.args.repeat):
            raw.runs.append(await job.raw_rate())
            rep.runs.append(await job.replay_rate())
            _say(
                f"replay {i + 1}/{self.args.repeat}: {rep.runs[-1]:,.0f} ev/s, "
                f"raw consume {raw.runs[-1]:,.0f}"
            )
        rep.baseline_value = raw.value
        if self.args.profile:
            await self.profile_replay(job, rep.value)
        rep.note = (
            f"agents.credit.replay.replay of {self.args.events:,} ListEvents into an in-memory ListStore "
            "(decode, apply, digest check, sqlite insert)"
        )

    async def profile_replay(self, job: Any, rate: float) -> None:
        from bench import profile

        if profile.py_spy() is None:
            return
        seconds = float(min(30, max(3, int(self.args.events / max(rate, 1.0)))))
        path = self.env.tmp / "profile-replay.txt"
        proc = await profile.record(os.getpid(), seconds, path)
        await asyncio.sleep(1.0)  # py-spy attaches
        await job.replay_rate()
        await proc.wait()
        summary = profile.summarise(
            path.read_text(encoding="utf-8") if path.is_file() else "", "credit replay", seconds
        )
        self.extra.setdefault("profile", []).append(
            {
                "process": summary.process,
                "samples": summary.samples,
                "seconds": summary.seconds,
                "self": summary.self_top,
                "hub_inclusive": summary.own_inclusive,
            }
        )
        self.extra.setdefault("profile_text", []).extend(summary.lines())

    # --- (5) outstanding requests ------------------------------------------------------------------
    async def memory(self) -> None:
        from bench import memory

        n = self.args.outstanding
        job = memory.Outstanding(self.env, n)
        _say(f"writing {n:,} rows to the requests changelog")
        await job.prepare()
        self.extra["changelog_write_s"] = round(job.write_s, 2)
        table = self.fig("rss_worker_mb", "MB", baseline="idle worker", target="<= 1024 (1M rows)")
        plain = self.fig("rss_plain_dict_mb", "MB", baseline="idle worker")
        restart = self.fig("recovery_restart_s", "s", baseline="empty start", target="<= 30 (1M rows)")
        cold = self.fig("recovery_cold_s", "s", baseline="empty start")
        restart_rss = self.fig("rss_worker_restarted_mb", "MB", baseline="idle worker", target="<= 1024 (1M rows)")
        idle_rss, idle_s = [], []
        for i in range(self.args.repeat):
            empty = await job.empty()
            idle_rss.append(empty.rss / MB)
            idle_s.append(empty.seconds)
            first, again = await job.restore()
            for name, rec in (("cold", first), ("restart", again)):
                if not rec.sample_found:
                    self.note(f"recovery round {i + 1} ({name}): the last row was not found after /ready")
            table.runs.append(first.rss / MB)
            cold.runs.append(first.seconds)
            restart.runs.append(again.seconds)
            restart_rss.runs.append(again.rss / MB)
            probe = await memory.plain_dict(self.env, n)
            plain.runs.append((probe["rss_full"] - probe["rss_base"]) / MB)
            _say(
                f"outstanding {i + 1}/{self.args.repeat}: "
                f"cold rebuild {first.seconds:.1f}s -> {first.rss / MB:,.0f} MB, "
                f"restart {again.seconds:.1f}s -> {again.rss / MB:,.0f} MB "
                f"(empty {empty.rss / MB:,.0f} MB, {empty.seconds:.1f}s); dict {plain.runs[-1]:,.0f} MB"
            )
        idle_mb = median(idle_rss)
        for f in (table, restart_rss):
            f.baseline_value = idle_mb
        plain.baseline_value = idle_mb
        restart.baseline_value = cold.baseline_value = median(idle_s)
        restart.ratio_up = cold.ratio_up = True
        scale = MILLION / n
        table.note = (
            f"RSS of a hub worker holding {n:,} outstanding requests (store {self.env.base.large_table_store}) "
            f"after a cold rebuild (idle worker {idle_mb:,.0f} MB); "
            f"~{(table.value - idle_mb) * scale:,.0f} MB above idle per 1M rows if linear"
        )
        plain.note = (
            f"for comparison: RSS growth of a plain dict of {n:,} lifecycle records as faust's memory store "
            f"holds them; ~{plain.value * scale:,.0f} MB per 1M rows"
        )
        restart.note = (
            f"stop + start of the same worker on its data dir, spawn -> /ready, {n:,} rows "
            f"(an empty worker needs {median(idle_s):.1f}s); ratio = restart / empty start"
        )
        cold.note = (
            f"a new worker (empty data dir) rebuilding {n:,} rows from the changelog, spawn -> /ready; "
            f"~{cold.value - median(idle_s):.1f}s of restore = {n / max(cold.value - median(idle_s), 0.1):,.0f} rows/s"
        )
        self.extra["outstanding_per_million"] = {
            "worker_mb_above_idle": round((table.value - idle_mb) * scale, 1),
            "plain_dict_mb": round(plain.value * scale, 1),
        }

    # --- (7) a replicated cluster (opt-in) ----------------------------------------------------------
    async def cluster(self) -> None:
        from bench.cluster import NODES, ClusterBench

        job = ClusterBench(self.env)
        try:
            _say(f"starting a {NODES}-node cluster and a hub on it and on the one-node broker")
            one, three = await job.start()
            one_fig = self.fig("round_trips_per_s_1_node", "rt/s")
            three_fig = self.fig("round_trips_per_s_3_nodes", "rt/s", baseline="1 node")
            failover = self.fig("failover_first_answer_s", "s")
            count = int(min(self.args.requests, max(300, one.warm_rate * self.args.peak_seconds)))
            for i in range(self.args.repeat):
                one_fig.runs.append((await one.peak(count)).round_trips_per_s)
                three_fig.runs.append((await three.peak(count)).round_trips_per_s)
                _say(f"cluster {i + 1}/{self.args.repeat}: {one_fig.runs[-1]:,.0f} rt/s on 1 node, "
                     f"{three_fig.runs[-1]:,.0f} rt/s on {NODES} nodes")
            for i in range(self.args.repeat):
                failover.runs.append(await job.failover(three))
                _say(f"failover {i + 1}/{self.args.repeat}: first answer {failover.runs[-1]:.1f} s after the kill")
            three_fig.baseline_value = one_fig.value
            three_fig.note = (f"the same backlog of {count:,} QueryRequests on {NODES} nodes (replication factor "
                              f"{NODES}, min.insync.replicas 2, acks=all) vs 1 node (factor 1), alternately")
            failover.note = ("SIGKILL the node leading most court.requests partitions, then requests on those "
                             "partitions: kill -> first reply (broker.session.timeout.ms 9 s fences the node)")
        finally:
            await asyncio.to_thread(job.close)

    # --- (8) list bootstrap from the compacted current list ---------------------------------------------
    async def bootstrap(self) -> None:
        from bench.bootstrap_bench import ListBootstrap

        job = ListBootstrap(self.env, self.args.listings)
        _say(f"generating and writing a history of {self.args.listings:,} listings and its current list")
        await job.prepare()
        made = job.made
        if made is None:
            raise RuntimeError("the list bootstrap's history was not made")
        boot = self.fig("bootstrap_s", "s", baseline="full replay", ratio_up=False)
        full = self.fig("bootstrap_replay_s", "s")
        last = None
        for i in range(self.args.repeat):
            last = await job.bootstrap_once()
            boot.runs.append(last.seconds)
            full.runs.append((await job.replay_once()).seconds)
            _say(f"bootstrap {i + 1}/{self.args.repeat}: verified copy in {boot.runs[-1]:.1f}s "
                 f"(current list {last.snapshot_seconds:.1f}s, window {last.window}), "
                 f"full replay {full.runs[-1]:.1f}s")
        boot.baseline_value = full.value
        if last is not None:
            boot.note = (
                f"{made.listings:,} listings: read credit.list.current ({job.current_records:,} records: one per "
                f"listing + the uncleaned last 1 %), hash each entry, check the digest of publication "
                f"{last.base.publication_id} ({last.window} applied from the history), store; "
                f"ratio = full replay / bootstrap"
            )
        full.note = (f"agents.credit.replay.replay of the same {made.publications:,} publications "
                     f"({made.publications / full.value:,.0f} events/s)")
        self.extra["bootstrap"] = {"listings": made.listings, "publications": made.publications,
                                   "current_records": job.current_records, "prepare_s": round(job.prepare_s, 1)}

    # --- (9) a terminated-case sweep beside live traffic (opt-in) -----------------------------------------
    async def sweep(self) -> None:
        from bench.sweep_bench import SweepBench

        a = self.args
        job = SweepBench(self.env, cases=a.sweep_cases, ceiling=a.sweep_ceiling, live_rate=a.sweep_live_rate,
                         seconds=a.sweep_seconds)
        try:
            _say(f"starting a hub worker and the {len(job.units)} simulated banks of the intensive set")
            job.phases.append(("the start and warm-up", time.time()))
            await job.start()
            lane = self.fig("sweep_requests_per_s", "req/s", baseline="ceilings' sum")
            p50 = self.fig("sweep_live_p50_ms", "ms", baseline="no sweep")
            p99 = self.fig("sweep_live_p99_ms", "ms", baseline="no sweep")
            free50 = self.fig("sweep_live_no_sweep_p50_ms", "ms")
            free99 = self.fig("sweep_live_no_sweep_p99_ms", "ms")
            reg_fig = self.fig("sweep_registrations_per_s", "cases/s")
            rss = self.fig("sweep_worker_rss_mb", "MB", baseline="before registering")
            per_unit = self.fig("sweep_hub_cpu_ms_per_request", "ms", baseline="live round trip")
            live_cpu = self.fig("sweep_hub_cpu_ms_per_live_round_trip", "ms")
            without, with_sweep, loads = [], [], []
            for i in range(a.repeat):
                job.phases.append((f"live window {i + 1} without the sweep", time.time()))
                w = await job.live()
                without.append(w)
                loads.append(os.getloadavg()[0])
                free50.runs.append(w.p50_ms)
                free99.runs.append(w.p99_ms)
                live_cpu.runs.append(w.worker_cpu_s * 1000 / max(w.answered, 1))
                _say(f"live {i + 1}/{a.repeat} without the sweep at {w.rate:,.0f}/s: p50 {w.p50_ms:.0f} "
                     f"p99 {w.p99_ms:.0f} ms ({w.answered}/{w.sent} answered); hub input wait p50 "
                     f"{w.wait_p50_ms:.0f} p99 {w.wait_p99_ms:.0f} ms; cores: {w.cores()}")
            _say(f"registering {job.cases:,} terminated cases (due today)")
            job.phases.append(("the registrations", time.time()))
            reg = await job.register()
            reg_fig.runs.append(reg.per_s)
            rss.runs.append(reg.rss_after_mb)
            rss.baseline_value = reg.rss_before_mb
            _say(f"registered: written in {reg.send_s:.1f}s, consumed by the hub in {reg.consumed_s:.1f}s "
                 f"({reg.per_s:,.0f}/s{'' if reg.drained else ', NOT drained'}); worker RSS "
                 f"{reg.rss_before_mb:.0f} -> {reg.rss_after_mb:.0f} MB")
            if not reg.drained:
                self.note(f"sweep: the hub had not consumed every registration after {reg.consumed_s:.0f}s")
            job.phases.append(("the sweep alone", time.time()))
            alone = await job.sweep_only()  # also the time the registrations' backlog takes to be worked off
            lag = await job.input_lag()
            per_unit.runs.append(alone.worker_cpu_ms_per_sweep_request)
            _say(f"the sweep alone: {alone.sweep_per_s:,.1f} req/s, hub CPU {per_unit.runs[-1]:.2f} ms per sweep "
                 f"request ({alone.worker_core_share:.0%} of a core), then its input lag {lag:,} records; hub "
                 f"input wait p50 {alone.wait_p50_ms:.0f} p99 {alone.wait_p99_ms:.0f} ms; pace {alone.pace:.2f}")
            for i in range(a.repeat):
                job.phases.append((f"live window {i + 1} with the sweep", time.time()))
                w = await job.live()
                with_sweep.append(w)
                loads.append(os.getloadavg()[0])
                lane.runs.append(w.sweep_per_s)
                p50.runs.append(w.p50_ms)
                p99.runs.append(w.p99_ms)
                _say(f"live {i + 1}/{a.repeat} with the sweep: p50 {w.p50_ms:.0f} p99 {w.p99_ms:.0f} ms "
                     f"({w.answered}/{w.sent}); sweep lanes {w.sweep_per_s:,.1f} req/s; hub input wait p50 "
                     f"{w.wait_p50_ms:.0f} p99 {w.wait_p99_ms:.0f} ms; pace {w.pace:.2f}; cores: {w.cores()}")
            for w in (*without, *with_sweep):
                if w.answered < w.sent:
                    self.note(f"sweep: a live window had {w.answered}/{w.sent} answered")
            lane.baseline_value = job.ceiling_sum
            p50.baseline_value, p99.baseline_value = free50.value, free99.value
            per_unit.baseline_value = live_cpu.value
            units = len(job.units)
            hours = job.cases * units / lane.value / 3600 if lane.value > 0 else float("nan")
            lane.note = (
                f"{job.cases:,} terminated cases registered at once, each swept through its {units} units at "
                f"{job.ceiling:g} req/s per agency (ceilings' sum {job.ceiling_sum:,.0f}/s); unit queries put on "
                f"the agencies' sweep lanes per second over a {a.sweep_seconds:.0f}s live window, begun "
                f"{a.sweep_seconds:.0f}s of the sweep alone after the registrations were consumed (the whole sweep at "
                f"this rate: {hours:,.1f} h, so a window, not its end)"
            )
            cpu_free = median([w.worker_core_share for w in without])
            cpu_sweep = median([w.worker_core_share for w in with_sweep])
            p50.note = (
                f"live QueryRequests to icbc open loop at {a.sweep_live_rate:,.0f}/s for {a.sweep_seconds:.0f}s "
                f"during the sweep vs the same load before it (ratio = with / without); the hub's share (its input "
                f"wait p50 / p99, /metrics) {median([w.wait_p50_ms for w in without]):.0f} / "
                f"{median([w.wait_p99_ms for w in without]):.0f} ms without, "
                f"{median([w.wait_p50_ms for w in with_sweep]):.0f} / {median([w.wait_p99_ms for w in with_sweep]):.0f}"
                f" ms with (sweep pace at the windows' ends: {' '.join(f'{w.pace:.2f}' for w in with_sweep)}); "
                f"hub worker CPU "
                f"{cpu_free:.0%} of a core without, {cpu_sweep:.0%} with; machine load average (1 min) at the end "
                f"of each window: {' '.join(f'{x:.1f}' for x in loads)} ({os.cpu_count()} cores)"
            )
            reg_fig.note = (f"{job.cases:,} TerminatedCaseRegistered written at once ({reg.send_s:.1f}s), consumed "
                            "and committed by the hub (the sweeps starting meanwhile)")
            rss.note = (f"the hub worker after registering {job.cases:,} cases (the terminated_cases table "
                        "holds every case, in RocksDB)")
            per_unit.note = (f"CPU of the hub worker (user + system, all threads) over {a.sweep_seconds:.0f}s of the "
                             f"sweep alone, per unit query put on a lane (its reply and merge, and the worker's "
                             f"background work, included); hub input "
                             f"lag at its end {lag:,} records; ratio = this / CPU per live round trip without the "
                             "sweep (sweep_hub_cpu_ms_per_live_round_trip)")
            opened = await job.anomalies_opened()
            missing = self.fig("sweep_heartbeat_missing_anomalies", "anomalies")
            missing.runs.append(float(opened.get("HEARTBEAT_MISSING", 0)))
            missing.note = ("HEARTBEAT_MISSING anomalies the hub opened over the whole run (every agency was alive "
                            f"throughout: each is a false one); all anomalies by kind: {dict(opened) or 'none'}")
            when = [(what, at) for what, at in job.phases]
            for at, kind, agency in sorted(job.anomaly_log):
                phase = next((w for w, t in reversed(when) if t <= at), "the start")
                _say(f"  anomaly {kind} {agency} at {at - when[0][1]:+.1f}s, during {phase}")
            gaps = await job.heartbeat_gaps()
            late = sorted(code for code, gap in gaps.items() if gap > 15.0)
            missing.note += (f"; the longest gap between two heartbeats of a unit (broker time) was "
                             f"{max(gaps.values(), default=0):.1f} s, and {len(late)} of the {len(gaps)} units went "
                             "more than 3 intervals (15 s) without one at least once: their anomalies were true")
            _say(f"anomalies opened over the run: {dict(opened) or 'none'}; units with a heartbeat gap > 15 s: "
                 f"{len(late)}/{len(gaps)} (longest {max(gaps.values(), default=0):.1f} s)")
        finally:
            await asyncio.to_thread(job.close)

    # --- targets -----------------------------------------------------------------------------------
    def _judge(self) -> None:
        f = self.figures
        full = self.args.outstanding >= MILLION

        def check(name: str, ok: Any) -> None:
            if name in f and f[name].runs:
                f[name].met = bool(ok(f[name]))

        check("round_trips_per_s", lambda x: x.value >= 2000)
        check("hub_events_per_s", lambda x: x.ratio is not None and x.ratio >= 0.7)
        check("latency_p99_ms", lambda x: x.value <= 250)
        check("replay_events_per_s", lambda x: x.value >= 100_000)
        check("codec_us_ours", lambda x: x.ratio is not None and x.ratio >= 10)
        if full:
            check("rss_worker_mb", lambda x: x.value <= 1024)
            check("rss_worker_restarted_mb", lambda x: x.value <= 1024)
            check("recovery_restart_s", lambda x: x.value <= 30)

    def report(self) -> str:
        figures = list(self.figures.values())
        if self.args.json:
            return to_json(figures, self.extra)
        lines = [render_table(figures)]
        if self.extra["notes"]:
            lines += ["", *self.extra["notes"]]
        if "profile_text" in self.extra:
            lines += ["", "profile:", *self.extra["profile_text"]]
        return "\n".join(lines)


def _bench(args: argparse.Namespace, settings: HubSettings) -> int:
    if not args.verbose:
        for name in ("aiokafka", "kafka"):
            logging.getLogger(name).setLevel(logging.ERROR)
    if args.quick:
        args.requests = args.requests or 1500
        args.events = args.events or 5_000
        args.listings = args.listings or 2_000
        args.sweep_cases = args.sweep_cases or 2_000
        args.sweep_seconds = args.sweep_seconds or 10.0
        args.outstanding = args.outstanding or 10_000
        args.latency_seconds = args.latency_seconds or 4.0
        args.peak_seconds = args.peak_seconds or 5.0
        args.repeat = args.repeat or 1
    args.requests = args.requests or 10_000
    args.events = args.events or 100_000
    args.listings = args.listings or 100_000
    args.sweep_cases = args.sweep_cases or 100_000
    args.sweep_seconds = args.sweep_seconds or 60.0
    args.outstanding = args.outstanding or DEFAULT_OUTSTANDING
    args.latency_seconds = args.latency_seconds or 20.0
    args.peak_seconds = args.peak_seconds or 20.0
    args.repeat = args.repeat or 3
    bench = Bench(args, settings)
    try:
        asyncio.run(bench.run())
    except (RuntimeError, TimeoutError, OSError) as exc:
        echo(
            f"bench failed: {type(exc).__name__}: {exc} (logs under {bench.env.tmp}/logs with --keep)",
            err=True,
        )
        return 1
    finally:
        bench.env.close()
    echo(bench.report())
    if args.output:
        Path(args.output).write_text(to_json(list(bench.figures.values()), bench.extra), encoding="utf-8")
    return 0


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES + OPT_IN]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(NAMES + OPT_IN)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    import bench

    p = program_parser("python -m bench", bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small N for a smoke run (< 2 minutes)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument(
        "--only", type=_names, action="extend",
        help=f"comma-separated subset of: {', '.join(NAMES)}; opt-in (only when named): {', '.join(OPT_IN)}"
    )
    p.add_argument("--repeat", type=int, default=0, help="repeats of each measurement, medians reported (3)")
    p.add_argument("--bootstrap", help="use this broker instead of starting a local one")
    p.add_argument(
        "--requests", type=int, default=0, help="most requests per peak run, and the baselines' (10000)"
    )
    p.add_argument("--peak-seconds", type=float, default=0.0, help="aimed length of each peak run (20)")
    p.add_argument("--events", type=int, default=0, help="ListEvents replayed (100000)")
    p.add_argument("--sweep-cases", type=int, default=0,
                   help="terminated cases registered for the sweep benchmark (100000)")
    p.add_argument("--sweep-seconds", type=float, default=0.0,
                   help="length of each live window of the sweep benchmark, with and without the sweep (60)")
    p.add_argument("--sweep-live-rate", type=float, default=100.0,
                   help="live QueryRequests a second beside the sweep (100)")
    p.add_argument("--sweep-ceiling", type=float, default=3.0,
                   help="sweep requests a second each agency accepts in the sweep benchmark (3)")
    p.add_argument("--listings", type=int, default=0,
                   help="listings in force for the list bootstrap (100000; 1000000 is the target's size)")
    p.add_argument("--outstanding", type=int, default=0, help="outstanding request rows (100000)")
    p.add_argument("--latency-seconds", type=float, default=0.0, help="length of each latency run (20)")
    p.add_argument("--profile", action="store_true", help="profile the hub worker and the bank with py-spy")
    p.add_argument("--output", help="also write the JSON report to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, profiles)")
    p.set_defaults(func=_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench [...]``: parsing, logging and exit codes as every command of the hub (:func:`hub.cli.run`)."""
    return run(build_parser(), argv)
