"""The local three-node cluster's layout and rendered configs (pure functions and files, no JVM)."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

import pytest

from hub.broker import commands
from hub.broker.config import BrokerConfig, NodeAddress, cluster_nodes, render_server_properties
from hub.broker.server import BrokerStatus, LocalBroker, LocalCluster, _shared_value
from hub.errors import BrokerError, ConfigError
from hub.settings import HubSettings
from tests.unit.hub.broker.test_config import parse_properties

BOOTSTRAP = "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"


def cluster_settings(tmp_path: Path, **over: object) -> HubSettings:
    values: dict[str, object] = {"bootstrap_servers": BOOTSTRAP, "controller_ports": "19193,19195,19197",
                                 "data_dir": tmp_path / "data", "replication_factor": 3, "min_insync_replicas": 2}
    values.update(over)
    return HubSettings(**values)  # type: ignore[arg-type]


# --- the layout ----------------------------------------------------------------------------------------------
def test_one_node_per_bootstrap_entry_with_its_controller_port() -> None:
    nodes = cluster_nodes(BOOTSTRAP, 9093, "19193,19195,19197")
    assert nodes == (NodeAddress(1, "127.0.0.1", 19092, 19193), NodeAddress(2, "127.0.0.1", 19094, 19195),
                     NodeAddress(3, "127.0.0.1", 19096, 19197))
    assert [n.voter for n in nodes] == ["1@127.0.0.1:19193", "2@127.0.0.1:19195", "3@127.0.0.1:19197"]


def test_controller_ports_default_to_the_client_port_plus_one_and_one_node_keeps_controller_port() -> None:
    assert [n.controller_port for n in cluster_nodes("localhost:9092,127.0.0.1:9094,127.0.0.1:9096", 7777)] == [
        9093, 9095, 9097]
    assert cluster_nodes("localhost:9092", 7777) == (NodeAddress(1, "127.0.0.1", 9092, 7777),)


@pytest.mark.parametrize(("bootstrap", "controllers", "field"), [
    (BOOTSTRAP, "19193,19195", "controller_ports"),  # one controller port per node
    (BOOTSTRAP, "19193,19195,19094", "controller_ports"),  # a port used twice on this machine
    ("127.0.0.1:9092,127.0.0.1:9093", "", "controller_ports"),  # node 1's default controller port is node 2's
    ("127.0.0.1:9092,kafka-2:9092", "", "bootstrap_servers"),  # local nodes run here
    ("127.0.0.1:9092,127.0.0.1:x", "", "bootstrap_servers"),
    (BOOTSTRAP, "19193,0,19197", "controller_ports"),
])
def test_an_inconsistent_layout_is_refused_naming_the_setting(bootstrap: str, controllers: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        cluster_nodes(bootstrap, 9093, controllers)
    assert info.value.field == field


def test_a_node_per_container_may_use_the_same_ports_under_its_own_name() -> None:
    nodes = cluster_nodes("kafka-1:9092,kafka-2:9092,kafka-3:9092", 9093, "9093,9093,9093", local=False)
    assert [n.voter for n in nodes] == ["1@kafka-1:9093", "2@kafka-2:9093", "3@kafka-3:9093"]
    with pytest.raises(ConfigError):
        cluster_nodes("kafka-1:9092", 9093, "9092", local=False)


# --- the rendered server.properties of three nodes -------------------------------------------------------------
def _render(node: NodeAddress, nodes: tuple[NodeAddress, ...], *, secure: bool = True, listen: str = "127.0.0.1",
            rf: int = 3, min_isr: int = 2) -> dict[str, str]:
    config = BrokerConfig(port=node.port, controller_port=node.controller_port, log_dir=Path(f"/d/{node.node_id}"),
                          secure=secure, admin_password="admin-pw" if secure else None,
                          controller_password="ctl-pw" if secure else None,
                          node_id=node.node_id, host=node.host, listen_host=listen, voters=nodes,
                          replication_factor=rf, min_insync_replicas=min_isr)
    return parse_properties(render_server_properties(config))


def test_three_combined_nodes_share_one_three_voter_quorum_each_on_its_own_ports() -> None:
    nodes = cluster_nodes(BOOTSTRAP, 9093, "19193,19195,19197")
    rendered = [_render(n, nodes) for n in nodes]
    voters = "1@127.0.0.1:19193,2@127.0.0.1:19195,3@127.0.0.1:19197"
    assert {p["controller.quorum.voters"] for p in rendered} == {voters}
    for node, props in zip(nodes, rendered, strict=True):
        assert props["process.roles"] == "broker,controller"
        assert props["node.id"] == str(node.node_id)
        assert props["listeners"] == (f"SASL_PLAINTEXT://127.0.0.1:{node.port},"
                                      f"CONTROLLER://127.0.0.1:{node.controller_port}")
        assert props["advertised.listeners"] == f"SASL_PLAINTEXT://127.0.0.1:{node.port}"
        assert props["log.dirs"] == f"/d/{node.node_id}"


def test_the_cluster_replicates_its_internal_topics_three_times_and_acknowledges_at_two() -> None:
    nodes = cluster_nodes(BOOTSTRAP, 9093, "19193,19195,19197")
    props = _render(nodes[1], nodes)
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["unclean.leader.election.enable"] == "false"


def test_every_node_is_secure_like_the_single_node() -> None:
    """SCRAM on the client and inter-broker listener, PLAIN on the controller listener, no anonymous user."""
    nodes = cluster_nodes(BOOTSTRAP, 9093, "19193,19195,19197")
    single = parse_properties(render_server_properties(BrokerConfig(
        port=19092, controller_port=19193, log_dir=Path("/d/1"), secure=True, admin_password="admin-pw",  # noqa: S106
        controller_password="ctl-pw")))  # noqa: S106
    security = {k: v for k, v in single.items() if k.startswith(("sasl.", "listener.name.", "super.users",
                                                                  "authorizer", "allow.everyone",
                                                                  "inter.broker", "listener.security"))}
    assert len(security) >= 10
    for node in nodes:
        props = _render(node, nodes)
        assert {k: props[k] for k in security} == security
        assert not [v for v in props.values() if "ANONYMOUS" in v]


def test_a_node_in_a_container_binds_every_address_and_advertises_its_name() -> None:
    nodes = cluster_nodes("kafka-1:9092,kafka-2:9092,kafka-3:9092", 9093, "", local=False)
    props = _render(nodes[2], nodes, listen="0.0.0.0")  # noqa: S104 - a container's own interface
    assert props["listeners"] == "SASL_PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://kafka-3:9092"
    assert props["controller.quorum.voters"] == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"


def test_replication_beyond_the_quorum_or_a_stranger_node_is_refused() -> None:
    nodes = cluster_nodes(BOOTSTRAP, 9093, "19193,19195,19197")
    with pytest.raises(ConfigError):
        _render(nodes[0], nodes[:2], rf=3)  # two nodes cannot hold three replicas
    with pytest.raises(ConfigError):
        _render(nodes[0], nodes, rf=3, min_isr=4)
    with pytest.raises(ConfigError):
        _render(nodes[2], nodes[:2], rf=1, min_isr=1)  # node 3 is not a voter


# --- the nodes' files ----------------------------------------------------------------------------------------
def test_each_node_has_its_own_dirs_and_all_share_the_secrets(tmp_path: Path) -> None:
    settings = cluster_settings(tmp_path)
    cluster = LocalCluster(settings, secure=True)
    for node in cluster.nodes:
        node._prepare()  # writes the configs and passwords, no JVM
    data = (tmp_path / "data").resolve()
    assert [n.broker_dir for n in cluster.nodes] == [data / f"node-{i}" / "broker" for i in (1, 2, 3)]
    assert [n.log_dir for n in cluster.nodes] == [data / f"node-{i}" / "kafka-logs" for i in (1, 2, 3)]
    assert {n.secrets_dir for n in cluster.nodes} == {data / "secrets"}
    props = [parse_properties(n.server_properties.read_text()) for n in cluster.nodes]
    for key in ("listener.name.controller.plain.sasl.jaas.config",
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config", "controller.quorum.voters"):
        assert len({p[key] for p in props}) == 1, key  # one admin login, one controller login, one quorum
    assert [p["node.id"] for p in props] == ["1", "2", "3"]
    assert props[0]["min.insync.replicas"] == "2" and props[0]["default.replication.factor"] == "3"
    assert all(n.server_properties.stat().st_mode & 0o777 == 0o600 for n in cluster.nodes)
    assert cluster.bootstrap == BOOTSTRAP


def test_a_single_node_keeps_its_layout_and_replicates_once_whatever_the_catalog_wants(tmp_path: Path) -> None:
    settings = HubSettings(bootstrap_servers="127.0.0.1:19092", controller_port=19093, data_dir=tmp_path,
                           replication_factor=3, min_insync_replicas=2)
    broker = LocalBroker(settings)
    broker._prepare()
    assert broker.log_dir == tmp_path.resolve() / "kafka-logs" and not broker.clustered
    props = parse_properties(broker.server_properties.read_text())
    assert props["offsets.topic.replication.factor"] == "1" and props["min.insync.replicas"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"


def test_a_data_dir_holds_one_node_or_a_cluster_never_both(tmp_path: Path) -> None:
    single = tmp_path / "data" / "kafka-logs"
    single.mkdir(parents=True)
    (single / "meta.properties").write_text("node.id=1\n")
    with pytest.raises(BrokerError, match="single-node"):
        LocalCluster(cluster_settings(tmp_path)).nodes[1].launch()
    other = tmp_path / "other"
    (other / "node-1" / "kafka-logs").mkdir(parents=True)
    with pytest.raises(BrokerError, match="cluster"):
        LocalBroker(HubSettings(bootstrap_servers="127.0.0.1:19092", data_dir=other)).launch()


def test_a_node_outside_the_bootstrap_list_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        LocalBroker(cluster_settings(tmp_path), node=4)
    with pytest.raises(ConfigError):
        LocalCluster(cluster_settings(tmp_path)).node(0)


def test_nodes_starting_at_once_on_shared_secrets_agree_on_the_first_value(tmp_path: Path) -> None:
    path = tmp_path / "cluster-id"
    got: list[str] = []
    threads = [threading.Thread(target=lambda v=v: got.append(_shared_value(path, v))) for v in "abcdefgh"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and got[0] == path.read_text().strip()
    assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in os.listdir(tmp_path) if p != "cluster-id"], "no staging file left behind"


# --- the commands --------------------------------------------------------------------------------------------
def test_status_lines_name_the_node_only_in_a_cluster() -> None:
    one = BrokerStatus(True, 7, "127.0.0.1:9092", False, Path("/d"))
    assert commands.describe(one) == "up 127.0.0.1:9092 pid=7 mode=plain data_dir=/d"
    node = BrokerStatus(False, None, "127.0.0.1:9094", True, Path("/d"), node_id=2, clustered=True)
    assert commands.describe(node) == "node 2: down 127.0.0.1:9094 mode=secure data_dir=/d"


@pytest.mark.parametrize("argv", [["broker", "start", "--node", "2"], ["broker", "stop", "--node", "3"],
                                  ["broker", "kill", "--node", "1"], ["broker", "status", "--quorum"],
                                  ["broker", "run", "--node", "2", "--secure"]])
def test_the_cluster_commands_parse(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="interop-hub")
    commands.register(parser.add_subparsers(dest="command", required=True))
    assert callable(parser.parse_args(argv).func)
