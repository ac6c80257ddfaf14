"""Simulated joint-punishment units (联合惩戒单位, memo of 2016 §2-§4; tendering notice §4).

A unit reads ``credit.list.history`` (it has no mailbox), keeps its own copy of the list and applies its
measure while a subject is listed: the airline ticket check (``caac``, memo item (十九)) refuses tickets,
the bank credit check (``bankcredit``, memo item (九)) refuses credit.  The restriction starts at the
publication that lists the subject and ends at the moment of deletion or revocation (tendering notice §4:
"自失信被执行人从…信息库中删除之时起终止").  Because measures are derived from the publications alone, a
unit that joins late and catches up by replay holds exactly the same measures and the same digest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.credit.store import ListStore
from hub.flows.credit.list_state import Entry, subject_key

MEASURES = {
    "caac": "限制乘坐飞机 (memo item 十九): air tickets refused",
    "bankcredit": "融资授信从严审核 (memo item 九): credit refused",
    "railway": "限制乘坐列车软卧、G字头动车组 (memo item 十九)",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measures (
    listing_id TEXT PRIMARY KEY, subject TEXT NOT NULL, applied_ms INTEGER NOT NULL, lifted_ms INTEGER);
CREATE INDEX IF NOT EXISTS measures_subject ON measures (subject);
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    listing_ids: list[str]
    measure: str


class JointUnit:
    def __init__(self, code: str, store: ListStore) -> None:
        self.code = code
        self.store = store
        self.db: sqlite3.Connection = store.db
        self.db.executescript(_SCHEMA)

    def apply(self, records: Iterable[tuple[int, bytes, dict[str, Any]]]) -> int:
        """Apply publications to the copy and the measures: restrict on LIST, lift on REVOKE / DELETE."""
        applied = self.store.apply_each(records)
        with self.db:
            for body, _digest in applied:
                at = int(body["published_at"].timestamp() * 1000)
                lid = str(body["listing_id"])
                if body["in_force"]:
                    self.db.execute("INSERT OR IGNORE INTO measures VALUES (?, ?, ?, NULL)",
                                    (lid, subject_key(body["entry"]), at))
                else:
                    self.db.execute("UPDATE measures SET lifted_ms = ? WHERE listing_id = ? AND lifted_ms IS NULL",
                                    (at, lid))
        return len(applied)

    def seed(self, entries: Mapping[str, Entry]) -> int:
        """Restrict every listing in force of a copy bootstrapped from a snapshot (:mod:`agents.credit.bootstrap`).

        A snapshot does not carry when each listing was first published, so a seeded restriction runs from
        the listing's ``listed_at`` (the court's decision), the earliest moment the record names; restrictions
        of later publications run from their publication, as after a replay.
        """
        rows = [(lid, subject_key(e), int(e["listed_at"].timestamp() * 1000)) for lid, e in entries.items()]
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO measures VALUES (?, ?, ?, NULL)", rows)
        return len(rows)

    def check(self, id_number: str) -> Decision:
        """May this subject be served (ticket sold, credit granted)?"""
        rows = self.db.execute("SELECT listing_id FROM measures WHERE subject = ? AND lifted_ms IS NULL "
                               "ORDER BY listing_id", (id_number.strip().upper(),)).fetchall()
        ids = [str(r[0]) for r in rows]
        return Decision(not ids, ids, MEASURES.get(self.code, "restricted"))

    def periods(self, id_number: str) -> list[tuple[str, int, int | None]]:
        """(listing id, restricted from ms, lifted at ms or None) for a subject."""
        rows = self.db.execute("SELECT listing_id, applied_ms, lifted_ms FROM measures WHERE subject = ? "
                               "ORDER BY applied_ms", (id_number.strip().upper(),)).fetchall()
        return [(str(a), int(b), int(c) if c is not None else None) for a, b, c in rows]

    def active_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM measures WHERE lifted_ms IS NULL").fetchone()[0])
