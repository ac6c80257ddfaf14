"""A replicated three-node cluster under broker failures: nothing acknowledged is lost, and below two in-sync
replicas a write is refused rather than acknowledged.

A secure three-node KRaft cluster of this module's own (combined broker+controller nodes, a three-voter
quorum; SASL/SCRAM clients, SASL/PLAIN controllers, the catalog's logins and ACLs), every topic on 3 brokers
with ``min.insync.replicas`` 2, one hub worker and three simulated banks.  Under steady court traffic
(freezes and deductions, one every half second): the node leading most partitions is SIGKILLed and later
restarted; the active controller is SIGKILLed and, while it is down, a second node is stopped so that one
replica is left in sync — an ``acks=all`` produce is refused (NotEnoughReplicas) and does not appear in the
topic; the two nodes come back.  Afterwards: every request the court got an acknowledgement for is answered
(the court never resends), every record that was on any topic before the faults is still there at its offset,
every acknowledged request and every reply the court received is on its topic, the bank ledgers reconcile
(no duplicate effect), every audit chain verifies, and the worker ran throughout without a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, NotEnoughReplicasError

from agents.court.adapter import CourtClient
from agents.process import AgencyProcess
from hub.audit_io import verify_deployment_log
from hub.broker.replication import describe_partitions, leaders_by_node, led_by, wait_until
from hub.broker.server import LocalCluster
from hub.codec import AvroMessage, default_codec
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.security.apply import apply_security
from hub.security.users import admin_settings, as_principal
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog, check_topic_errors
from support.ports import free_ports
from tests.acceptance.test_crash_consistency import BANKS, _accounts, _load, _poll, _reconcile, _send
from tests.acceptance.test_two_workers import _partition
from tests.conftest import SettingsFactory, stop_at_exit
from topics.catalog import COURT_GATEWAY, DEFAULT_CATALOG, HUB, Role

SEND_INTERVAL_S = 0.5
Records = dict[tuple[str, int], list[tuple[int, bytes]]]


@dataclass
class Stack:
    hub: HubSettings  # the hub's login
    admin: HubSettings  # the cluster's super user: reads every topic, creates the probe topic
    cluster: LocalCluster
    worker: WorkerProcess
    banks: AgencyProcess

    @property
    def prefixes(self) -> tuple[str, str]:
        """Every topic of this deployment: the catalog's (and the probe) and the worker's credit journal."""
        return self.hub.topic_prefix, self.hub.app_id


@pytest.fixture(scope="module")
def stack(new_cluster_settings: SettingsFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    (web_port,) = free_ports(1)
    settings = new_cluster_settings(app_id=f"cluster-{secrets.token_hex(3)}", web_port=web_port,
                                    security_protocol="SASL_PLAINTEXT")
    cluster = LocalCluster(settings, secure=True)
    for node in cluster.nodes:
        stop_at_exit(node)
    logs = tmp_path_factory.mktemp("cluster")
    children: list[WorkerProcess | AgencyProcess] = []
    try:
        cluster.start()
        admin = admin_settings(settings, cluster.nodes[0].admin_password() or "")
        report = asyncio.run(apply_catalog(settings.catalog, admin))
        assert report.brokers == 3 and len(report.created) == len(settings.catalog)
        apply_security(settings, settings.catalog, broker=cluster.nodes[0])
        hub = as_principal(settings, HUB)
        KeyStore(settings.data_dir).generate(list(BANKS))
        worker = WorkerProcess(hub, logs / "worker.log")
        children.append(worker)
        worker.start(timeout=180)
        args = ["simulate", "banks", *[a for b in BANKS for a in ("--agency", b)], "--heartbeat-interval", "2"]
        banks = AgencyProcess(hub, logs / "banks.log", args)
        children.append(banks)
        banks.spawn()
        yield Stack(hub, admin, cluster, worker, banks)
    finally:
        for child in reversed(children):
            child.stop()
        cluster.stop()


# --- what the cluster holds ----------------------------------------------------------------------------------
async def _records(settings: HubSettings, prefixes: tuple[str, ...]) -> tuple[Records, dict[str, list[bytes]]]:
    """Every record of every topic under ``prefixes`` as (offset, digest of key and value), by partition; and the
    values of the court's topics (requests, replies, notices), by role."""
    live = await describe_partitions(settings, prefixes)
    tps = [TopicPartition(t, p.partition) for t, parts in live.items() for p in parts]
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: Records = {(tp.topic, tp.partition): [] for tp in tps}
        court = {settings.topic(DEFAULT_CATALOG.one(r).name): r.value
                 for r in (Role.COURT_REQUESTS, Role.COURT_REPLIES, Role.COURT_NOTICES)}
        values: dict[str, list[bytes]] = {role: [] for role in court.values()}
        pending = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, recs in batch.items():
                for rec in recs:
                    if rec.offset < ends[tp]:
                        out[(tp.topic, tp.partition)].append(
                            (rec.offset, hashlib.sha256((rec.key or b"") + b"\0" + (rec.value or b"")).digest()))
                        if tp.topic in court:
                            values[court[tp.topic]].append(rec.value or b"")
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        assert not pending, f"could not read {sorted(pending)[:5]} to their end"
        return out, values
    finally:
        await consumer.stop()


