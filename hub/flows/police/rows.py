"""The hub's record of police measures (pure): rows of the ``measures`` and ``measure_requests`` tables.

A measure request the hub forwarded is kept as a :class:`MeasureRequestRow` (table ``measure_requests``,
by request id) until the police answer with the measure id (布控编号); from then on the measure is a
:class:`MeasureRow` (table ``measures``, by measure id): what the court needs to find it (kind, court,
case, request id, subject, plate), its state (``active`` → ``released`` | ``lapsed``, never back), when
it was placed, the last day it stands and the instant it lapses (midnight China time after that day),
its release and the police's acknowledgement, and counters of sightings delivered as active hits and
of sightings that arrived once the measure was no longer in force.

Stored rows keep their compact JSON keys: a measure request ``request_id, kind, court, case,
subject_id, subject_name, plate, end`` (ISO date or None) ``, p`` (partition); a measure the same plus
``id, state, placed_at, lapse_at, released_at, release_request, ack, lapsed_at, hits, late, log``
([[state, ms], ...]).

Decision (issue 4): the hub is the one that decides when a measure lapses, on its injected clock
(:func:`lapse_due`); it tells the court and the police.  A sighting that arrives for a released or
lapsed measure is still delivered to the court, for the record, with ``delivered_active = false``
and counted as late; it is never an active hit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from hub.clock import CHINA_TZ


class MeasureState(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    LAPSED = "lapsed"


#: the body field holding the last day a requested measure stands, by measure kind
LAST_DAY_FIELD = {"EXIT_RESTRICTION": "control_to", "VEHICLE_SEIZURE": "seizure_until",
                  "LOCATE_PERSON": "valid_until"}


def _iso_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _ms_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class MeasureRequestRow:
    """A measure request forwarded to the police, kept until they name the measure they placed."""

    request_id: str
    measure_kind: str  # MeasureKind symbol
    court: str
    case_number: str
    subject_id_number: str
    subject_name: str
    plate_number: str | None
    last_day: date | None  # control period / seizure period / validity end, if the court limited it
    partition: int

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "kind": self.measure_kind, "court": self.court,
            "case": self.case_number, "subject_id": self.subject_id_number, "subject_name": self.subject_name,
            "plate": self.plate_number, "end": self.last_day.isoformat() if self.last_day else None,
            "p": self.partition,
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> MeasureRequestRow:
        return cls(
            request_id=row["request_id"], measure_kind=row["kind"], court=row["court"], case_number=row["case"],
            subject_id_number=row["subject_id"], subject_name=row["subject_name"], plate_number=row["plate"],
            last_day=_iso_date(row["end"]), partition=int(row["p"]),
        )


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """A measure the police placed, as the hub tracks it."""

    measure_id: str
    request_id: str  # the court's measure request
    measure_kind: str
    court: str
    case_number: str
    subject_id_number: str
    subject_name: str
    plate_number: str | None
    last_day: date | None
    partition: int
    state: MeasureState
    placed_ms: int
    lapse_ms: int | None  # midnight China time after ``last_day``
    released_ms: int | None
    release_request_id: str | None  # the court's MeasureRelease
    release_ack_status: str | None  # the police's acknowledgement of the release
    lapsed_ms: int | None
    active_hits: int  # sightings delivered while the measure was in force
    late_sightings: int  # sightings that arrived once it was released or lapsed
    history: tuple[tuple[MeasureState, int], ...]  # every state with the time it was entered

    @property
    def is_active(self) -> bool:
        return self.state is MeasureState.ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "kind": self.measure_kind, "court": self.court,
            "case": self.case_number, "subject_id": self.subject_id_number, "subject_name": self.subject_name,
            "plate": self.plate_number, "end": self.last_day.isoformat() if self.last_day else None,
            "p": self.partition, "id": self.measure_id, "state": self.state.value, "placed_at": self.placed_ms,
            "lapse_at": self.lapse_ms, "released_at": self.released_ms, "release_request": self.release_request_id,
            "ack": self.release_ack_status, "lapsed_at": self.lapsed_ms, "hits": self.active_hits,
            "late": self.late_sightings, "log": [[s.value, t] for s, t in self.history],
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> MeasureRow:
        return cls(
            measure_id=row["id"], request_id=row["request_id"], measure_kind=row["kind"], court=row["court"],
            case_number=row["case"], subject_id_number=row["subject_id"], subject_name=row["subject_name"],
            plate_number=row["plate"], last_day=_iso_date(row["end"]), partition=int(row["p"]),
            state=MeasureState(row["state"]), placed_ms=int(row["placed_at"]),
            lapse_ms=_ms_or_none(row["lapse_at"]), released_ms=_ms_or_none(row["released_at"]),
            release_request_id=row["release_request"], release_ack_status=row["ack"],
            lapsed_ms=_ms_or_none(row["lapsed_at"]), active_hits=int(row["hits"]),
            late_sightings=int(row["late"]), history=tuple((MeasureState(s), int(t)) for s, t in row["log"]),
        )


def last_day_of(body: dict[str, Any], kind: str) -> date | None:
    """The last day a requested measure stands, if the court limited it."""
    field = LAST_DAY_FIELD.get(kind)
    value = body.get(field) if field else None
    return value if isinstance(value, date) else None


def lapse_instant_ms(end: date) -> int:
    """The measure stops being enforced at midnight (China time) after its last day."""
    midnight = datetime.combine(end + timedelta(days=1), time(0, 0), tzinfo=CHINA_TZ)
    return int(midnight.astimezone(UTC).timestamp() * 1000)


def pending_measure(request_id: str, kind: str, body: dict[str, Any], court: str,
                    partition: int) -> MeasureRequestRow:
    """What the hub keeps from a measure request until the police answer with the measure id."""
    return MeasureRequestRow(
        request_id=request_id, measure_kind=kind, court=court, case_number=body["case"]["case_number"],
        subject_id_number=body["subject"]["id_number"], subject_name=body["subject"]["name"],
        plate_number=body.get("plate_number"), last_day=last_day_of(body, kind), partition=partition,
    )


def placed(measure_id: str, request: MeasureRequestRow, now_ms: int, partition: int) -> MeasureRow:
    """The measure the police placed for ``request``: active from now on."""
    return MeasureRow(
        measure_id=measure_id, request_id=request.request_id, measure_kind=request.measure_kind,
        court=request.court, case_number=request.case_number, subject_id_number=request.subject_id_number,
        subject_name=request.subject_name, plate_number=request.plate_number, last_day=request.last_day,
        partition=partition, state=MeasureState.ACTIVE, placed_ms=now_ms,
        lapse_ms=lapse_instant_ms(request.last_day) if request.last_day else None, released_ms=None,
        release_request_id=None, release_ack_status=None, lapsed_ms=None, active_hits=0, late_sightings=0,
        history=((MeasureState.ACTIVE, now_ms),),
    )


def release(row: MeasureRow, release_request_id: str, now_ms: int) -> MeasureRow:
    """The court lifted it: released from now on (a second release leaves the first in place)."""
    if not row.is_active:
        return replace(row, release_request_id=row.release_request_id or release_request_id)
    return replace(row, state=MeasureState.RELEASED, released_ms=now_ms, release_request_id=release_request_id,
                   history=(*row.history, (MeasureState.RELEASED, now_ms)))


def acknowledged(row: MeasureRow, status: str) -> MeasureRow:
    """The police acknowledged the release with ``status``."""
    return replace(row, release_ack_status=status)


def lapse_due(row: MeasureRow, now_ms: int) -> bool:
    return row.is_active and row.lapse_ms is not None and now_ms >= row.lapse_ms


def lapsed_if_due(row: MeasureRow, now_ms: int) -> MeasureRow | None:
    """The measure lapsed at the end of its period, if that end has come (None otherwise)."""
    if row.lapse_ms is None or not lapse_due(row, now_ms):
        return None
    return lapse(row, row.lapse_ms)


def lapse(row: MeasureRow, now_ms: int) -> MeasureRow:
    """The measure's period ended at ``now_ms`` (a measure no longer active stays as it is)."""
    if not row.is_active:
        return row
    return replace(row, state=MeasureState.LAPSED, lapsed_ms=now_ms,
                   history=(*row.history, (MeasureState.LAPSED, now_ms)))


def sighted(row: MeasureRow) -> tuple[MeasureRow, bool]:
    """Count a sighting; True when it is an active hit (the measure is still in force)."""
    if row.is_active:
        return replace(row, active_hits=row.active_hits + 1), True
    return replace(row, late_sightings=row.late_sightings + 1), False
