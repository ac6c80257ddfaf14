"""Session fixtures for the integration and acceptance tiers: a real Kafka broker (KRaft) on free ports.

``broker_settings`` (session scope) starts ONE plain broker with a fresh data dir and
yields the :class:`HubSettings` that point at it (with a random topic prefix); other test
modules build on it.  ``new_broker_settings`` makes settings for a further broker of a
test's own (its own ports and data dir); such a test starts and stops that broker itself,
and should hand it to ``stop_at_exit`` as a safety net.
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.broker.server import LocalBroker
from hub.errors import BrokerError
from hub.process import WorkerProcess
from hub.settings import HubSettings
from support.ports import free_ports

SettingsFactory = Callable[..., HubSettings]


def stop_at_exit(broker: LocalBroker) -> None:
    """Stop ``broker`` when the interpreter exits, in case normal teardown never ran."""

    def stop() -> None:
        with contextlib.suppress(BrokerError, OSError):
            broker.stop(timeout=15.0)

    atexit.register(stop)


@pytest.fixture(scope="session")
def new_broker_settings(tmp_path_factory: pytest.TempPathFactory) -> SettingsFactory:
    """Factory of settings for a fresh broker: free ports, empty data dir, random topic prefix."""

    def make(**overrides: object) -> HubSettings:
        port, controller_port = free_ports(2)
        data_dir: Path = tmp_path_factory.mktemp("kafka")
        values: dict[str, object] = {
            "bootstrap_servers": f"127.0.0.1:{port}",
            "controller_port": controller_port,
            "data_dir": data_dir,
            "topic_prefix": f"t{secrets.token_hex(4)}.",
            # CI size: 4 partitions per hub topic (the national default, 12, is exercised by the main job)
            "partitions": 4,
            # one node: every record on it alone (a three-node cluster: new_cluster_settings)
            "replication_factor": 1,
            "min_insync_replicas": 1,
        }
        values.update(overrides)
        return HubSettings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def local_broker(new_broker_settings: SettingsFactory) -> Iterator[LocalBroker]:
    """The session's shared plain broker, started once and stopped at session end."""
    broker = LocalBroker(new_broker_settings())
    stop_at_exit(broker)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def broker_settings(local_broker: LocalBroker) -> HubSettings:
    """Settings of the session's shared broker (PLAINTEXT, random ``topic_prefix``)."""
    return local_broker.settings


@pytest.fixture(scope="session")
def applied_settings(broker_settings: HubSettings) -> HubSettings:
    """The shared broker with every catalog topic created (under the session's random prefix)."""
    import asyncio

    from hub.topic_admin import apply_catalog

    asyncio.run(apply_catalog(broker_settings.catalog, broker_settings))
    return broker_settings


@pytest.fixture(scope="session")
def hub_worker(applied_settings: HubSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """One hub worker process for the session: its own app id, web port and a manual clock."""
    (web_port,) = free_ports(1)
    settings = applied_settings.model_copy(
        update={
            "web_port": web_port,
            "app_id": f"hub-{secrets.token_hex(4)}",
            "clock": "manual",
            "clock_start": "2025-01-02T09:00:00+08:00",
        }
    )
    worker = WorkerProcess(settings, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        worker.start(timeout=120)
        yield worker
    finally:
        worker.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--bench", action="store_true", default=False, help="run benchmarks and soak tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak and full-size runs (each has a CI-sized counterpart that always runs) only with --bench."""
    only_with_flag = pytest.mark.skipif(not config.getoption("--bench"), reason="soak/full size: run with --bench")
    for item in items:
        if item.get_closest_marker("bench") is not None:  # the marker, not a name (tests/unit/bench/ always runs)
            item.add_marker(only_with_flag)


@pytest.fixture(scope="session")
def new_cluster_settings(new_broker_settings: SettingsFactory) -> SettingsFactory:
    """Factory of settings for a fresh local three-node cluster (``hub.broker.server.LocalCluster``): three
    client and three controller ports, free; its own data dir; every topic on 3 brokers, min ISR 2.  The
    test starts and stops the cluster itself (``stop_at_exit`` each of its nodes)."""

    def make(**overrides: object) -> HubSettings:
        ports = free_ports(6)
        values: dict[str, object] = {
            "bootstrap_servers": ",".join(f"127.0.0.1:{port}" for port in ports[:3]),
            "controller_ports": ",".join(str(port) for port in ports[3:]),
            "replication_factor": 3,
            "min_insync_replicas": 2,
        }
        values.update(overrides)
        return new_broker_settings(**values)

    return make
