"""The anomaly book as rows of the ``anomalies`` table, so that the next owner of partition 0 continues it.

One row per agency's health (``health/<code>``, with its outbox partitions reported behind), per anomaly
(``anomaly/<id>``), per principal's dead-letter window (``dead/<principal>``) and the id sequence (``seq``).
Rows are written in partition 0 (the book's owner writes them while it handles a record of that partition), so
they move with it: the worker that is given partition 0 recovers them from the changelog (or a standby) and
loads the book from them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from hub.anomaly import AgencyHealth, Anomaly, AnomalyBook, Notice, OutboxLag

SEQ = "seq"
OBSERVED = "observed"


def health_key(agency: str) -> str:
    return f"health/{agency}"


def anomaly_key(anomaly_id: str) -> str:
    return f"anomaly/{anomaly_id}"


def dead_key(principal: str) -> str:
    return f"dead/{principal}"


def health_row(health: AgencyHealth) -> dict[str, Any]:
    return {"agency": health.agency, "last_message_ms": health.last_message_ms,
            "last_heartbeat_ms": health.last_heartbeat_ms, "heartbeat_interval_ms": health.heartbeat_interval_ms,
            "out_of_service": health.out_of_service, "errors": list(health.errors),
            "lagging": [{"partition": p, **asdict(lag)} for p, lag in sorted(health.lagging.items())]}


def _lagging(rows: list[dict[str, Any]]) -> dict[int, OutboxLag]:
    """A health row's lagging outbox partitions (rows written before they were kept have none)."""
    return {int(r["partition"]): OutboxLag(int(r["read_ms"]), int(r["behind"]), int(r["reported_ms"])) for r in rows}


def anomaly_row(anomaly: Anomaly) -> dict[str, Any]:
    return {"anomaly_id": anomaly.anomaly_id, "kind": anomaly.kind, "agency": anomaly.agency,
            "detected_ms": anomaly.detected_ms, "description": anomaly.description,
            "courts": sorted(anomaly.courts), "message_types": sorted(anomaly.message_types),
            "outstanding": anomaly.outstanding, "resolved_ms": anomaly.resolved_ms,
            "notices": [asdict(n) for n in anomaly.notices.values()], "answered": sorted(anomaly.answered)}


def book_rows(book: AnomalyBook) -> dict[str, Any]:
    """Every row of the book (its owner writes the ones that differ from what it wrote last)."""
    rows: dict[str, Any] = {SEQ: book.seq, OBSERVED: list(book.observed)}
    rows.update((health_key(code), health_row(h)) for code, h in book.health.items())
    rows.update((anomaly_key(a.anomaly_id), anomaly_row(a)) for a in book.anomalies.values())
    rows.update((dead_key(principal), list(window)) for principal, window in book.dead_letters.items())
    return rows


def load_book(rows: Mapping[str, Any]) -> AnomalyBook:
    """The book the rows describe."""
    book = AnomalyBook()
    for key, row in rows.items():
        if row is None:
            continue
        kind, _, name = key.partition("/")
        if key == SEQ:
            book.seq = int(row)
        elif key == OBSERVED:
            book.observed.extend(row)
        elif kind == "health":
            book.health[name] = AgencyHealth(
                row["agency"], row["last_message_ms"], row["last_heartbeat_ms"], row["heartbeat_interval_ms"],
                row["out_of_service"], deque(row["errors"]), _lagging(row.get("lagging", [])))
        elif kind == "anomaly":
            book.anomalies[name] = Anomaly(
                row["anomaly_id"], row["kind"], row["agency"], row["detected_ms"], row["description"],
                set(row["courts"]), set(row["message_types"]), row["outstanding"], row["resolved_ms"],
                {n["recipient"]: Notice(**n) for n in row["notices"]}, set(row["answered"]))
        elif kind == "dead":
            book.dead_letters[name] = deque(row)
    return book
