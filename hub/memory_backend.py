"""The hub in one process without Kafka: memory tables, a recording sender, the real intake and flows.

For tests of flow handlers (and of the intake's handling of hostile input) with the same code the
worker runs: :class:`MemoryHub` builds the context with :func:`hub.context.build_context`, registers
every flow (:func:`hub.flows.register_all`) and feeds messages to :class:`hub.intake.Intake`.  After each
record it does what the worker does before committing it (:meth:`MemoryHub.settle`): the flows' commit waits
run, and what the hub sent to its own partitions (``hub.ticks``: anomaly observations and watches, the
credit sequencer's outcomes) is received in turn, as the worker's consumer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from hub.audit_log import Batch
from hub.codec import AvroMessage
from hub.context import HubContext, build_context
from hub.deadletter import RawRecord
from hub.errors import CatalogError
from hub.hooks import RowObserver
from hub.intake import Intake, decode_value
from hub.runtime import HubRuntime
from hub.transport import Headers
from topics.catalog import HUB_TABLES, Role


class MemoryTable(dict[str, Any]):
    """A row table in a dict; tells its observers about every row written (like the worker's)."""

    def __init__(self, observers: list[RowObserver] | None = None) -> None:
        super().__init__()
        self.observers = observers if observers is not None else []

    def __setitem__(self, key: str, value: Any) -> None:
        old = self.get(key)
        super().__setitem__(key, value)
        if isinstance(value, dict):
            for observer in self.observers:
                observer(key, value, old if isinstance(old, dict) else None)


@dataclass(frozen=True)
class Sent:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None
    headers: tuple[tuple[str, bytes], ...]


class RecordingSender:
    """Keeps every record sent, in order; each is acknowledged at once with its index as offset."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(self, topic: str, key: bytes | None, value: bytes | None, *, partition: int | None = None,
                   headers: Headers | None = None) -> Awaitable[int]:
        self.sent.append(Sent(topic, key, value, partition, tuple(headers or ())))
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.set_result(len(self.sent) - 1)
        return done

    async def send_soon(self, topic: str, key: str, value: bytes, headers: Headers | None = None) -> None:
        await self.send(topic, key.encode(), value, headers=headers)

    def on(self, topic: str) -> list[Sent]:
        """What was sent to the physical ``topic``."""
        return [s for s in self.sent if s.topic == topic]


class MemoryTables:
    """The context's table maker in memory: each catalog table once, kept by name for the tests to read."""

    def __init__(self) -> None:
        self.tables: dict[str, MemoryTable] = {}
        self.known = {name for name, _, _ in HUB_TABLES}

    def __call__(self, name: str, *, large: bool = False, observers: list[RowObserver] | None = None) -> MemoryTable:
        if name not in self.known:
            raise CatalogError(f"table {name!r} is not in the catalog", field="table")
        if name in self.tables:
            raise CatalogError(f"table {name!r} is made twice", field="table")
        self.tables[name] = MemoryTable(observers)
        return self.tables[name]


class MemoryHub:
    """Context, intake and every flow, driven by direct calls instead of Kafka consumers."""

    def __init__(self, runtime: HubRuntime, *, flows: bool = True) -> None:
        self.sender = RecordingSender()
        self.make_table = MemoryTables()
        self.ctx: HubContext = build_context(runtime, self.sender, self.make_table)
        if flows:
            from hub.flows import register_all

            register_all(self.ctx)
        self.intake = Intake(self.ctx)
        self._offsets: dict[tuple[str, int], int] = {}
        self._settled = 0  # records of sender.sent already looked at by settle()
        self._settling = False

    def table(self, name: str) -> MemoryTable:
        return self.make_table.tables[name]

    def record(self, topic: str, key: bytes | None, value: bytes | None, partition: int = 0,
               headers: tuple[tuple[str, bytes | None], ...] = ()) -> RawRecord:
        """A record as the consumer would hand it over (the next offset of that partition)."""
        offset = self._offsets.get((topic, partition), 0)
        self._offsets[(topic, partition)] = offset + 1
        return RawRecord(topic, partition, offset, key, value, headers)

    async def receive(self, catalog_topic: str, key: bytes | None, value: bytes | None, partition: int = 0) -> None:
        """One record arriving on a catalog topic: decoded (or dead-lettered) and dispatched like the worker's,
        then settled."""
        await self._dispatch(catalog_topic, key, value, partition)
        await self.settle()

    async def settle(self) -> None:
        """Run the commit waits, and receive what the hub sent to ``hub.ticks`` since, until nothing is left."""
        if self._settling:
            return
        self._settling = True
        try:
            ticks = self.ctx.settings.topic(self.ctx.topics.ticks)
            while True:
                for job in self.ctx.hooks.commit_waits:
                    await job()
                new, self._settled = self.sender.sent[self._settled:], len(self.sender.sent)
                internal = [s for s in new if s.topic == ticks]
                if not internal:
                    return
                for s in internal:
                    await self._dispatch(self.ctx.topics.ticks, s.key, s.value, s.partition or 0)
        finally:
            self._settling = False

    async def _dispatch(self, catalog_topic: str, key: bytes | None, value: bytes | None, partition: int) -> None:
        rt = self.ctx.runtime
        record = self.record(rt.settings.topic(catalog_topic), key, value, partition)
        try:
            msg = decode_value(self.ctx, value or b"")
        except Exception as exc:  # noqa: BLE001  (as faust's decode-error hook: whatever fails is a dead letter)
            await self.intake.undecodable(exc, record)
            return
        role = rt.catalog.get(catalog_topic).role
        if role is Role.COURT_REQUESTS:
            await self.intake.court_message(msg, record)
        elif role is Role.AGENCY_OUTBOX:
            await self.intake.agency_message(msg, record)
        elif role is Role.TICKS:
            await self.intake.internal_message(msg, record)
        else:
            raise CatalogError(f"the hub does not consume {catalog_topic}", field="topic")

    async def audit_entries(self) -> list[dict[str, Any]]:
        """Every audit entry written so far (batches flushed first), chain by chain, in order."""
        await self.ctx.audit.writer.flush()
        codec = self.ctx.codec
        batches = [Batch.from_message(codec.decode(s.value or b""))
                   for s in self.sender.on(self.ctx.settings.topic(self.ctx.topics.audit))]
        return [codec.decode(e).body for b in sorted(batches, key=lambda b: (b.chain, b.first_index))
                for e in b.entries]

    async def send(self, catalog_topic: str, key: str, msg: AvroMessage, partition: int = 0) -> None:
        """Encode ``msg`` and receive it (a court's or an agency's message)."""
        await self.receive(catalog_topic, key.encode(), self.ctx.codec.encode_message(msg), partition)
