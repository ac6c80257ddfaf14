"""The hub's one explicit context: what a flow is handed when it registers.

Built once per process by :func:`build_context` from a runtime (settings, catalog, codec, clock,
calendar, metrics), a sender and a table maker; the worker (:mod:`hub.worker_app`) passes faust's,
an in-process test (:mod:`hub.memory_backend`) memory ones.  No module builds any of it at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.audit_trail import AuditTrail
from hub.audit_writer import AuditWriter, LastBatch
from hub.clock import Clock
from hub.codec import AvroCodec
from hub.deadletter import DeadLetters
from hub.hooks import FlowHooks, RowObserver
from hub.input_progress import Highwater, InputProgress
from hub.lifecycle import RequestRow, RequestTable
from hub.outbound import Outbound
from hub.runtime import HubRuntime
from hub.settings import HubSettings
from hub.transport import RowTable, Sender, send_acked
from topics.catalog import Role

#: make_table(catalog table name, large=..., observers=...) -> the table (see ``topics.catalog.HUB_TABLES``)
TableMaker = Callable[..., RowTable]


@dataclass(frozen=True)
class TopicNames:
    """Catalog names of the topics the flows write by role (physical names: ``settings.topic(name)``)."""

    court_replies: str
    court_notices: str
    anomalies: str
    ticks: str
    audit: str
    audit_heads: str

    @classmethod
    def of(cls, runtime: HubRuntime) -> TopicNames:
        one = runtime.catalog.one
        return cls(one(Role.COURT_REPLIES).name, one(Role.COURT_NOTICES).name, one(Role.ANOMALIES).name,
                   one(Role.TICKS).name, one(Role.AUDIT).name, one(Role.AUDIT_HEADS).name)


@dataclass(frozen=True)
class HubContext:
    runtime: HubRuntime
    hooks: FlowHooks
    sender: Sender
    audit: AuditTrail
    dead_letters: DeadLetters
    out: Outbound
    topics: TopicNames
    make_table: TableMaker
    #: request id -> :class:`~hub.lifecycle.RequestRow`; every write is told to ``hooks.request_written``
    requests: RequestTable
    #: whether this worker's tables are recovered from their changelogs (always, without Kafka)
    tables_recovered: Callable[[], bool]
    #: how long input records waited for this worker, and how far it has read each input partition
    input: InputProgress

    @property
    def settings(self) -> HubSettings:
        return self.runtime.settings

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def codec(self) -> AvroCodec:
        return self.runtime.codec

    def table(self, name: str, *, large: bool = False) -> RowTable:
        """A flow's own table (a catalog table; its rows live in their case's partition)."""
        return self.make_table(name, large=large)


@dataclass(frozen=True)
class AuditSource:
    """What the audit log's writer needs from the process: each chain's last stored batch, the partitions
    this process owns, and the hub's signing key (None: no tree heads are signed)."""

    last_batch: LastBatch
    owned: Callable[[], list[int]]
    signer: Callable[[], tuple[str, Any]] | None = None


async def _no_batch(chain: int) -> None:
    return None


def all_partitions(runtime: HubRuntime) -> AuditSource:
    """One process that owns every partition and keeps its chains from the start (the in-process hub)."""
    return AuditSource(_no_batch, lambda: list(range(runtime.catalog.hub_partitions)))


def build_context(runtime: HubRuntime, sender: Sender, make_table: TableMaker, *,
                  audit_source: AuditSource | None = None,
                  tables_recovered: Callable[[], bool] = lambda: True,
                  highwater: Highwater | None = None) -> HubContext:
    """The context of one hub process; flows register on it next (:func:`hub.flows.register_all`)."""
    hooks = FlowHooks()
    names = TopicNames.of(runtime)
    settings = runtime.settings
    if audit_source is None:
        audit_source = all_partitions(runtime)
    writer = AuditWriter(runtime, sender, settings.topic(names.audit), settings.topic(names.audit_heads),
                         audit_source.last_batch, audit_source.owned, audit_source.signer)
    audit = AuditTrail(runtime, writer)

    @hooks.every(settings.audit_head_interval_s)
    async def audit_batches_and_heads() -> None:
        """Batches also leave before every commit; this bounds how long an idle chain's entries wait."""
        await writer.flush()
        await writer.publish_heads(runtime.clock.now_ms(), int(settings.audit_head_idle_s * 1000))

    async def send_dead_letter(topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> int:
        return await send_acked(sender, topic, key, value, headers)

    dead_letters = DeadLetters(runtime, send_dead_letter, hooks.dead_lettered)
    hooks.on_dead_letter(audit.dead_letter)

    def request_written(key: str, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        if hooks.request_written:
            typed = RequestRow.from_json(row)
            before = RequestRow.from_json(old) if old is not None else None
            for observer in hooks.request_written:
                observer(typed, before)

    observers: list[RowObserver] = [request_written]
    requests = RequestTable(make_table("requests", large=True, observers=observers))
    progress = InputProgress(highwater) if highwater is not None else InputProgress()
    hooks.on_revoked(progress.forget)
    return HubContext(runtime, hooks, sender, audit, dead_letters, Outbound(runtime, sender, audit), names,
                      make_table, requests, tables_recovered, progress)
