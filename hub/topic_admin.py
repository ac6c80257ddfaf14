"""Create or align the catalog's topics on a running broker or cluster, idempotently.

Topics are created with each spec's partitions, replication factor and configs (``min.insync.replicas``
among them).  An existing topic gets more partitions and the catalog's configs; a replication factor that
differs from the catalog's is reported as drift: aiokafka's admin client has no partition reassignment
(AlterPartitionReassignments), so that takes Kafka's own ``kafka-reassign-partitions`` tool.  A cluster with
fewer live brokers than the replication factor is refused before anything changes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from hub.errors import ConfigError, TopicApplyError
from hub.settings import HubSettings
from topics.catalog import Catalog, TopicSpec
from topics.render import LivePartition

#: CreateTopics error code of a topic that exists already
TOPIC_ALREADY_EXISTS = 36
#: how long ``topics apply`` waits for brokers that are starting to join the cluster's metadata: a node accepts
#: connections before every other node lists it (``broker start`` of three nodes, then at once ``topics apply``,
#: saw 2 of 3 brokers once, 2026-11-26)
BROKERS_SETTLE_S = 15.0


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    partitions_added: list[tuple[str, int, int]] = field(default_factory=list)
    configs_altered: list[tuple[str, dict[str, tuple[str | None, str]]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # differences the hub cannot fix: fewer partitions wanted, another replication factor
    drift: list[str] = field(default_factory=list)
    # differences that are fine as they are: more partitions than the catalog creates a topic with where the
    # count does not matter (a sweep lane made with the hub's count before it became one partition)
    kept: list[str] = field(default_factory=list)
    brokers: int = 0  # live brokers of the cluster

    @property
    def changed(self) -> bool:
        return bool(self.created or self.partitions_added or self.configs_altered)

    def lines(self) -> list[str]:
        out = [f"created {t}" for t in self.created]
        out += [f"partitions {t}: {old} -> {new}" for t, old, new in self.partitions_added]
        for t, diff in self.configs_altered:
            changes = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in sorted(diff.items()))
            out.append(f"configs {t}: {changes}")
        out += [f"DRIFT {d}" for d in self.drift]
        out += [f"kept {k}" for k in self.kept]
        if not self.changed:
            out.append(f"no change: all {len(self.unchanged)} topics already match the catalog")
        else:
            out.append(
                f"{len(self.created)} created, {len(self.partitions_added)} repartitioned, "
                f"{len(self.configs_altered)} reconfigured, {len(self.unchanged)} unchanged"
            )
        return out


def check_topic_errors(response: object, what: str, *, ignore: frozenset[int] = frozenset()) -> None:
    """Raise :class:`TopicApplyError` for the first topic error of a CreateTopics/CreatePartitions response
    (aiokafka returns them, it does not raise them); error codes in ``ignore`` are fine."""
    obj = response.to_object()  # type: ignore[attr-defined]
    for entry in obj.get("topic_errors", obj.get("topic_error_codes", obj.get("results", []))):
        code = entry.get("error_code", 0)
        if code and code not in ignore:
            name = entry.get("topic", entry.get("name"))
            raise TopicApplyError(f"{what} {name}: error code {code} {entry.get('error_message')}")


def replication_shortfall(brokers: int, replication_factor: int) -> ConfigError:
    """The error of a cluster too small for the wanted replication factor, naming the settings to change."""
    return ConfigError(
        f"the cluster has {brokers} live broker{'s' if brokers != 1 else ''} but every topic wants "
        f"{replication_factor} replicas: start the missing brokers (a three-node cluster: see the README, "
        "'A replicated cluster'), or on a single development node set HUB_REPLICATION_FACTOR=1 "
        "HUB_MIN_INSYNC_REPLICAS=1",
        field="replication_factor",
    )


async def _current_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    result: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for res in response.to_object()["resources"]:
            if res["error_code"]:
                raise TopicApplyError(f"describe configs {res['resource_name']}: error {res['error_code']}")
            result[res["resource_name"]] = {
                c["config_names"]: c["config_value"] for c in res["config_entries"]
            }
    return result


async def _admin(settings: HubSettings, timeout_s: float) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(request_timeout_ms=int(timeout_s * 1000), **settings.kafka_client_kwargs())
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except (KafkaError, TimeoutError, OSError) as exc:
        raise TopicApplyError(f"cannot reach the broker at {settings.bootstrap_servers}: {exc!r}") from exc
    return admin


def live_partitions(described: dict[str, Any]) -> tuple[LivePartition, ...]:
    """A described topic's partitions (leader, replicas, in-sync replicas), by partition number."""
    return tuple(sorted((LivePartition(p["partition"], p["leader"], tuple(p["replicas"]), tuple(p["isr"]))
                         for p in described["partitions"]), key=lambda p: p.partition))


