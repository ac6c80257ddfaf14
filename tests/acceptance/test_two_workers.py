"""Two hub workers share the partitions; one is SIGKILLed and restarted several times under load.

A broker of this module's own, two workers in one consumer group (each with its own data dir, the
same key registry) and three simulated banks.  A court sends freezes and deductions while worker B is
killed three times; its partitions move to worker A and back.  Afterwards every request is answered,
none is lost, each bank's ledger reconciles (no duplicated side effect) and every audit chain verifies
against the tree heads both workers signed: a chain that moved was continued exactly, no fork, no gap.
The failover time is measured: from the kill to the first answer to a request on a partition the killed
worker had owned, sent after the kill.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import signal
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiokafka.partitioner import DefaultPartitioner

from agents.court.adapter import CourtClient
from agents.process import AgencyProcess
from hub.audit_io import read_topic, verify_deployment_log
from hub.broker.server import LocalBroker
from hub.codec import AvroMessage, default_codec
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from hub.tree_heads import HUB_KEY
from support.ports import free_ports
from tests.acceptance.test_crash_consistency import BANKS, _accounts, _load, _poll, _reconcile, _send
from tests.conftest import SettingsFactory, stop_at_exit


@dataclass
class Stack:
    settings: HubSettings
    broker: LocalBroker
    a: WorkerProcess
    b: WorkerProcess
    banks: AgencyProcess


@dataclass
class Failover:
    killed_at: float
    partitions: list[int]
    answered_after_s: float | None = None


@dataclass
class Run:
    failovers: list[Failover] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    answers: dict[str, AvroMessage] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(new_broker_settings: SettingsFactory, tmp_path_factory: pytest.TempPathFactory,
          fast_rebalance: None) -> Iterator[Stack]:
    port_a, port_b = free_ports(2)
    settings = new_broker_settings(app_id=f"two-{secrets.token_hex(3)}", web_port=port_a)
    other = settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("worker-b"), "web_port": port_b})
    broker = LocalBroker(settings)
    stop_at_exit(broker)
    logs = tmp_path_factory.mktemp("two-workers")
    broker.start()
    a, b = WorkerProcess(settings, logs / "worker-a.log"), WorkerProcess(other, logs / "worker-b.log")
    args = ["simulate", "banks", *[x for code in BANKS for x in ("--agency", code)], "--heartbeat-interval", "5"]
    # 3 intervals (15 s) exceed the failover (the 10 s session timeout): a takeover is not a missing heartbeat
    banks = AgencyProcess(settings, logs / "banks.log", args)
    try:
        asyncio.run(apply_catalog(settings.catalog, settings))
        KeyStore(settings.data_dir).generate([*BANKS, HUB_KEY])  # one registry, one hub key, for both workers
        shutil.copytree(settings.data_dir / "keys", other.data_dir / "keys")
        a.start(timeout=120)
        b.start(timeout=120)
        banks.spawn()
        yield Stack(settings, broker, a, b, banks)
    finally:
        banks.stop()
        b.stop()
        a.stop()
        broker.stop()


def _partition(msg: AvroMessage, partitions: int = 4) -> int:
    """The hub partition of ``msg``'s case (the stack's settings: the CI size of ``new_broker_settings``)."""
    key = str(msg.body["case"]["case_number"]).encode()
    every = list(range(partitions))
    return int(DefaultPartitioner()(key, every, every))


async def _chaos(stack: Stack, run: Run, kills: int, court: CourtClient, probes: list[AvroMessage]) -> None:
    for _ in range(kills):
        await asyncio.sleep(4)
        status, ready = stack.b.http("/ready")
        owned = list(ready.get("hub_partitions", [])) if status == 200 else []
        assert stack.b.proc is not None
        stack.b.proc.send_signal(signal.SIGKILL)
        run.failovers.append(Failover(time.monotonic(), owned))
        # requests on the killed worker's partitions, sent right after the kill: their answers time the failover
        for probe in [m for m in probes if _partition(m) in owned][:2]:
            probes.remove(probe)
            await _send(court, probe)
            run.sent_at[probe.request_id] = time.monotonic()
        await asyncio.to_thread(stack.b.proc.wait, 30)
        await asyncio.sleep(6)  # A takes everything over (session timeout), then B comes back
        stack.b.spawn()
        await asyncio.to_thread(stack.b.wait_healthy, 120)


def _note_answers(court: CourtClient, run: Run, msgs: list[AvroMessage]) -> None:
    now = time.monotonic()
    for m in court.received:
        run.answered_at.setdefault(m.request_id, now)
        run.answers[m.request_id] = m
    for f in run.failovers:
        if f.answered_after_s is not None:
            continue
        moved = [m for m in msgs if _partition(m) in f.partitions and run.sent_at.get(m.request_id, 0) > f.killed_at
                 and m.request_id in run.answered_at]
        if moved:
            f.answered_after_s = min(run.answered_at[m.request_id] for m in moved) - f.killed_at


async def _drive(stack: Stack, per_bank: int, kills: int, deadline_s: float) -> tuple[list[AvroMessage], Run]:
    run = Run()
    async with CourtClient(stack.settings, "京0105") as court:
        msgs = _load(court, _accounts(stack.settings), per_bank)
        probes = msgs[len(msgs) // 2:]  # kept for the kills; the first half is the background load
        chaos = asyncio.create_task(_chaos(stack, run, kills, court, probes))
        for msg in msgs[:len(msgs) // 2]:
            await _send(court, msg)
            run.sent_at[msg.request_id] = time.monotonic()
            await _poll(court, 0.5)
            _note_answers(court, run, msgs)
        while not chaos.done():
            await _poll(court, 0.5)
            _note_answers(court, run, msgs)
        for msg in list(probes):  # the probes no kill needed
            await _send(court, msg)
            run.sent_at[msg.request_id] = time.monotonic()
        started = last_resend = time.monotonic()
        while time.monotonic() - started < deadline_s:
            await _poll(court)
            _note_answers(court, run, msgs)
            missing = [m for m in msgs if m.request_id not in run.answered_at]
            if not missing and chaos.done():
                break
            if missing and time.monotonic() - last_resend > 12:
                for m in missing:  # the at-least-once contract: no answer yet, the court sends again
                    await _send(court, m)
                last_resend = time.monotonic()
        await chaos
    return msgs, run


def test_two_workers_lose_nothing_duplicate_nothing_and_keep_every_audit_chain_across_kills(stack: Stack) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    t0 = time.monotonic()
    msgs, run = asyncio.run(_drive(stack, per_bank=16, kills=3, deadline_s=240))
    lost = [m.request_id for m in msgs if m.request_id not in run.answered_at]
    assert not lost, f"{len(lost)} requests never answered"
    figures = _reconcile(stack.settings, msgs, run.answers)  # every bank effect exactly once, as with one worker
    assert figures["duplicates"] == 0
    settings = stack.settings
    report = asyncio.run(verify_deployment_log(settings, default_codec()))
    assert report.ok, [str(f) for f in report.broken]
    assert report.heads and report.entries > len(msgs)
    measured = [f.answered_after_s for f in run.failovers if f.answered_after_s is not None]
    print(f"\nrequests: {len(msgs)}; kills of worker B: {len(run.failovers)}; lost: {len(lost)}; "
          f"audit: {len(report.chains)} chains, {report.entries} entries, {len(report.heads)} signed heads, intact; "
          f"failover (kill -> first answer on a moved partition): "
          f"{', '.join(f'{s:.1f} s' for s in measured)}"
          + (f" (median {statistics.median(measured):.1f} s)" if measured else "")
          + f"; {time.monotonic() - t0:.0f} s")
    assert len(run.failovers) == 3 and measured, run.failovers
    notices = asyncio.run(_anomaly_notices(settings))
    told = Counter((n.body["anomaly_id"], n.envelope["recipient"], n.body["state"]) for n in notices)
    assert told and max(told.values()) == 1, [k for k, n in told.items() if n > 1]  # one owner: none doubled
    restarts = {n.body["anomaly_id"] for n in notices if "unclean stop" in n.body["description"]}
    assert len(restarts) == 3  # each of B's unclean restarts reported once, by whichever worker kept the book
    assert not [n.body for n in notices if n.body["kind"] == "HEARTBEAT_MISSING"]  # the banks never stopped


async def _anomaly_notices(settings: HubSettings) -> list[AvroMessage]:
    """Every anomaly notice the hub sent to the courts (the court gateway is told the hub's own faults)."""
    codec = default_codec()
    found = [codec.decode(value) async for _, _, value in read_topic(settings, settings.topic("court.notices"))]
    return [m for m in found if m.schema == "cn.court.interop.ops.AnomalyNotice"]
