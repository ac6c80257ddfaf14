"""What a benchmark run starts and stops: the broker (unless ``--bootstrap``), workers, simulators.

Everything runs under a temporary directory; every child is stopped by the pid it was started
with.  Each measurement gets settings of its own (fresh topic prefix, app id and web port).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub.broker.server import LocalBroker
from hub.process import ChildProcess, WorkerProcess, settings_env
from hub.settings import HubSettings
from topics.admin import apply_catalog
from topics.catalog import DEFAULT_CATALOG


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (VmRSS of /proc/<pid>/status), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class PyProcess:
    """A ``python -m <module> <args>`` child with its own log; stopped by its pid only."""

    def __init__(
        self, module: str, args: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.module, self.args, self.log_path, self.env = module, args, log_path, env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def spawn(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", self.module, *self.args],
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None


class BenchEnv:
    """The broker and the children of one ``interop-hub bench`` run."""

    def __init__(self, base: HubSettings, bootstrap: str | None = None, keep: bool = False) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.keep = keep
        self.broker: LocalBroker | None = None
        self._children: list[ChildProcess | PyProcess] = []
        if bootstrap is None:
            port, controller = free_ports(2)
            broker_settings = base.model_copy(
                update={
                    "bootstrap_servers": f"127.0.0.1:{port}",
                    "controller_port": controller,
                    "data_dir": self.tmp / "broker",
                }
            )
            self.broker = LocalBroker(broker_settings)
            bootstrap = broker_settings.bootstrap_servers
        self.base = base.model_copy(update={"bootstrap_servers": bootstrap, "data_dir": self.tmp / "hub"})

    def start(self) -> None:
        if self.broker is not None:
            self.broker.start(timeout=120)

    def close(self) -> None:
        for child in reversed(self._children):
            with contextlib.suppress(OSError):
                child.stop()
        self._children.clear()
        if self.broker is not None:
            self.broker.stop()
        if not self.keep:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- settings and children --------------------------------------------------------------------------
    def fresh(self, label: str, **update: object) -> HubSettings:
        """Settings with a fresh topic prefix, app id, web port and data dir."""
        tag = secrets.token_hex(3)
        (web_port,) = free_ports(1)
        data_dir = self.tmp / f"{label}-{tag}"
        data_dir.mkdir(parents=True, exist_ok=True)
        values: dict[str, object] = {
            "topic_prefix": f"b{tag}.",
            "app_id": f"bench-{label}-{tag}",
            "web_port": web_port,
            "data_dir": data_dir,
            "log_level": "WARNING",
        }
        values.update(update)
        return self.base.model_copy(update=values)

    def log(self, name: str) -> Path:
        return self.tmp / "logs" / f"{name}.log"

    def worker(self, settings: HubSettings, name: str = "worker") -> WorkerProcess:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        proc = WorkerProcess(settings, self.log(name))
        self._children.append(proc)
        return proc

    def child(self, settings: HubSettings, name: str, args: list[str]) -> ChildProcess:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        proc = ChildProcess(settings, self.log(name), args)
        self._children.append(proc)
        return proc

    def python(
        self,
        module: str,
        args: list[str],
        name: str,
        settings: HubSettings | None = None,
        env: dict[str, str] | None = None,
    ) -> PyProcess:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        full = {**(settings_env(settings) if settings is not None else {}), **(env or {})}
        proc = PyProcess(module, args, self.log(name), full)
        self._children.append(proc)
        return proc

    def forget(self, child: ChildProcess | PyProcess) -> None:
        child.stop()
        with contextlib.suppress(ValueError):
            self._children.remove(child)


async def apply_topics(settings: HubSettings) -> None:
    await apply_catalog(DEFAULT_CATALOG, settings, timeout_s=60)


async def create_topics(settings: HubSettings, names: Iterable[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def end_offsets(settings: HubSettings, prefixes: Iterable[str]) -> dict[str, int]:
    """Sum of the end offsets of every topic whose name starts with one of ``prefixes``."""
    wanted = tuple(prefixes)
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(wanted)]
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    tps = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if not d["error_code"]
        for p in d["partitions"]
    ]
    totals: dict[str, int] = dict.fromkeys(topics, 0)
    if not tps:
        return totals
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        for tp, offset in (await consumer.end_offsets(tps)).items():
            totals[tp.topic] += offset
        return totals
    finally:
        await consumer.stop()


async def group_lag(settings: HubSettings, group: str, topics: Iterable[str]) -> int:
    """Records of ``topics`` not yet committed by consumer group ``group`` (all of them if it has none)."""
    names = list(topics)
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    tps = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if not d["error_code"]
        for p in d["partitions"]
    ]
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return sum(max(end - (committed[tp].offset if tp in committed else 0), 0) for tp, end in ends.items())


async def wait_until(predicate: object, timeout_s: float, interval_s: float = 0.25) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(interval_s)
    return False
