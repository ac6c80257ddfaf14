"""`topics apply` and `topics list --live` on a replicated cluster, against an in-memory admin client."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.admin import NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource

from hub.errors import ConfigError, TopicApplyError
from hub.settings import HubSettings
from hub.topic_admin import TOPIC_ALREADY_EXISTS, _apply, check_topic_errors, live_partitions
from topics.agencies import DEFAULT_AGENCIES
from topics.catalog import Role, build_catalog
from topics.render import LivePartition, catalog_json, catalog_table

CATALOG = build_catalog(DEFAULT_AGENCIES[:2], partitions=4, replication_factor=3, min_insync_replicas=2)
SETTINGS = HubSettings(partitions=4, replication_factor=3, min_insync_replicas=2, topic_prefix="p.")


@dataclass
class Response:
    obj: dict[str, Any]

    def to_object(self) -> dict[str, Any]:
        return self.obj


@dataclass
class FakeAdmin:
    """The broker side of the admin calls ``_apply`` makes: topics as (partitions, replicas, configs)."""

    brokers: int
    topics: dict[str, tuple[int, int, dict[str, str]]] = field(default_factory=dict)
    created: list[NewTopic] = field(default_factory=list)
    altered: dict[str, dict[str, str]] = field(default_factory=dict)

    async def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": i, "host": "127.0.0.1", "port": 9092 + i} for i in range(1, self.brokers + 1)]}

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            if name not in self.topics:
                out.append({"topic": name, "error_code": 3, "partitions": []})
                continue
            parts, replicas, _ = self.topics[name]
            out.append({"topic": name, "error_code": 0, "partitions": [
                {"partition": p, "leader": 1 + p % self.brokers, "replicas": list(range(1, replicas + 1)),
                 "isr": list(range(1, replicas + 1))} for p in range(parts)]})
        return out

    async def create_topics(self, new: list[NewTopic]) -> Response:
        self.created += new
        for t in new:
            self.topics[t.name] = (t.num_partitions, t.replication_factor, dict(t.topic_configs))
        return Response({"topic_errors": [{"topic": t.name, "error_code": 0, "error_message": None} for t in new]})

    async def create_partitions(self, grow: dict[str, NewPartitions]) -> Response:
        return Response({"topic_errors": [{"topic": n, "error_code": 0, "error_message": None} for n in grow]})

    async def describe_configs(self, resources: list[ConfigResource]) -> list[Response]:
        return [Response({"resources": [
            {"resource_name": r.name, "error_code": 0, "config_entries": [
                {"config_names": k, "config_value": v} for k, v in self.topics[r.name][2].items()]}
            for r in resources]})]

    async def alter_configs(self, resources: list[ConfigResource]) -> list[Response]:
        for r in resources:
            self.altered[r.name] = dict(r.configs)
        return [Response({"resources": [{"resource_name": r.name, "error_code": 0} for r in resources]})]


async def test_topics_are_created_with_each_specs_replication_factor_and_min_insync_replicas() -> None:
    admin = FakeAdmin(brokers=3)
    report = await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    assert report.brokers == 3 and len(report.created) == len(CATALOG)
    assert {t.replication_factor for t in admin.created} == {3}
    assert {t.topic_configs["min.insync.replicas"] for t in admin.created} == {"2"}
    again = await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    assert not again.changed and not again.drift and len(again.unchanged) == len(CATALOG)


async def test_fewer_brokers_than_the_replication_factor_fails_before_anything_changes_naming_the_setting() -> None:
    admin = FakeAdmin(brokers=1)
    with pytest.raises(ConfigError) as info:
        await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    assert info.value.field == "replication_factor"
    assert "HUB_REPLICATION_FACTOR=1" in str(info.value) and "HUB_MIN_INSYNC_REPLICAS=1" in str(info.value)
    assert not admin.created and not admin.altered


async def test_a_single_development_node_takes_replication_factor_one() -> None:
    single = build_catalog(DEFAULT_AGENCIES[:2], partitions=4, replication_factor=1, min_insync_replicas=1)
    admin = FakeAdmin(brokers=1)
    report = await _apply(admin, single, SETTINGS.model_copy(update={"replication_factor": 1,  # type: ignore[arg-type]
                                                                      "min_insync_replicas": 1}))
    assert len(report.created) == len(single) and {t.replication_factor for t in admin.created} == {1}


async def test_min_insync_replicas_is_aligned_and_a_lower_replication_factor_is_drift_left_writable() -> None:
    admin = FakeAdmin(brokers=3)
    await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    requests, history = "p.court.requests", "p.credit.list.history"
    parts, replicas, configs = admin.topics[requests]
    admin.topics[requests] = (parts, replicas, {**configs, "min.insync.replicas": "1"})  # lowered by hand
    parts, _, configs = admin.topics[history]
    admin.topics[history] = (parts, 1, {**configs, "min.insync.replicas": "1"})  # made before the cluster grew
    report = await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    assert dict(report.configs_altered)[requests] == {"min.insync.replicas": ("1", "2")}
    assert admin.altered[requests]["min.insync.replicas"] == "2"
    assert history not in admin.altered, "min.insync.replicas 2 on a one-replica topic would refuse every write"
    assert report.drift == [f"{history} has replication factor 1, catalog wants 3 (topics apply cannot "
                            "reassign replicas: use kafka-reassign-partitions)"]


async def test_a_sweep_lane_made_with_more_partitions_is_kept_while_a_co_partitioned_topic_with_more_is_drift() -> None:
    admin = FakeAdmin(brokers=3)
    await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    lane = "p." + next(s.name for s in CATALOG if s.role is Role.AGENCY_SWEEPS)
    inbox = "p." + next(s.name for s in CATALOG if s.role is Role.AGENCY_INBOX)
    for name in (lane, inbox):  # a lane made with the hub's count (before lanes were one partition); an inbox grown
        _, replicas, configs = admin.topics[name]
        admin.topics[name] = (6, replicas, configs)
    report = await _apply(admin, CATALOG, SETTINGS)  # type: ignore[arg-type]
    assert report.kept == [f"{lane}: 6 partitions (the catalog creates it with 1; its readers do not depend on the "
                           "count)"]
    assert report.drift == [f"{inbox} has 6 partitions, catalog wants 4 (cannot shrink)"]
    assert f"kept {report.kept[0]}" in report.lines()


def test_topic_errors_are_raised_unless_expected() -> None:
    exists = Response({"topic_errors": [{"topic": "t", "error_code": TOPIC_ALREADY_EXISTS, "error_message": "x"}]})
    check_topic_errors(exists, "create", ignore=frozenset({TOPIC_ALREADY_EXISTS}))
    with pytest.raises(TopicApplyError, match="error code 38"):
        check_topic_errors(Response({"topic_errors": [{"topic": "t", "error_code": 38, "error_message": "rf"}]}),
                           "create")


def test_the_live_view_shows_replicas_isr_and_leaders_per_topic() -> None:
    described = {"topic": "p.court.requests", "error_code": 0, "partitions": [
        {"partition": 1, "leader": 2, "replicas": [2, 3, 1], "isr": [2, 3]},
        {"partition": 0, "leader": 1, "replicas": [1, 2, 3], "isr": [1, 2, 3]}]}
    parts = live_partitions(described)
    assert parts == (LivePartition(0, 1, (1, 2, 3), (1, 2, 3)), LivePartition(1, 2, (2, 3, 1), (2, 3)))
    table = catalog_table(CATALOG, "p.", {"p.court.requests": parts})
    header, _, row = table.splitlines()[:3]
    assert header.split() == ["topic", "parts", "rf", "min.isr", "replicas", "isr", "leaders"]
    assert row.split() == ["p.court.requests", "4", "3", "2", "3", "2", "(1", "under)", "1:1,2:1"]
    assert f"live: {len(CATALOG) - 1} missing, 1 under-replicated partitions" in table
    assert "missing" in table.splitlines()[3]
    offline = catalog_table(CATALOG)
    assert offline.splitlines()[0].split()[:5] == ["topic", "parts", "rf", "min.isr", "cleanup"]
    item = json.loads(catalog_json(CATALOG, "p.", {"p.court.requests": parts}))[0]
    assert item["replication_factor"] == 3 and item["min_insync_replicas"] == 2
    assert item["live"][1] == {"partition": 1, "leader": 2, "replicas": [2, 3, 1], "isr": [2, 3]}


async def test_brokers_still_joining_the_cluster_are_waited_for_before_the_replication_check() -> None:
    admin = FakeAdmin(brokers=2)  # the third node accepts connections but is not listed yet

    async def third_joins() -> None:
        await asyncio.sleep(0.6)
        admin.brokers = 3

    joining = asyncio.ensure_future(third_joins())
    report = await _apply(admin, CATALOG, SETTINGS, settle_s=5.0)  # type: ignore[arg-type]
    await joining
    assert report.brokers == 3 and len(report.created) == len(CATALOG)
    with pytest.raises(ConfigError):  # one that never joins: the same refusal, after the wait
        await _apply(FakeAdmin(brokers=2), CATALOG, SETTINGS, settle_s=0.6)  # type: ignore[arg-type]
