"""A consumer's copy of the dishonest-debtor list: the credit platform's and each joint unit's store.

The copy is the sequence of ListEvents it has applied, kept as the bytes the hub published
(sqlite table ``events``), plus the list they produce (:class:`~hub.flows.credit.list_state.ListState`,
rebuilt in memory on open).  Because the stored bytes are the hub's own, re-opening, replaying or
exporting never re-interprets anything: the digest after the last event is the hub's digest.

A copy bootstrapped from the current list (:mod:`agents.credit.bootstrap`) starts instead at a verified
publication P: table ``base`` says where (P, its digest, the history offset after it) and ``base_entries``
keeps the hub's bytes each listing in force at P came from (a ``ListEntry`` or a ``ListEvent``); the
events after P follow in ``events`` as in any copy (:mod:`agents.credit.snapshot`).

Interface for look-ups ("is this subject listed, and why?", tendering notice §3): :meth:`ListStore.lookup`
answers from the store directly; the platform simulator answers ``ListLookupRequest`` messages on
its inbox with it (``ListLookupReply`` on its outbox).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.credit.snapshot import BeforeSnapshot, SnapshotBase, listing_in_force, restored
from hub.codec import AvroCodec, default_codec
from hub.errors import ConfigError
from hub.flows.credit.list_state import Entry, ListState, canonical, subject_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (pub INTEGER PRIMARY KEY, log_offset INTEGER NOT NULL, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS base (
    id INTEGER PRIMARY KEY CHECK (id = 1), pub INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    published_ms INTEGER NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS base_entries (listing_id TEXT PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS restrictions (
    restriction_id TEXT PRIMARY KEY, subject TEXT NOT NULL, case_number TEXT NOT NULL,
    placed_ms INTEGER, lifted_ms INTEGER, lift_reason TEXT);
"""


@dataclass(frozen=True)
class Lookup:
    listed: bool
    entries: list[dict[str, Any]]
    removed_listing_ids: list[str]
    last_publication_id: int


