"""The hub's changelog-backed tables and its per-partition clock ticks.

Every table is keyed by an id but written while processing a record keyed by case number, so a
row lives in its case's partition (see ``topics.catalog.HUB_PARTITIONS``).  Faust can only change
a table inside stream processing; deadline checks therefore run on ticks: a timer sends one
``Tick`` per assigned partition to ``hub.ticks`` and the tick agent calls every registered handler
with that partition and the injected clock's time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust import StreamT

from hub.app import app, runtime, settings, topic_for
from hub.codec import AvroMessage
from hub.envelope import envelope, message
from hub.errors import CatalogError
from topics.catalog import HUB_PARTITIONS, HUB_TABLES, Role, table_changelog_name

log = logging.getLogger(__name__)

TICK = "cn.court.interop.ops.Tick"
TICK_INTERVAL_S = 1.0

Observer = Callable[[str, dict[str, Any], dict[str, Any] | None], None]  # (key, new row, row it replaces)


class ObservedTable(faust.Table):  # type: ignore[type-arg]
    """A table that tells an observer about every row written (inside stream processing)."""

    observer: Observer | None = None

    def on_key_set(self, key: Any, value: Any) -> None:
        old = self.data.get(key) if self.observer is not None else None
        super().on_key_set(key, value)
        if self.observer is not None and isinstance(value, dict):
            self.observer(key, value, old if isinstance(old, dict) else None)


def hub_table(name: str, cls: type[Any] = faust.Table) -> Any:
    """A faust table whose changelog is the catalog's topic for it (see ``topics.catalog.HUB_TABLES``)."""
    if name not in {t for t, _, _ in HUB_TABLES}:
        raise CatalogError(f"table {name!r} is not in the catalog", field="table")
    changelog = app.topic(settings.topic(table_changelog_name(name)), partitions=HUB_PARTITIONS,
                          compacting=True, deleting=False, key_serializer="json", value_serializer="json")
    table = cls(app, name=name, beacon=app.tables.beacon, default=None, partitions=HUB_PARTITIONS,
                changelog_topic=changelog)
    return app.tables.add(table)


#: request id -> lifecycle record (hub.lifecycle); every write is observed by the deadline tracker
requests: ObservedTable = hub_table("requests", ObservedTable)
#: "<partition>:<minute>" -> number of chunks due in that minute; "<partition>:<minute>:<n>" -> [[kind, request id],
#: ...] (at most hub.deadline_tracker.CHUNK); "<partition>:cursor" -> last minute done
deadline_index = hub_table("deadline_index")

TickHandler = Callable[[int, int], Awaitable[None]]  # (partition, now_ms)
_tick_handlers: list[TickHandler] = []


def on_tick(fn: TickHandler) -> TickHandler:
    """Register a deadline check that runs for each partition on every tick."""
    _tick_handlers.append(fn)
    return fn


def open_rows(table: object, partition: int) -> list[tuple[str, dict[str, Any]]]:
    """Rows of ``table`` that belong to ``partition`` (rows record their partition as ``p``)."""
    return [(k, v) for k, v in table.items() if isinstance(v, dict) and v.get("p") == partition]  # type: ignore[attr-defined]


ticks_topic = topic_for(Role.TICKS)


@app.timer(interval=TICK_INTERVAL_S)  # type: ignore[untyped-decorator]
async def issue_ticks() -> None:
    if not _tick_handlers:
        return
    name = settings.topic(runtime.catalog.one(Role.TICKS).name)
    for tp in sorted(app.assignor.assigned_actives()):
        if tp.topic != name:
            continue
        tick = message(TICK, envelope(runtime.clock, request_id=f"tick-{tp.partition}", recipient="hub"),
                       {"partition": tp.partition, "issued_at": runtime.clock.now()})
        await ticks_topic.send(key=str(tp.partition).encode(), value=tick, partition=tp.partition)


@app.agent(ticks_topic)
async def tick_agent(stream: StreamT[AvroMessage]) -> None:
    async for event in stream.events():
        partition = event.message.partition
        now_ms = runtime.clock.now_ms()
        for handler in _tick_handlers:
            try:
                await handler(partition, now_ms)
            except Exception:
                log.exception("tick handler %s failed on partition %d", handler.__name__, partition)
