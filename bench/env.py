"""What a benchmark run starts and stops: the broker (unless ``--bootstrap``), workers, simulators.

Everything runs under a temporary directory; every child is stopped by the pid it was started
with.  Each measurement gets settings of its own (fresh topic prefix, app id and web port).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.process import AgencyProcess
from hub.broker.server import LocalBroker
from hub.process import ChildProcess, WorkerProcess
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from support.ports import free_ports

ChildT = TypeVar("ChildT", bound=ChildProcess)


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (VmRSS of /proc/<pid>/status), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class BenchEnv:
    """The broker and the children of one ``python -m bench`` run."""

    def __init__(self, base: HubSettings, bootstrap: str | None = None, keep: bool = False) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.keep = keep
        self.broker: LocalBroker | None = None
        self._children: list[ChildProcess] = []
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
            # its own broker is one node: every record on it alone
            base = base.model_copy(update={"replication_factor": 1, "min_insync_replicas": 1})
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
        return self._adopt(WorkerProcess(settings, self.log(name)))

    def agency(self, settings: HubSettings, name: str, args: list[str]) -> AgencyProcess:
        """A simulated agency: ``interop-agency <args>``."""
        return self._adopt(AgencyProcess(settings, self.log(name), args))

    def python(self, module: str, args: list[str], name: str, settings: HubSettings) -> ChildProcess:
        """``python -m <module> <args>`` (a baseline of the bench) with ``settings`` in its environment."""
        return self._adopt(ChildProcess(settings, self.log(name), args, module=module))

    def _adopt(self, child: ChildT) -> ChildT:
        self._children.append(child)
        return child

    def forget(self, child: ChildProcess) -> None:
        child.stop()
        with contextlib.suppress(ValueError):
            self._children.remove(child)


async def apply_topics(settings: HubSettings) -> None:
    await apply_catalog(settings.catalog, settings, timeout_s=60)


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
    totals: dict[str, int] = dict.fromkeys(topics, 0)
    for tp, offset in (await _end_offsets(settings, _partitions(described))).items():
        totals[tp.topic] += offset
    return totals


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
    ends = await _end_offsets(settings, _partitions(described))
    return sum(max(end - (committed[tp].offset if tp in committed else 0), 0) for tp, end in ends.items())


def _partitions(described: list[dict[str, Any]]) -> list[TopicPartition]:
    """Every partition of the topics an admin client described (those it could not describe left out)."""
    return [TopicPartition(d["topic"], p["partition"]) for d in described if not d["error_code"]
            for p in d["partitions"]]


async def _end_offsets(settings: HubSettings, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout_s: float, interval_s: float = 0.25) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(interval_s)
    return False