class ListStore:
    """One consumer's copy, in ``path`` (``:memory:`` for a throw-away copy)."""

    def __init__(self, path: Path | str, codec: AvroCodec | None = None) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.codec = codec or default_codec()
        self.db = sqlite3.connect(str(path))
        self.db.executescript(_SCHEMA)
        self.state = ListState()
        self.next_offset = 0
        self.base: SnapshotBase | None = None
        self._load()

    def close(self) -> None:
        self.db.close()

    @classmethod
    def wipe(cls, path: Path) -> None:
        """Delete a consumer's copy (the store file) entirely."""
        for p in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def _load(self) -> None:
        row = self.db.execute("SELECT pub, next_offset, published_ms, digest, size FROM base").fetchone()
        if row is not None:
            self.base = SnapshotBase(int(row[0]), int(row[1]), int(row[2]), str(row[3]), int(row[4]))
            self.state = self._base_state(self.base)
            self.next_offset = self.base.next_offset
        for _pub, offset, raw in self.db.execute("SELECT pub, log_offset, raw FROM events ORDER BY pub"):
            self.state.apply(self.codec.decode(raw).body, verify=False)
            self.next_offset = offset + 1

    def _base_state(self, base: SnapshotBase) -> ListState:
        def listings() -> Iterator[tuple[str, Entry]]:
            for (raw,) in self.db.execute("SELECT raw FROM base_entries"):
                listing_id, entry = listing_in_force(self.codec.decode(raw))
                if entry is not None:
                    yield listing_id, entry

        return restored(base, listings())

    def restore(self, base: SnapshotBase, raws: Iterable[tuple[str, bytes]], state: ListState) -> None:
        """Make this (empty) copy the verified snapshot ``state`` at ``base``, keeping the hub's bytes of each
        listing in force (see :mod:`agents.credit.snapshot`)."""
        if self.last_publication_id or self.base is not None:
            raise ConfigError(f"this copy already holds the list at publication {self.last_publication_id}: "
                              "wipe it before a bootstrap", field="store")
        with self.db:
            self.db.executemany("INSERT INTO base_entries VALUES (?, ?)", raws)
            self.db.execute("INSERT INTO base VALUES (1, ?, ?, ?, ?, ?)", (
                base.publication_id, base.next_offset, base.published_at_ms, base.digest, base.size))
        self.base, self.state, self.next_offset = base, state, base.next_offset

    # --- applying publications ---------------------------------------------------------------
    def apply_batch(self, batch: Iterable[tuple[int, bytes, dict[str, Any]]], *, verify: bool = True) -> int:
        """Apply (log offset, raw bytes, decoded body) in order and store them; returns how many were new."""
        return len(self._apply(batch, verify, None))

    def apply_each(self, batch: Iterable[tuple[int, bytes, dict[str, Any]]], *,
                   verify: bool = True) -> list[tuple[dict[str, Any], str]]:
        """Like :meth:`apply_batch`; returns (body, digest of this copy right after it) per new publication."""
        applied: list[tuple[dict[str, Any], str]] = []
        self._apply(batch, verify, applied)
        return applied

    def _apply(self, batch: Iterable[tuple[int, bytes, dict[str, Any]]], verify: bool,
               applied: list[tuple[dict[str, Any], str]] | None) -> list[tuple[int, int, bytes]]:
        """Apply in order, then store the new publications in one transaction (one executemany)."""
        rows: list[tuple[int, int, bytes]] = []
        state, next_offset = self.state, self.next_offset
        try:
            for offset, raw, body in batch:
                if state.apply(body, verify=verify):
                    rows.append((state.last_publication_id, offset, raw))
                    if applied is not None:
                        applied.append((body, state.hexdigest()))
                if offset >= next_offset:
                    next_offset = offset + 1
        finally:
            self.next_offset = next_offset
        if rows:
            with self.db:
                self.db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?)", rows)
        return rows

    @property
    def last_publication_id(self) -> int:
        return self.state.last_publication_id

    def digest(self) -> str:
        return self.state.hexdigest()

    def published_digest(self) -> str | None:
        """The digest the hub published with the last applied event (or at the snapshot a copy started from)."""
        row = self.db.execute("SELECT raw FROM events ORDER BY pub DESC LIMIT 1").fetchone()
        if row is None:
            return self.base.digest if self.base is not None and self.base.publication_id else None
        return str(self.codec.decode(row[0]).body["list_digest"])

    def events(self) -> Iterator[dict[str, Any]]:
        for (raw,) in self.db.execute("SELECT raw FROM events ORDER BY pub"):
            yield self.codec.decode(raw).body

    # --- reading the list ---------------------------------------------------------------------
    def as_of(self, at_ms: int) -> ListState:
        """The list as it stood at ``at_ms`` (every publication made at or before that moment)."""
        state = ListState()
        if self.base is not None:
            if at_ms < self.base.published_at_ms:
                raise BeforeSnapshot(f"this copy starts at publication {self.base.publication_id} (a snapshot): "
                                     "the list before it needs a copy replayed from the history", field="as_of")
            state = self._base_state(self.base)
        for body in self.events():
            if int(body["published_at"].timestamp() * 1000) > at_ms:
                break
            state.apply(body, verify=False)
        return state

    def lookup(self, id_number: str, *, as_of_ms: int | None = None, include_removed: bool = False) -> Lookup:
        state = self.state if as_of_ms is None else self.as_of(as_of_ms)
        in_force, removed = [], []
        for lid in state.listings_of(id_number):
            if lid in state.entries:
                in_force.append(state.entries[lid])
            elif include_removed and lid in state.removed:
                removed.append(state.removed[lid].entry)
        return Lookup(bool(in_force), in_force + removed, [e["listing_id"] for e in removed],
                      state.last_publication_id)

    def is_listed(self, id_number: str) -> bool:
        return any(lid in self.state.entries for lid in self.state.listings_of(id_number))

    def export_lines(self) -> Iterator[bytes]:
        """The current list, one canonical JSON entry per line, sorted by listing id."""
        for lid in sorted(self.state.entries):
            yield canonical(self.state.entries[lid])

    # --- consumption restriction (限制消费, 004 §23) ----------------------------------------------
    def place_restriction(self, restriction_id: str, subject: str, case_number: str, at_ms: int) -> bool:
        with self.db:
            cur = self.db.execute("INSERT OR IGNORE INTO restrictions VALUES (?, ?, ?, ?, NULL, NULL)",
                                  (restriction_id, subject.strip().upper(), case_number, at_ms))
        return cur.rowcount == 1

    def has_restriction(self, restriction_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM restrictions WHERE restriction_id = ?",
                               (restriction_id,)).fetchone() is not None

    def lift_restriction(self, restriction_id: str, at_ms: int, reason: str | None) -> bool:
        with self.db:
            cur = self.db.execute("UPDATE restrictions SET lifted_ms = ?, lift_reason = ? "
                                  "WHERE restriction_id = ? AND lifted_ms IS NULL", (at_ms, reason, restriction_id))
        return cur.rowcount == 1

    def consumption_restricted(self, id_number: str) -> bool:
        """Listing implies restriction; a restriction order alone restricts without listing (004 §23)."""
        if self.is_listed(id_number):
            return True
        row = self.db.execute("SELECT 1 FROM restrictions WHERE subject = ? AND lifted_ms IS NULL LIMIT 1",
                              (id_number.strip().upper(),)).fetchone()
        return row is not None


__all__ = ["ListStore", "Lookup", "subject_key"]
