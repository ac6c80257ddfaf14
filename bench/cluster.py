"""(7) ``cluster``, opt-in (``--only cluster``): the hub on a replicated three-node cluster.

The run's own one-node broker (every topic on 1 broker) and a local three-node KRaft cluster
(:class:`hub.broker.server.LocalCluster`, plain listeners, every topic on 3 brokers with
``min.insync.replicas`` 2: a write is acknowledged once two brokers hold it), each with a hub worker and the
simulated icbc on topics of their own.  ``round_trips_per_s_3_nodes``: the round-trip peak of (2) on the
cluster, as a ratio to the same backlog on the one node, measured alternately in the same run;
``failover_first_answer_s``: SIGKILL the node leading most ``court.requests`` partitions, send requests on
exactly those partitions right after, and time the kill -> the first reply to one of them (the controller
fencing the node and electing new leaders, the clients' metadata refresh, the round trip); the node is
restarted and caught up before the next repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from aiokafka.partitioner import DefaultPartitioner

from bench.env import BenchEnv
from bench.load import Replies, Request, producer, requests_topic, send_all
from bench.roundtrip import HubUnderTest
from hub.broker.replication import describe_partitions, wait_until
from hub.broker.server import LocalCluster
from hub.settings import HubSettings
from support.ports import free_ports

NODES = 3
PROBES = 20  # requests sent on the killed leader's partitions


class ClusterBench:
    """A three-node cluster beside the run's one-node broker, and a hub under test on each."""

    def __init__(self, env: BenchEnv) -> None:
        self.one_node = env
        ports = free_ports(2 * NODES)
        settings = env.base.model_copy(update={
            "bootstrap_servers": ",".join(f"127.0.0.1:{p}" for p in ports[:NODES]),
            "controller_ports": ",".join(str(p) for p in ports[NODES:]),
            "data_dir": env.tmp / "cluster",
            "security_protocol": "PLAINTEXT",
            "replication_factor": NODES,
            "min_insync_replicas": 2,
        })
        self.cluster = LocalCluster(settings, secure=False)
        self.three_nodes = BenchEnv(settings, bootstrap=self.cluster.bootstrap, keep=env.keep)
        self.hut1: HubUnderTest | None = None
        self.hut3: HubUnderTest | None = None

    async def start(self) -> tuple[HubUnderTest, HubUnderTest]:
        await asyncio.to_thread(self.cluster.start, 180.0)
        self.hut1, self.hut3 = HubUnderTest(self.one_node), HubUnderTest(self.three_nodes)
        await self.hut1.start()
        await self.hut3.start()
        return self.hut1, self.hut3

    def close(self) -> None:
        for hut in (self.hut1, self.hut3):
            if hut is not None:
                hut.env.forget(hut.bank)
                hut.env.forget(hut.worker)
        self.three_nodes.close()
        self.cluster.stop()

    async def failover(self, hut: HubUnderTest) -> float:
        """Seconds from the SIGKILL of the node leading most ``court.requests`` partitions to the first reply
        to a request sent right after it on one of those partitions."""
        settings = hut.settings
        topic = requests_topic(settings)
        await hut.settle()
        parts = (await describe_partitions(settings, [topic]))[topic]
        node, _ = Counter(p.leader for p in parts).most_common(1)[0]
        moved = [p.partition for p in parts if p.leader == node]
        every = [p.partition for p in parts]
        partition = DefaultPartitioner()
        probes = [r for r in hut.requests(40 * PROBES) if partition(r.key, every, every) in moved][:PROBES]
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # every client logs each refused connection to the killed node
        try:
            first = await self._kill_and_time(settings, node, probes)
        finally:
            quiet.setLevel(level)
        await asyncio.to_thread(self.cluster.node(node).start, 120.0)
        await wait_until(settings, [settings.topic_prefix], "in_sync", timeout_s=180.0)
        return first

    async def _kill_and_time(self, settings: HubSettings, node: int, probes: list[Request]) -> float:
        topic = requests_topic(settings)
        keys = {r.key for r in probes}
        async with Replies(settings) as replies:
            prod = await producer(settings)
            try:
                collecting = asyncio.create_task(replies.collect_keys(keys, timeout_s=180.0))
                killed_at = time.monotonic()  # the clock of replies.arrived
                await asyncio.to_thread(self.cluster.kill, node)
                await send_all(prod, topic, probes)
                await collecting
            finally:
                await prod.stop()
        if not replies.arrived:
            raise TimeoutError(f"no reply on the partitions of killed node {node} within 180 s")
        return min(replies.arrived.values()) - killed_at
