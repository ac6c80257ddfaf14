"""Where the hub's large tables live: RocksDB on the worker's persistent data dir.

The ``requests`` table and its ``deadline_index`` hold a row per outstanding request — a million
of them is a normal backlog for a national gateway.  In faust's memory store every row is a
Python dict (about 2.8 kB each), so a million rows take ~3 GB and a restarted worker must read the
whole changelog back (faust applies ~8,000 rows/s).  In RocksDB the rows are bytes on disk behind a
bounded cache, and a restarted worker reopens its files and reads only the changelog records
written after the offset it persisted (faust stores that offset in each partition's database).

:class:`HubRocksStore` is faust's RocksDB store (``rocksdict`` driver) with one change: a read (and
``in``) looks the key up in every open partition database instead of only in the partition of the record
being processed.  Rows are written in their case's partition (the setting ``partitions``
co-partitions every hub topic), so both reads find the same row; the difference is that a read
from another context (a tick, a timer, the web view) finds it too, exactly as with the memory
store.  Its cost is a bloom-filter probe per open partition on a miss.
"""

from __future__ import annotations

from typing import Any

from faust.stores.rocksdb import Store as RocksDBStore
from yarl import URL

from hub.settings import HubSettings

MB = 1024 * 1024
ROCKSDB_SCHEMES = frozenset({"rocksdb", "rocksdict"})


class HubRocksStore(RocksDBStore):
    """faust's RocksDB store whose reads do not depend on the partition being processed."""

    def _get(self, key: bytes) -> bytes | None:
        found = self._get_bucket_for_key(key)
        return None if found is None else bytes(found.value)

    def _contains(self, key: bytes) -> bool:
        return self._get_bucket_for_key(key) is not None


def is_rocksdb(url: str | URL) -> bool:
    return URL(str(url)).scheme in ROCKSDB_SCHEMES


def rocksdb_url(url: str | URL, table: str) -> URL:
    """``url`` naming the table's files (``rocksdb:requests``: ``<tabledir>/requests-<partition>.db``)."""
    parsed = URL(str(url))
    return parsed if parsed.path.strip("/") else parsed / table


def rocksdb_options(settings: HubSettings) -> dict[str, Any]:
    """Options of each partition database: bounded memtables and block cache (RSS stays small)."""
    return {
        "driver": "rocksdict",
        "write_buffer_size": settings.rocksdb_write_buffer_mb * MB,
        "max_write_buffer_number": 2,
        "block_cache_size": settings.rocksdb_cache_mb * MB,
        "target_file_size_base": 32 * MB,
    }
