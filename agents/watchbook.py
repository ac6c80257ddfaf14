"""A simulated agency's standing watches (hub.flows.sweeps): the subjects the hub told it to watch, the events
of its world, and the hits it reported — one sqlite file per agency beside its other state.

The hub sends WatchSubject(ADD / REMOVE) to the agency's inbox; :meth:`WatchBook.apply` keeps it.  Something
happening in the agency's world for a subject — an account opened, a deposit, a vehicle registered, a hotel stay
— is an event: :func:`record_event` (the simulators' admin hook, used by the tests and the demo, and
``interop-agency simulate watch-event``) writes it; the simulator's loop then reports every event of a watched
subject, of a kind the watch asked for, within its dates, as a WatchHit at once, and only once.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hub.codec import AvroCodec, AvroMessage
from hub.settings import HubSettings, agency_store

WATCH_HIT = "cn.court.interop.sweep.WatchHit"
HIT_NAMESPACE = uuid.UUID("2f7c9a41-6b3e-4d8a-9c15-7e0b3a5d2c68")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (watch_id TEXT PRIMARY KEY, case_number TEXT NOT NULL, court TEXT NOT NULL,
    id_number TEXT NOT NULL, kinds TEXT NOT NULL, until TEXT NOT NULL, removed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id_number TEXT NOT NULL, kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL, detail TEXT NOT NULL, extra TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS hits (watch_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (watch_id, seq));
"""


def book_path(settings: HubSettings, kind: str, code: str) -> Path:
    """Where agency ``code`` (of store ``kind``: banks, police) keeps its watches."""
    return agency_store(settings, kind) / f"{code}.watches.sqlite"


@dataclass(frozen=True, slots=True)
class Hit:
    case_number: str
    value: bytes
    watch_id: str
    seq: int


class WatchBook:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def apply(self, body: dict[str, Any]) -> None:
        """A WatchSubject from the hub: start or stop watching."""
        if body["action"] == "ADD" and body.get("subject"):
            self.db.execute("INSERT OR REPLACE INTO watches VALUES (?, ?, ?, ?, ?, ?, 0)", (
                body["watch_id"], body["case_number"], body["court_code"], body["subject"]["id_number"],
                json.dumps(body["kinds"]), (body["until"] or date.max).isoformat()))
        elif body["action"] == "REMOVE":
            self.db.execute("UPDATE watches SET removed = 1 WHERE watch_id = ?", (body["watch_id"],))

    def watched(self) -> list[str]:
        """The subjects watched now (what the agency may see of the courts' watches)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT id_number FROM watches WHERE removed = 0")]

    def record(self, id_number: str, kind: str, detail: str, occurred_at: datetime | None = None,
               **extra: Any) -> None:
        self.db.execute("INSERT INTO events (id_number, kind, occurred_at, detail, extra) VALUES (?, ?, ?, ?, ?)",
                        (id_number, kind, (occurred_at or datetime.now(UTC)).isoformat(), detail, json.dumps(extra)))

    def due_hits(self, agency: str, codec: AvroCodec) -> tuple[list[Hit], int]:
        """A WatchHit for every new event of a watched subject (events of no watched subject are dropped), and the
        last event looked at (pass both to :meth:`reported` once the hits are sent)."""
        hits = []
        events = list(self.db.execute(
            "SELECT seq, id_number, kind, occurred_at, detail, extra FROM events WHERE done = 0 ORDER BY seq"))
        last = events[-1][0] if events else 0
        for seq, id_number, kind, occurred, detail, extra in events:
            at = datetime.fromisoformat(occurred)
            for watch_id, case_number, court, kinds, until in self.db.execute(
                    "SELECT watch_id, case_number, court, kinds, until FROM watches "
                    "WHERE removed = 0 AND id_number = ?", (id_number,)):
                if (json.loads(kinds) and kind not in json.loads(kinds)) or at.date() > date.fromisoformat(until):
                    continue
                more = json.loads(extra)
                env = {"message_id": str(uuid.uuid5(HIT_NAMESPACE, f"{agency}/{watch_id}/{seq}")),
                       "request_id": watch_id, "correlation_id": None, "sender": agency, "recipient": court,
                       "sent_at": at, "schema_version": 1}
                body = {"watch_id": watch_id, "case_number": case_number, "id_number": id_number, "kind": kind,
                        "occurred_at": at, "detail": detail, "account_number": more.get("account_number"),
                        "amount": more.get("amount"), "plate_number": more.get("plate_number")}
                hits.append(Hit(case_number, codec.encode_message(AvroMessage(WATCH_HIT, {"envelope": env,
                                                                                          "body": body})),
                                watch_id, seq))
        return hits, last

    def reported(self, hits: list[Hit], last: int) -> None:
        """The hits are on the outbox: the events up to ``last`` are done."""
        for hit in hits:
            self.db.execute("INSERT OR IGNORE INTO hits VALUES (?, ?)", (hit.watch_id, hit.seq))
        self.db.execute("UPDATE events SET done = 1 WHERE done = 0 AND seq <= ?", (last,))


def record_event(settings: HubSettings, kind_of_store: str, code: str, id_number: str, kind: str, detail: str,
                 occurred_at: datetime | None = None, **extra: Any) -> None:
    """The admin hook: something happened at agency ``code`` for ``id_number`` (its simulator reports it if watched)."""
    book = WatchBook(book_path(settings, kind_of_store, code))
    try:
        book.record(id_number, kind, detail, occurred_at, **extra)
    finally:
        book.close()