async def _probe_topic(stack: Stack) -> str:
    """A topic of the test's own, replicated like the catalog's: the refused writes go there."""
    topic = stack.hub.topic("probe.min-isr")
    admin = AIOKafkaAdminClient(**stack.admin.kafka_client_kwargs())
    await admin.start()
    try:
        created = await admin.create_topics([NewTopic(topic, 1, 3, topic_configs={"min.insync.replicas": "2"})])
        check_topic_errors(created, "create")
    finally:
        await admin.close()
    return topic


async def _produce(stack: Stack, topic: str, value: bytes, *, attempts: int) -> BaseException | None:
    """One ``acks=all`` produce (not idempotent: it gives up after its request timeout instead of retrying for
    ever); None when it was acknowledged, else the last error."""
    producer = AIOKafkaProducer(acks="all", enable_idempotence=False, request_timeout_ms=4000,
                                **stack.admin.kafka_client_kwargs())
    await producer.start()
    error: BaseException | None = None
    try:
        for _ in range(attempts):
            try:
                await producer.send_and_wait(topic, value, key=b"probe")
                return None
            except KafkaError as exc:
                error = exc
                await asyncio.sleep(0.5)
        return error
    finally:
        await producer.stop()


# --- traffic and faults --------------------------------------------------------------------------------------
@dataclass
class Run:
    acked: dict[str, float] = field(default_factory=dict)  # request id -> when the court's send was acknowledged
    waits: list[float] = field(default_factory=list)  # how long each acknowledgement took
    answered: dict[str, float] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    refused: BaseException | None = None
    accepted_again: BaseException | None = None
    one_replica_window: tuple[float, float] = (0.0, 0.0)  # the second node's stop .. its restart
    failover_s: float | None = None  # kill -> first answer to a request sent after it on a partition that moved
    t0: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.t0:5.1f}s {text}")


async def _traffic(court: CourtClient, msgs: list[AvroMessage], run: Run, chaos: asyncio.Future[Any]) -> None:
    """A request every SEND_INTERVAL_S while the faults go on, each send on its own (a send waits while its
    partition has no leader or the cluster refuses it; the others go on)."""

    async def send(msg: AvroMessage) -> None:
        started = time.monotonic()
        await _send(court, msg)
        run.acked[msg.request_id] = time.monotonic()
        run.waits.append(run.acked[msg.request_id] - started)

    sends = []
    for msg in msgs:
        sends.append(asyncio.create_task(send(msg)))
        if chaos.done():
            break
        await asyncio.sleep(SEND_INTERVAL_S)
    await asyncio.gather(*sends)


