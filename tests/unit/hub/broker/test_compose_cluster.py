"""docker-compose.yml's profile `cluster` renders the same three-node cluster as `broker start` (no Docker here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.broker.server import LocalBroker
from hub.settings import ENV_PREFIX, HubSettings
from tests.unit.hub.broker.test_config import parse_properties

ROOT = Path(__file__).resolve().parents[4]
NODES = ("kafka-1", "kafka-2", "kafka-3")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    found: dict[str, Any] = compose["services"]
    return found


def _settings(service: dict[str, Any], data_dir: Path) -> HubSettings:
    env = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in service["environment"].items()}
    return HubSettings(**{**env, "data_dir": data_dir})


def test_the_cluster_profile_runs_three_nodes_of_the_project_image_each_its_own(services: dict[str, Any]) -> None:
    for number, name in enumerate(NODES, start=1):
        svc = services[name]
        assert svc["build"] == "." and svc["profiles"] == ["cluster"] and svc["restart"] == "unless-stopped"
        assert svc["command"] == ["interop-hub", "broker", "run", "--node", str(number)]
        assert svc["healthcheck"]["test"][-4:] == ["broker", "status", "--node", str(number)]
    assert len({tuple(sorted(services[n]["environment"].items())) for n in NODES}) == 1, "one cluster, one setting"
    assert "profiles" not in services["main-job"], "the main job still runs by default"


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_node_renders_a_secure_voter_of_one_quorum_replicating_three_times(
        services: dict[str, Any], number: int, tmp_path: Path) -> None:
    settings = _settings(services[NODES[number - 1]], tmp_path)
    assert settings.replication_factor == 3 and settings.min_insync_replicas == 2
    node = LocalBroker(settings, node=number)
    assert node.secure and node.clustered
    node._prepare()  # writes the node's configs and the shared logins, no JVM
    props = parse_properties(node.server_properties.read_text())
    assert props["node.id"] == str(number)
    assert props["controller.quorum.voters"] == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
    assert props["listeners"] == "SASL_PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
    assert props["advertised.listeners"] == f"SASL_PLAINTEXT://{NODES[number - 1]}:9092"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert props["min.insync.replicas"] == "2" and props["offsets.topic.replication.factor"] == "3"
