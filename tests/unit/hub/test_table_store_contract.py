"""One contract for every table store the hub runs on (``memory://`` and ``rocksdb://``).

The hub writes a row while processing a record of the row's case partition and reads it while
processing any other (a reply keyed differently from its request), or outside processing (the
HTTP pages, the gauges' scan): every backend must behave the same.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.streams import _current_event
from faust.types import TP

from hub.settings import HubSettings
from hub.table_store import HubRocksStore, is_rocksdb, rocksdb_options, rocksdb_url
from hub.tables import HubTable

STORES = ["memory://", "rocksdb://"]
PARTITIONS = 4


class _Event:
    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


class _Processing:
    """Marks a record of ``partition`` as being processed (what faust's stream does around a handler)."""

    def __init__(self) -> None:
        self.event: _Event | None = None

    def __call__(self, partition: int | None) -> None:
        self.event = _Event(partition) if partition is not None else None
        _current_event.set(weakref.ref(self.event) if self.event is not None else None)  # type: ignore[arg-type]


@pytest.fixture(params=STORES)
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    url = str(request.param)
    app = faust.App(f"contract-{url[:6]}", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    changelog = app.topic("rows-changelog", partitions=PARTITIONS, key_serializer="json", value_serializer="json")
    is_rocks = url.startswith("rocksdb")
    table = HubTable(app, name="rows", partitions=PARTITIONS, default=None, changelog_topic=changelog,
                     store=rocksdb_url(url, "rows") if is_rocks else url,
                     options=rocksdb_options(HubSettings()) if is_rocks else None)
    if is_rocks:
        assert isinstance(table.data, HubRocksStore)
        for p in range(PARTITIONS):
            table.data._db_for_partition(p)
    yield table
    _current_event.set(None)


@pytest.fixture
def processing() -> _Processing:
    return _Processing()


def test_a_row_written_in_one_partition_is_read_while_processing_another(table: Any, processing: _Processing) -> None:
    store = table.data
    processing(2)
    store["r-1"] = {"state": "delivered"}
    processing(3)  # e.g. a reply keyed differently from its request
    assert store.get("r-1") == {"state": "delivered"} and "r-1" in store
    assert table.get("r-1") == {"state": "delivered"}


def test_a_row_is_read_outside_processing(table: Any, processing: _Processing) -> None:
    processing(1)
    table.data["r-1"] = {"state": "routed"}
    processing(None)
    assert table.data.get("r-1") == {"state": "routed"} and table.data.get("r-unknown") is None


def test_a_rewrite_replaces_the_row_and_a_delete_removes_it(table: Any, processing: _Processing) -> None:
    store = table.data
    processing(0)
    store["r-1"] = {"state": "delivered"}
    store["r-1"] = {"state": "answered"}
    processing(2)
    assert store.get("r-1") == {"state": "answered"}
    processing(0)
    del store["r-1"]
    processing(None)
    assert store.get("r-1") is None and "r-1" not in store


def test_every_row_of_the_partitions_this_worker_owns_is_listed(table: Any, processing: _Processing,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    owned = {TP(table.changelog_topic_name, p) for p in range(PARTITIONS)}
    monkeypatch.setattr(table.app.assignor, "assigned_actives", lambda: owned)
    store = table.data
    for p in range(PARTITIONS):
        processing(p)
        store[f"r-{p}"] = {"p": p}
    processing(None)
    assert sorted(store.keys()) == [f"r-{p}" for p in range(PARTITIONS)]
    assert sorted(v["p"] for v in store.values()) == list(range(PARTITIONS))
    assert dict(store.items())["r-3"] == {"p": 3}


def test_a_pathless_rocksdb_url_is_named_after_its_table() -> None:
    assert str(rocksdb_url("rocksdb://", "requests")) == "rocksdb:requests"
    assert str(rocksdb_url("rocksdb:custom", "requests")) == "rocksdb:custom"
    assert is_rocksdb("rocksdb://") and not is_rocksdb("memory://")