async def _replies(court: CourtClient, run: Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await _poll(court, 0.5)
        now = time.monotonic()
        for m in court.received:
            run.answered.setdefault(m.request_id, now)


async def _chaos(stack: Stack, run: Run, msgs: list[AvroMessage]) -> tuple[Records, str]:
    cluster, admin, prefixes = stack.cluster, stack.admin, stack.prefixes
    await asyncio.sleep(6)  # steady traffic first
    before, _ = await _records(admin, prefixes)
    probe = await _probe_topic(stack)
    assert await _produce(stack, probe, b"accepted before", attempts=20) is None

    # 1. the node leading most partitions crashes, and comes back
    live = await describe_partitions(admin, prefixes)
    victim, led = leaders_by_node(live).most_common(1)[0]
    requests_topic = stack.hub.topic(DEFAULT_CATALOG.one(Role.COURT_REQUESTS).name)
    moved = led_by(live, victim).get(requests_topic, set())
    killed_at = time.monotonic()
    await asyncio.to_thread(cluster.kill, victim)
    run.note(f"SIGKILL node {victim} (leader of {led} partitions, court.requests {sorted(moved)})")
    await wait_until(admin, prefixes, "excluded", node_id=victim)
    run.note(f"node {victim} fenced: leaders moved, out of every ISR")
    await asyncio.sleep(4)
    await asyncio.to_thread(cluster.node(victim).start)
    await wait_until(admin, prefixes, "in_sync")
    run.note(f"node {victim} restarted and caught up: every partition fully in sync")
    after_kill = [m for m in msgs if run.acked.get(m.request_id, 0) > killed_at and _partition(m) in moved
                  and m.request_id in run.answered]
    if after_kill:
        run.failover_s = min(run.answered[m.request_id] for m in after_kill) - killed_at

    # 2. the active controller crashes; while it is down a second node stops: one replica left in sync
    quorum = await asyncio.to_thread(cluster.describe_quorum)
    controller = quorum.leader_id
    await asyncio.to_thread(cluster.kill, controller)
    run.note(f"SIGKILL node {controller}, the active controller (epoch {quorum.epoch})")
    await wait_until(admin, prefixes, "excluded", node_id=controller)
    quorum = await asyncio.to_thread(cluster.describe_quorum)
    assert quorum.leader_id != controller
    run.note(f"node {quorum.leader_id} leads the quorum; node {controller} out of every ISR")
    second = next(n for n in cluster.nodes if n.node_id not in (controller, quorum.leader_id))
    stopped_at = time.monotonic()
    await asyncio.to_thread(second.stop)
    run.note(f"node {second.node_id} stopped: one node, one in-sync replica")
    run.refused = await _produce(stack, probe, b"refused", attempts=1)
    run.note(f"acks=all produce: {type(run.refused).__name__}")
    await asyncio.sleep(3)
    restarting = time.monotonic()
    run.one_replica_window = (stopped_at + 1.0, restarting)
    await asyncio.to_thread(second.start)
    run.note(f"node {second.node_id} restarted: two in-sync replicas")
    run.accepted_again = await _produce(stack, probe, b"accepted after", attempts=40)
    await asyncio.to_thread(cluster.node(controller).start)
    await wait_until(admin, prefixes, "in_sync")
    run.note(f"node {controller} restarted: every partition fully in sync")
    return before, probe


async def _drive(stack: Stack, per_bank: int,
                 drain_s: float) -> tuple[list[AvroMessage], Run, Records, str, list[AvroMessage]]:
    run = Run()
    async with CourtClient(as_principal(stack.hub, COURT_GATEWAY), "京0105") as court:
        msgs = _load(court, _accounts(stack.hub), per_bank)
        stop = asyncio.Event()
        replies = asyncio.create_task(_replies(court, run, stop))
        chaos = asyncio.create_task(_chaos(stack, run, msgs))
        traffic = asyncio.create_task(_traffic(court, msgs, run, chaos))
        try:
            before, probe = await chaos
            await traffic
            for _ in range(int(drain_s / 0.5)):  # the court never resends: the cluster must not lose anything
                if not set(run.acked) - set(run.answered):
                    break
                await asyncio.sleep(0.5)
        finally:
            stop.set()
            await replies
            traffic.cancel()
        received = court.received
    return [m for m in msgs if m.request_id in run.acked], run, before, probe, received


@pytest.mark.timeout(600)
def test_an_acknowledged_write_survives_broker_crashes_and_below_two_in_sync_replicas_writes_are_refused(
        stack: Stack) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the clients complain while nodes are away
    t0 = time.monotonic()
    worker_pid = stack.worker.pid
    sent, run, before, probe, received = asyncio.run(_drive(stack, per_bank=50, drain_s=120))

    # every acknowledged request answered, without a single resend, by the worker that never restarted
    unanswered = [r for r in run.acked if r not in run.answered]
    assert not unanswered, f"{len(unanswered)} of {len(run.acked)} acknowledged requests never answered"
    assert stack.worker.running() and stack.worker.pid == worker_pid, "the worker recovered on its own"
    status, ready = stack.worker.http("/ready")
    assert status == 200 and ready.get("ready"), ready

    # below two in-sync replicas a write is refused, not acknowledged; with two again it is accepted
    assert isinstance(run.refused, NotEnoughReplicasError), run.refused
    assert run.accepted_again is None, run.accepted_again
    lo, hi = run.one_replica_window
    assert not [r for r, at in run.acked.items() if lo < at < hi], "a court send was acknowledged with one replica"

    # nothing acknowledged is lost from any topic
    after, values = asyncio.run(_records(stack.admin, stack.prefixes))
    shortened = [tp for tp, recs in before.items() if after.get(tp, [])[:len(recs)] != recs]
    assert not shortened, f"records before the faults missing or changed afterwards: {shortened[:5]}"
    codec = default_codec()
    on_requests = {codec.decode(v).request_id for v in values[Role.COURT_REQUESTS.value]}
    assert set(run.acked) <= on_requests, "an acknowledged request is missing from court.requests"
    answers = {codec.decode(v).envelope["message_id"]
               for role in (Role.COURT_REPLIES, Role.COURT_NOTICES) for v in values[role.value]}
    assert {m.envelope["message_id"] for m in received} <= answers, "a reply the court received is gone"
    probe_values = after[(probe, 0)]
    assert len(probe_values) == 2, f"the probe topic holds {len(probe_values)} records, not the 2 accepted"

    # the banks applied each request once; the audit chains verify
    figures = _reconcile(stack.hub, sent, {m.request_id: m for m in received})
    assert figures["duplicates"] == 0
    report = asyncio.run(verify_deployment_log(stack.hub, codec))
    assert report.ok and report.heads, [str(f) for f in report.broken]

    totals: dict[str, int] = {}
    for (topic, _), recs in after.items():
        family = topic.removeprefix(stack.hub.topic_prefix).split(".")[0]
        totals[family] = totals.get(family, 0) + len(recs)
    grown = sum(len(after[tp]) - len(recs) for tp, recs in before.items())
    print(f"\nrequests acknowledged and answered: {len(run.acked)} (acknowledged within "
          f"{statistics.median(run.waits):.2f} s median, {max(run.waits):.1f} s at most); "
          f"records per topic family after: {totals}; "
          f"{sum(len(r) for r in before.values())} records before the faults all kept ({grown} added since); "
          f"failover (kill -> first answer on a moved court.requests leader): "
          f"{f'{run.failover_s:.1f} s' if run.failover_s is not None else '-'}; "
          f"audit: {len(report.chains)} chains, {report.entries} entries, intact; {time.monotonic() - t0:.0f} s\n"
          + "\n".join(run.events))
