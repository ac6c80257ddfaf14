"""The simulated police's persistent state (sqlite under ``<data_dir>/police/``).

* ``replies``: request id -> the encoded reply, so a redelivered request is answered with the
  same bytes and has its effect once;
* ``measures``: every measure placed, with its state (active / released / lapsed);
* ``emitted``: (measure id, planned sequence) of each sighting already sent, so a restart never
  sends a sighting twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (request_id TEXT PRIMARY KEY, reply BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS measures (
    measure_id TEXT PRIMARY KEY, kind TEXT NOT NULL, request_id TEXT NOT NULL, court TEXT NOT NULL,
    case_number TEXT NOT NULL, subject_id TEXT NOT NULL, plate TEXT, placed_at_ms INTEGER NOT NULL,
    end_ms INTEGER, state TEXT NOT NULL, ended_at_ms INTEGER, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS emitted (measure_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL,
    PRIMARY KEY (measure_id, seq));
"""


@dataclass(frozen=True, slots=True)
class Measure:
    measure_id: str
    kind: str
    request_id: str
    court: str
    case_number: str
    subject_id: str
    plate: str | None
    placed_at_ms: int
    end_ms: int | None
    state: str
    ended_at_ms: int | None
    detail: dict[str, Any]


class PoliceStore:
    def __init__(self, path: Path | str = ":memory:") -> None:
        self.db = sqlite3.connect(str(path))
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- replies ----------------------------------------------------------------------
    def reply(self, request_id: str) -> bytes | None:
        row = self.db.execute("SELECT reply FROM replies WHERE request_id = ?", (request_id,)).fetchone()
        return bytes(row[0]) if row else None

    def save_reply(self, request_id: str, reply: bytes) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO replies VALUES (?, ?)", (request_id, reply))

    # --- measures ---------------------------------------------------------------------
    def add_measure(self, m: Measure) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO measures VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (m.measure_id, m.kind, m.request_id, m.court, m.case_number, m.subject_id, m.plate,
                 m.placed_at_ms, m.end_ms, m.state, m.ended_at_ms, json.dumps(m.detail, ensure_ascii=False)),
            )

    def measure(self, measure_id: str) -> Measure | None:
        row = self.db.execute("SELECT * FROM measures WHERE measure_id = ?", (measure_id,)).fetchone()
        return _measure(row) if row else None

    def measures(self, state: str | None = None) -> list[Measure]:
        if state is None:
            rows = self.db.execute("SELECT * FROM measures ORDER BY placed_at_ms").fetchall()
        else:
            rows = self.db.execute("SELECT * FROM measures WHERE state = ? ORDER BY placed_at_ms",
                                   (state,)).fetchall()
        return [_measure(r) for r in rows]

    def end_measure(self, measure_id: str, state: str, at_ms: int) -> bool:
        """Released or lapsed; False when it was not active."""
        with self.db:
            cur = self.db.execute(
                "UPDATE measures SET state = ?, ended_at_ms = ? WHERE measure_id = ? AND state = 'active'",
                (state, at_ms, measure_id))
        return cur.rowcount == 1

    def active_seizures(self, plate: str) -> list[Measure]:
        return [m for m in self.measures("active") if m.kind == "VEHICLE_SEIZURE" and m.plate == plate]

    # --- emitted sightings ------------------------------------------------------------------
    def emitted(self, measure_id: str) -> set[int]:
        rows = self.db.execute("SELECT seq FROM emitted WHERE measure_id = ?", (measure_id,)).fetchall()
        return {int(r[0]) for r in rows}

    def mark_emitted(self, measure_id: str, seq: int, at_ms: int) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO emitted VALUES (?, ?, ?)", (measure_id, seq, at_ms))


def _measure(row: tuple[Any, ...]) -> Measure:
    return Measure(row[0], row[1], row[2], row[3], row[4], row[5], row[6], int(row[7]),
                   None if row[8] is None else int(row[8]), row[9], None if row[10] is None else int(row[10]),
                   json.loads(row[11]))
