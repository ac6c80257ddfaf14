"""Create or align the catalog's topics on a running broker, idempotently."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from hub.errors import TopicApplyError
from hub.settings import HubSettings
from topics.catalog import Catalog, TopicSpec


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    partitions_added: list[tuple[str, int, int]] = field(default_factory=list)
    configs_altered: list[tuple[str, dict[str, tuple[str | None, str]]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # differences the hub cannot fix (fewer partitions wanted)

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
        if not self.changed:
            out.append(f"no change: all {len(self.unchanged)} topics already match the catalog")
        else:
            out.append(
                f"{len(self.created)} created, {len(self.partitions_added)} repartitioned, "
                f"{len(self.configs_altered)} reconfigured, {len(self.unchanged)} unchanged"
            )
        return out


def _check_errors(response: object, what: str) -> None:
    obj = response.to_object()  # type: ignore[attr-defined]
    for entry in obj.get("topic_errors", obj.get("topic_error_codes", [])):
        code = entry.get("error_code", 0)
        if code:
            raise TopicApplyError(f"{what} {entry.get('topic')}: error code {code} {entry.get('error_message')}")


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


async def apply_catalog(catalog: Catalog, settings: HubSettings, *, timeout_s: float = 30.0) -> ApplyReport:
    """Bring the broker's topics in line with the catalog; a second run changes nothing."""
    admin = AIOKafkaAdminClient(request_timeout_ms=int(timeout_s * 1000), **settings.kafka_client_kwargs())
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except (KafkaError, TimeoutError, OSError) as exc:
        raise TopicApplyError(f"cannot reach the broker at {settings.bootstrap_servers}: {exc!r}") from exc
    try:
        report = await _apply(admin, catalog, settings)
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


async def _apply(admin: AIOKafkaAdminClient, catalog: Catalog, settings: HubSettings) -> ApplyReport:
    report = ApplyReport()
    wanted: dict[str, TopicSpec] = {settings.topic(s.name): s for s in catalog}
    existing = {t["topic"]: t for t in await admin.describe_topics(list(wanted)) if t["error_code"] == 0}

    missing = [n for n in wanted if n not in existing]
    if missing:
        new = [
            NewTopic(n, wanted[n].partitions, 1, topic_configs=wanted[n].configs()) for n in missing
        ]
        _check_errors(await admin.create_topics(new), "create")
        report.created.extend(missing)

    present = [n for n in wanted if n in existing]
    grow: dict[str, NewPartitions] = {}
    for name in present:
        have, want = len(existing[name]["partitions"]), wanted[name].partitions
        if have < want:
            grow[name] = NewPartitions(want)
            report.partitions_added.append((name, have, want))
        elif have > want:
            report.drift.append(f"{name} has {have} partitions, catalog wants {want} (cannot shrink)")
    if grow:
        await admin.create_partitions(grow)

    current = await _current_configs(admin, present)
    alter: list[ConfigResource] = []
    for name in present:
        target = wanted[name].configs()
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
