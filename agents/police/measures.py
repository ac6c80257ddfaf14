"""The hub's record of each police measure (pure functions; rows of the ``measures`` table).

A row is keyed by the police's measure id (布控编号) and holds what the court needs to find the
measure: ``kind, court, case, request_id, subject_id, subject_name, plate``; its ``state``
(``active`` → ``released`` | ``lapsed``, never back); ``placed_at``; ``end`` (ISO date: control
period / seizure period / validity, or None) and ``lapse_at`` (ms: midnight China time after
``end``); ``released_at`` / ``release_request`` / ``ack``; ``lapsed_at``; counters of sightings
delivered as active hits (``hits``) and of sightings that arrived once the measure was no longer in
force (``late``); ``p`` (partition) and ``log`` ([[state, ms], ...]).

Decision (issue 4): the hub is the one that decides when a measure lapses, on its injected clock
(:func:`lapse_due`); it tells the court and the police.  A sighting that arrives for a released or
lapsed measure is still delivered to the court, for the record, with ``delivered_active = false``
and counted in ``late``; it is never an active hit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hub.clock import CHINA_TZ

Row = dict[str, Any]
ACTIVE, RELEASED, LAPSED = "active", "released", "lapsed"


def end_of(body: dict[str, Any], kind: str) -> date | None:
    """The last day a requested measure stands, if the court limited it."""
    field = {"EXIT_RESTRICTION": "control_to", "VEHICLE_SEIZURE": "seizure_until",
             "LOCATE_PERSON": "valid_until"}.get(kind)
    value = body.get(field) if field else None
    return value if isinstance(value, date) else None


def lapse_instant_ms(end: date) -> int:
    """The measure stops being enforced at midnight (China time) after its last day."""
    midnight = datetime.combine(end + timedelta(days=1), time(0, 0), tzinfo=CHINA_TZ)
    return int(midnight.astimezone(UTC).timestamp() * 1000)


def pending(request_id: str, kind: str, body: dict[str, Any], court: str, partition: int) -> Row:
    """What the hub keeps from a measure request until the police answer with the measure id."""
    end = end_of(body, kind)
    return {
        "request_id": request_id, "kind": kind, "court": court, "case": body["case"]["case_number"],
        "subject_id": body["subject"]["id_number"], "subject_name": body["subject"]["name"],
        "plate": body.get("plate_number"), "end": end.isoformat() if end else None, "p": partition,
    }


def placed(measure_id: str, request: Row, now_ms: int, partition: int) -> Row:
    end = request["end"]
    return {
        **request, "id": measure_id, "state": ACTIVE, "placed_at": now_ms, "p": partition,
        "lapse_at": lapse_instant_ms(date.fromisoformat(end)) if end else None,
        "released_at": None, "release_request": None, "ack": None, "lapsed_at": None,
        "hits": 0, "late": 0, "log": [[ACTIVE, now_ms]],
    }


def is_active(row: Row) -> bool:
    return bool(row["state"] == ACTIVE)


def release(row: Row, release_request: str, now_ms: int) -> Row:
    """The court lifted it: released from now on (a second release leaves the first in place)."""
    if not is_active(row):
        return {**row, "release_request": row["release_request"] or release_request}
    return {**row, "state": RELEASED, "released_at": now_ms, "release_request": release_request,
            "log": [*row["log"], [RELEASED, now_ms]]}


def acknowledged(row: Row, status: str) -> Row:
    return {**row, "ack": status}


def lapse_due(row: Row, now_ms: int) -> bool:
    return is_active(row) and row["lapse_at"] is not None and now_ms >= row["lapse_at"]


def lapse(row: Row, now_ms: int) -> Row:
    if not is_active(row):
        return row
    return {**row, "state": LAPSED, "lapsed_at": now_ms, "log": [*row["log"], [LAPSED, now_ms]]}


def sighted(row: Row) -> tuple[Row, bool]:
    """Count a sighting; True when it is an active hit (the measure is still in force)."""
    if is_active(row):
        return {**row, "hits": row["hits"] + 1}, True
    return {**row, "late": row["late"] + 1}, False
