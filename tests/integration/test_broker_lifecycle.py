"""Lifecycle of the local Apache Kafka broker against real JVMs (no mocks).

Each test starts its own broker (own free ports, own data dir) and stops it by pid,
even when an assertion fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from hub.broker import commands
from hub.broker.server import LocalBroker
from hub.errors import BrokerError, BrokerStartError
from hub.settings import HubSettings
from tests.conftest import SettingsFactory, stop_at_exit

REPO = Path(__file__).resolve().parents[2]


async def create_topic(name: str, **client: object) -> None:
    admin = AIOKafkaAdminClient(request_timeout_ms=10_000, **client)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def list_topics(**client: object) -> list[str]:
    admin = AIOKafkaAdminClient(request_timeout_ms=10_000, **client)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int, wait_s: float = 20.0) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        deadline = time.monotonic() + wait_s
        while len(got) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                got.extend(record.value for record in records if record.value is not None)
    finally:
        await consumer.stop()
    return got


def cli_builds() -> bool:
    try:
        from hub.cli import build_parser

        build_parser()
    except ImportError:
        return False
    return True


def cli_status(settings: HubSettings) -> tuple[int, str]:
    """``interop-hub broker status`` through ``python -m hub``.

    While the CLI cannot be built yet (other command modules still missing), the
    ``broker`` handlers are called through a tiny parser built with ``register``.
    """
    if cli_builds():
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "HUB_CONTROLLER_PORT": str(settings.controller_port),
            "HUB_DATA_DIR": str(settings.data_dir),
            "HUB_SECURITY_PROTOCOL": settings.security_protocol,
        }
        result = subprocess.run(
            [sys.executable, "-m", "hub", "broker", "status"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.returncode, result.stdout + result.stderr
    parser = argparse.ArgumentParser(prog="interop-hub")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["broker", "status"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = args.func(args, settings)
    return code, out.getvalue()


def shared_entries(root: Path) -> list[str]:
    """Entries under ``root`` (and ``root``) that group or other may access; symbolic links aside."""
    paths = [root, *root.rglob("*")]
    return [f"{p.relative_to(root)} {oct(p.lstat().st_mode & 0o777)}" for p in paths
            if not p.is_symlink() and p.lstat().st_mode & 0o077]


def proc_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@contextlib.contextmanager
def stopped_at_end(broker: LocalBroker) -> Iterator[LocalBroker]:
    stop_at_exit(broker)
    try:
        yield broker
    finally:
        broker.stop()


async def test_broker_start_stop_status_and_records_survive_restart(
    new_broker_settings: SettingsFactory,
) -> None:
    settings = new_broker_settings()
    broker = LocalBroker(settings)
    topic = settings.topic("lifecycle")
    values = [f"record-{i}".encode() for i in range(20)]
    leftover = settings.data_dir / "broker" / "left-by-an-old-version.log"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("old log\n")
    for path in (leftover, leftover.parent, settings.data_dir):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with stopped_at_end(broker):
        status = await asyncio.to_thread(broker.start)
        assert status.up and status.pid is not None
        assert status.bootstrap == settings.bootstrap_servers
        assert not status.secure
        assert broker.pid_file.read_text().strip() == str(status.pid)
        assert (settings.data_dir / "kafka-logs" / "meta.properties").is_file()
        assert (settings.data_dir / "broker" / "server.properties").is_file()

        again = await asyncio.to_thread(broker.start)
        assert again.pid == status.pid, "start is idempotent while the broker is up"

        code, out = await asyncio.to_thread(cli_status, settings)
        assert code == 0
        assert "up" in out.split() and settings.bootstrap_servers in out

        await create_topic(topic, bootstrap_servers=status.bootstrap)
        await produce(status.bootstrap, topic, values)
        segments = list((settings.data_dir / "kafka-logs").glob(f"{topic}-0/*.log"))
        assert segments and all(p.stat().st_mode & 0o777 == 0o600 for p in segments)
        assert shared_entries(settings.data_dir) == [], "segments, configs, logs: owner-only"
        assert leftover.stat().st_mode & 0o777 == 0o600, "what was there before is fixed at start"

        assert await asyncio.to_thread(broker.stop) is True
        assert not proc_exists(status.pid)
        assert not broker.pid_file.exists()
        down = broker.status()
        assert not down.up and down.pid is None
        assert await asyncio.to_thread(broker.stop) is False, "nothing left to stop"

        code, out = await asyncio.to_thread(cli_status, settings)
        assert code != 0
        assert "down" in out.split() and settings.bootstrap_servers in out

        restarted = await asyncio.to_thread(broker.start)
        assert restarted.up and restarted.pid != status.pid
        assert await consume(restarted.bootstrap, topic, len(values)) == values


async def test_jvm_exiting_during_startup_raises_start_error_with_log_tail(
    new_broker_settings: SettingsFactory,
) -> None:
    settings = new_broker_settings()
    broker = LocalBroker(settings)
    # A log dir that belongs to another node: Kafka refuses it and exits.
    log_dir = settings.data_dir / "kafka-logs"
    log_dir.mkdir(parents=True)
    (log_dir / "meta.properties").write_text("version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=7\n")
    with stopped_at_end(broker):
        with pytest.raises(BrokerStartError) as info:
            await asyncio.to_thread(broker.start, 60.0)
        assert "exited during startup" in str(info.value)
        assert "node" in str(info.value).lower(), "the log tail explains the failure"
        assert not broker.pid_file.exists()
        assert not broker.status().up


async def test_secure_mode_admin_authenticates_and_wrong_password_is_rejected(
    new_broker_settings: SettingsFactory,
) -> None:
    settings = new_broker_settings()
    broker = LocalBroker(settings, secure=True)
    topic = settings.topic("secure")
    with stopped_at_end(broker):
        status = await asyncio.to_thread(broker.start)
        assert status.up and status.secure
        password = broker.admin_password()
        assert password
        assert (broker.password_file.stat().st_mode & 0o777) == 0o600
        assert (broker.client_config_file.stat().st_mode & 0o777) == 0o600
        assert (broker.server_properties.stat().st_mode & 0o777) == 0o600

        admin = {
            "bootstrap_servers": status.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "admin",
        }
        await create_topic(topic, sasl_plain_password=password, **admin)
        assert topic in await list_topics(sasl_plain_password=password, **admin)

        with pytest.raises(KafkaConnectionError):
            await list_topics(sasl_plain_password=password + "-wrong", **admin)

        # A SCRAM user added after start can log in, but sees nothing without ACLs.
        user_password = secrets.token_urlsafe(16)
        await asyncio.to_thread(broker.add_scram_user, "alice", user_password)
        alice = {**admin, "sasl_plain_username": "alice", "sasl_plain_password": user_password}
        assert topic not in await list_topics(**alice)
        acl_out = await asyncio.to_thread(
            broker.run_acl_command,
            ["--add", "--allow-principal", "User:alice", "--operation", "Describe", "--topic", topic],
        )
        assert "User:alice" in acl_out
        assert topic in await list_topics(**alice)

        with pytest.raises(BrokerError, match="secure mode"):
            LocalBroker(settings, secure=False).start()

    assert not broker.status().up


async def test_shared_session_broker_serves_plain_clients(broker_settings: HubSettings) -> None:
    topic = broker_settings.topic("shared")
    assert broker_settings.topic_prefix.startswith("t")
    await create_topic(topic, **broker_settings.kafka_client_kwargs())
    await produce(broker_settings.bootstrap_servers, topic, [b"hello"])
    assert await consume(broker_settings.bootstrap_servers, topic, 1) == [b"hello"]
