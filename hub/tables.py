"""The hub's changelog-backed faust tables (the worker's :data:`hub.context.TableMaker`).

Every table is keyed by an id but written while processing a record keyed by case number, so a
row lives in its case's partition (see the setting ``partitions``).  Faust can only change
a table inside stream processing; time-driven checks therefore run on ticks (:mod:`hub.worker_app`).
"""

from __future__ import annotations

from typing import Any

import faust

from hub.errors import CatalogError
from hub.hooks import RowObserver
from hub.settings import HubSettings
from hub.table_store import HubRocksStore, is_rocksdb, rocksdb_options, rocksdb_url
from topics.catalog import HUB_TABLES, table_changelog_name


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

    def __init__(self, *args: Any, observers: list[RowObserver] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.observers: list[RowObserver] = observers if observers is not None else []

    def on_key_set(self, key: Any, value: Any) -> None:
        old = self.data.get(key) if self.observers else None
        super().on_key_set(key, value)
        if self.observers and isinstance(value, dict):
            for observer in self.observers:
                observer(key, value, old if isinstance(old, dict) else None)


def faust_table_maker(app: faust.App, settings: HubSettings) -> Any:
    """``make_table(name, large=False, observers=None)``: a faust table whose changelog is the catalog's topic
    for it (see ``topics.catalog.HUB_TABLES``).

    ``large`` tables (a row per request) live in ``settings.large_table_store`` (RocksDB by default,
    :mod:`hub.table_store`); the others in ``settings.store``.
    """
    known = {t for t, _, _ in HUB_TABLES}

    def make_table(name: str, *, large: bool = False, observers: list[RowObserver] | None = None) -> Any:
        if name not in known:
            raise CatalogError(f"table {name!r} is not in the catalog", field="table")
        changelog = app.topic(settings.topic(table_changelog_name(name)), partitions=settings.partitions,
                              compacting=True, deleting=False, key_serializer="json", value_serializer="json")
        store: Any = settings.large_table_store if large else settings.store
        options = None
        if is_rocksdb(store):
            # a store URL without a path is falsy in yarl (faust would fall back to the app's store): name it
            store, options = rocksdb_url(store, name), rocksdb_options(settings)
        extra: dict[str, Any] = {"observers": observers} if observers is not None else {}
        table = (ObservedTable if observers is not None else HubTable)(
            app, name=name, beacon=app.tables.beacon, default=None, partitions=settings.partitions,
            changelog_topic=changelog, store=store, options=options, **extra)
        return app.tables.add(table)

    return make_table