async def describe_live(catalog: Catalog, settings: HubSettings, *,
                        timeout_s: float = 30.0) -> dict[str, tuple[LivePartition, ...]]:
    """Every catalog topic that exists on the cluster, with its partitions' leaders, replicas and ISR (asked
    again while a node that is going away still shows in the metadata)."""
    admin = await _admin(settings, timeout_s)
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:
            try:
                described = await admin.describe_topics([settings.topic(s.name) for s in catalog])
                break
            except KafkaError as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise TopicApplyError(f"cannot describe the topics at {settings.bootstrap_servers}: "
                                          f"{exc!r}") from exc
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    return {t["topic"]: live_partitions(t) for t in described if t["error_code"] == 0}


async def apply_catalog(catalog: Catalog, settings: HubSettings, *, timeout_s: float = 30.0) -> ApplyReport:
    """Bring the broker's topics in line with the catalog; a second run changes nothing."""
    admin = await _admin(settings, timeout_s)
    try:
        report = await _apply(admin, catalog, settings, settle_s=BROKERS_SETTLE_S)
        await _warm_up_group_coordinator(admin, settings, timeout_s)
        return report
    finally:
        await admin.close()


async def _warm_up_group_coordinator(admin: AIOKafkaAdminClient, settings: HubSettings, timeout_s: float) -> None:
    """Leave the broker able to coordinate consumer groups (its offsets topic created).

    On a broker no group has used yet, the first consumers retry "GroupCoordinatorNotAvailable" while it
    creates ``__consumer_offsets`` — logged at ERROR by aiokafka, in the worker's log.  That is the
    broker's start-up, so it happens here, once, instead.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await admin.find_coordinator(settings.app_id)
            return
        except KafkaError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.3)


def replica_count(described: dict[str, Any]) -> int:
    """The fewest replicas any partition of a described topic has (its replication factor)."""
    return min((len(p["replicas"]) for p in described["partitions"]), default=0)


async def _live_brokers(admin: AIOKafkaAdminClient, wanted: int, settle_s: float) -> int:
    """How many brokers the cluster lists, waiting up to ``settle_s`` for ``wanted`` of them (nodes starting up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settle_s
    while True:
        brokers = len((await admin.describe_cluster())["brokers"])
        if brokers >= wanted or loop.time() >= deadline:
            return brokers
        await asyncio.sleep(0.5)


async def _apply(admin: AIOKafkaAdminClient, catalog: Catalog, settings: HubSettings,
                 settle_s: float = 0.0) -> ApplyReport:
    report = ApplyReport()
    wanted: dict[str, TopicSpec] = {settings.topic(s.name): s for s in catalog}
    most = max((s.replication_factor for s in wanted.values()), default=1)
    report.brokers = await _live_brokers(admin, most, settle_s)
    if report.brokers < most:  # before anything changes: min.insync.replicas 2 on a one-replica topic blocks it
        raise replication_shortfall(report.brokers, most)
    existing = {t["topic"]: t for t in await admin.describe_topics(list(wanted)) if t["error_code"] == 0}

    missing = [n for n in wanted if n not in existing]
    if missing:
        new = [
            NewTopic(n, wanted[n].partitions, wanted[n].replication_factor, topic_configs=wanted[n].configs())
            for n in missing
        ]
        check_topic_errors(await admin.create_topics(new), "create")
        report.created.extend(missing)

    present = [n for n in wanted if n in existing]
    grow: dict[str, NewPartitions] = {}
    replicas: dict[str, int] = {}
    for name in present:
        have, want = len(existing[name]["partitions"]), wanted[name].partitions
        if have < want:
            grow[name] = NewPartitions(want)
            report.partitions_added.append((name, have, want))
        elif have > want and not wanted[name].co_partitioned:
            report.kept.append(f"{name}: {have} partitions (the catalog creates it with {want}; "
                               "its readers do not depend on the count)")
        elif have > want:
            report.drift.append(f"{name} has {have} partitions, catalog wants {want} (cannot shrink)")
        replicas[name] = replica_count(existing[name])
        if replicas[name] != wanted[name].replication_factor:
            report.drift.append(
                f"{name} has replication factor {replicas[name]}, catalog wants {wanted[name].replication_factor} "
                "(topics apply cannot reassign replicas: use kafka-reassign-partitions)")
    if grow:
        check_topic_errors(await admin.create_partitions(grow), "add partitions to")

    current = await _current_configs(admin, present)
    alter: list[ConfigResource] = []
    for name in present:
        target = wanted[name].configs()
        if int(target["min.insync.replicas"]) > replicas[name]:  # would refuse every write: leave it, it is drift
            target["min.insync.replicas"] = current[name].get("min.insync.replicas", "1")
        diff = {k: (current[name].get(k), v) for k, v in target.items() if current[name].get(k) != v}
        if diff:
            alter.append(ConfigResource(ConfigResourceType.TOPIC, name, configs=target))
            report.configs_altered.append((name, diff))
        elif name not in grow:
            report.unchanged.append(name)
    if alter:
        for response in await admin.alter_configs(alter):
            for res in response.to_object()["resources"]:
                if res["error_code"]:
                    raise TopicApplyError(f"alter configs {res['resource_name']}: error {res['error_code']}")
    return report
