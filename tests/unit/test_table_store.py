"""The large tables' RocksDB store: reads find a row whatever partition is being processed."""

from __future__ import annotations

import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
from faust.streams import _current_event

from hub.settings import HubSettings
from hub.table_store import HubRocksStore, is_rocksdb, rocksdb_options, rocksdb_url


def _table(tmp_path: Path) -> Any:
    from hub.tables import HubTable

    app = faust.App("test-table-store", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    changelog = app.topic("requests-changelog", partitions=4, key_serializer="json", value_serializer="json")
    return HubTable(app, name="requests", partitions=4, default=None, changelog_topic=changelog,
                    store=rocksdb_url("rocksdb://", "requests"), options=rocksdb_options(HubSettings()))


class _Event:
    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def _processing(partition: int) -> _Event:
    event = _Event(partition)
    _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
    return event


def test_a_pathless_store_url_is_named_after_its_table() -> None:
    assert str(rocksdb_url("rocksdb://", "requests")) == "rocksdb:requests"
    assert str(rocksdb_url("rocksdb:custom", "requests")) == "rocksdb:custom"
    assert is_rocksdb("rocksdb://") and not is_rocksdb("memory://")


def test_a_row_written_in_one_partition_is_read_from_any_other_and_outside_processing(tmp_path: Path) -> None:
    table = _table(tmp_path)
    store = table.data
    assert isinstance(store, HubRocksStore)
    for p in range(4):
        store._db_for_partition(p)
    keep = _processing(2)
    store["r-1"] = {"state": "delivered"}
    assert Path(store.partition_path(2)).is_dir()
    keep = _processing(3)  # e.g. a reply keyed differently from its request
    assert store.get("r-1") == {"state": "delivered"}
    assert "r-1" in store and table.get("r-1") == {"state": "delivered"}
    _current_event.set(None)
    assert store.get("r-1") == {"state": "delivered"}
    assert store.get("r-unknown") is None
    del keep
