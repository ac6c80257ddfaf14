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
from hub.table_store import HubRocksStore, is_rocksdb, rocksdb_options, rocksdb_url
from topics.catalog import HUB_PARTITIONS, HUB_TABLES, Role, table_changelog_name

log = logging.getLogger(__name__)

TICK = "cn.court.interop.ops.Tick"
TICK_INTERVAL_S = 1.0

Observer = Callable[[str, dict[str, Any], dict[str, Any] | None], None]  # (key, new row, row it replaces)


class HubTable(faust.Table):  # type: ignore[type-arg]
    """A faust table whose ``rocksdb://`` store is :class:`~hub.table_store.HubRocksStore`."""

    def _new_store_by_url(self, url: Any) -> Any:
        if not is_rocksdb(url):
            return super()._new_store_by_url(url)
        return HubRocksStore(
            url, self.app, self, table_name=self.name, key_type=self.key_type, key_serializer=self.key_serializer,
            value_serializer=self.value_serializer, value_type=self.value_type, loop=self.loop, options=self.options,
        )


class ObservedTable(HubTable):
    """A table that tells its observers about every row written (inside stream processing)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.observers: list[Observer] = []

    def on_key_set(self, key: Any, value: Any) -> None:
        old = self.data.get(key) if self.observers else None
        super().on_key_set(key, value)
        if self.observers and isinstance(value, dict):
            for observer in self.observers:
                observer(key, value, old if isinstance(old, dict) else None)


def hub_table(name: str, cls: type[Any] = HubTable, *, large: bool = False) -> Any:
    """A faust table whose changelog is the catalog's topic for it (see ``topics.catalog.HUB_TABLES``).

    ``large`` tables (a row per request) live in ``settings.large_table_store`` (RocksDB by default,
    :mod:`hub.table_store`); the others in ``settings.store``.
    """
    if name not in {t for t, _, _ in HUB_TABLES}:
        raise CatalogError(f"table {name!r} is not in the catalog", field="table")
    changelog = app.topic(settings.topic(table_changelog_name(name)), partitions=HUB_PARTITIONS,
                          compacting=True, deleting=False, key_serializer="json", value_serializer="json")
    store: Any = settings.large_table_store if large else settings.store
    options = None
    if is_rocksdb(store):
        # a store URL without a path is falsy in yarl (faust would fall back to the app's store): name it
        store, options = rocksdb_url(store, name), rocksdb_options(settings)
    table = cls(app, name=name, beacon=app.tables.beacon, default=None, partitions=HUB_PARTITIONS,
                changelog_topic=changelog, store=store, options=options)
    return app.tables.add(table)


#: request id -> lifecycle record (hub.lifecycle); every write is observed by the deadline tracker
requests: ObservedTable = hub_table("requests", ObservedTable, large=True)
#: "<partition>:<minute>" -> number of chunks due in that minute; "<partition>:<minute>:<n>" -> [[kind, request id],
#: ...] (at most hub.deadline_tracker.CHUNK); "<partition>:cursor" -> last minute done
deadline_index = hub_table("deadline_index", large=True)

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
TICKS_TOPIC = settings.topic(runtime.catalog.one(Role.TICKS).name)


@app.timer(interval=TICK_INTERVAL_S)  # type: ignore[untyped-decorator]
async def issue_ticks() -> None:
    if not _tick_handlers:
        return
    for tp in sorted(app.assignor.assigned_actives()):
        if tp.topic != TICKS_TOPIC:
            continue
        tick = message(TICK, envelope(runtime.clock, request_id=f"tick-{tp.partition}", recipient="hub"),
                       {"partition": tp.partition, "issued_at": runtime.clock.now()})
        await ticks_topic.send(key=str(tp.partition).encode(), value=tick, partition=tp.partition)


@app.agent(ticks_topic)
async def tick_agent(stream: StreamT[AvroMessage]) -> None:
    async for event in stream.events():
        if event.value.schema != TICK:
            continue  # other hub-internal messages on the topic (the list sequencer's outcomes)
        partition = event.message.partition
        now_ms = runtime.clock.now_ms()
        for handler in _tick_handlers:
            try:
                await handler(partition, now_ms)
            except Exception:
                log.exception("tick handler %s failed on partition %d", handler.__name__, partition)
