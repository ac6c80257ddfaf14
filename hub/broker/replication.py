"""How the cluster holds the hub's topics right now: partition leaders, replicas, in-sync replicas.

Read through an aiokafka admin client (Metadata requests); a cluster that is losing or regaining a broker
answers with stale or missing nodes for a few seconds, so every read is retried until ``timeout_s``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from hub.errors import BrokerNotRunning
from hub.settings import HubSettings
from hub.topic_admin import live_partitions
from topics.render import LivePartition, LiveTopics

RETRY_S = 0.5


async def describe_partitions(settings: HubSettings, prefixes: Iterable[str], *,
                              timeout_s: float = 30.0) -> dict[str, tuple[LivePartition, ...]]:
    """Every topic whose name starts with one of ``prefixes``, with its partitions' leaders and replicas."""
    wanted = tuple(prefixes)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(request_timeout_ms=5_000, **settings.kafka_client_kwargs())
        try:
            await asyncio.wait_for(admin.start(), 10.0)
            names = [t for t in await admin.list_topics() if t.startswith(wanted)]
            described = await admin.describe_topics(names) if names else []
            if all(t["error_code"] == 0 for t in described):
                return {t["topic"]: live_partitions(t) for t in described}
        except (KafkaError, OSError, TimeoutError) as exc:
            if loop.time() > deadline:
                raise BrokerNotRunning(f"cannot describe the topics at {settings.bootstrap_servers}: {exc!r}") from exc
        finally:
            await admin.close()
        if loop.time() > deadline:
            raise BrokerNotRunning(f"the topics at {settings.bootstrap_servers} stay undescribable")
        await asyncio.sleep(RETRY_S)


def leaders_by_node(live: LiveTopics) -> Counter[int]:
    """How many partitions each node leads (-1: partitions without a leader)."""
    return Counter(p.leader for parts in live.values() for p in parts)


def under_replicated(live: LiveTopics) -> list[tuple[str, int]]:
    """(topic, partition) of every partition with fewer in-sync replicas than replicas."""
    return [(topic, p.partition) for topic, parts in live.items() for p in parts if len(p.isr) < len(p.replicas)]


def led_by(live: LiveTopics, node_id: int) -> dict[str, set[int]]:
    """The partitions ``node_id`` leads, by topic."""
    out: dict[str, set[int]] = {}
    for topic, parts in live.items():
        for p in parts:
            if p.leader == node_id:
                out.setdefault(topic, set()).add(p.partition)
    return out


async def wait_until(settings: HubSettings, prefixes: Iterable[str], check: Literal["in_sync", "excluded"], *,
                     node_id: int = -1, timeout_s: float = 120.0) -> LiveTopics:
    """Poll until ``check`` holds for the topics under ``prefixes``: ``"in_sync"`` (every partition has a
    leader and all its replicas in sync), ``"excluded"`` (``node_id`` is in no partition's in-sync replicas —
    the controller has fenced it — and every partition has a leader).  Returns the last description;
    TimeoutError when ``timeout_s`` passes first."""
    wanted = tuple(prefixes)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        live = await describe_partitions(settings, wanted, timeout_s=max(deadline - loop.time(), 1.0))
        leaders = leaders_by_node(live)
        if check == "in_sync":
            done = not under_replicated(live) and leaders[-1] == 0
        else:
            done = leaders[-1] == 0 and not any(node_id in p.isr for parts in live.values() for p in parts)
        if done:
            return live
        if loop.time() > deadline:
            raise TimeoutError(f"{check} not reached in {timeout_s:.0f} s: leaders {dict(leaders)}, "
                               f"{len(under_replicated(live))} under-replicated partitions")
        await asyncio.sleep(RETRY_S)
