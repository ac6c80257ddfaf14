"""Court adapter support for the police flows (SPEC §4, seed 002): builders and readers.

Builders take a connected :class:`~agents.court.adapter.CourtClient` and return the request
(:class:`~hub.codec.AvroMessage`) addressed to the police (``mps``); send it with
``court.send(msg)``.  Replies to look-ups, measures and releases arrive on ``court.replies`` with the
request id; sightings and lapses (which nobody asked for) arrive on ``court.notices``.  A sighting and a
lapse carry the request id of the measure request (and the measure id as correlation id), so
:func:`sightings` finds them by the request the court sent, however late they come.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from agents.court.adapter import CourtClient
from hub.codec import AvroMessage
from hub.flows.police.messages import (
    EXIT_ENTRY,
    EXIT_RESTRICTION,
    HOTEL,
    IDENTITY,
    LAPSED,
    LOCATE_PERSON,
    POLICE_CODE,
    RELEASE,
    SIGHTING,
    VEHICLE,
    VEHICLE_SEIZURE,
)

Body = dict[str, Any]


def _window(window: tuple[datetime, datetime] | None) -> Body | None:
    return {"start_at": window[0], "end_at": window[1]} if window else None


def identity_lookup(court: CourtClient, *, case: Body, subject: Body, officer: Body) -> AvroMessage:
    """002 §2(二)1: name, former names, birth date, household registration, address, ID, photo."""
    return court.request(IDENTITY, POLICE_CODE, {"case": case, "subject": subject, "officer": officer})


def exit_entry_lookup(court: CourtClient, *, case: Body, subject: Body, officer: Body,
                      window: tuple[datetime, datetime] | None = None) -> AvroMessage:
    """002 §2(二)2-3: exit-entry documents and crossings."""
    return court.request(EXIT_ENTRY, POLICE_CODE, {"case": case, "subject": subject, "officer": officer,
                                                    "window": _window(window)})


def vehicle_lookup(court: CourtClient, *, case: Body, subject: Body, officer: Body,
                   plate_number: str | None = None) -> AvroMessage:
    """002 §2(二)4: vehicle registrations, mortgagee and seizures."""
    return court.request(VEHICLE, POLICE_CODE, {"case": case, "subject": subject, "officer": officer,
                                                 "plate_number": plate_number})


def hotel_stay_lookup(court: CourtClient, *, case: Body, subject: Body, officer: Body,
                      window: tuple[datetime, datetime] | None = None) -> AvroMessage:
    """002 §2(二)5: hotel stays."""
    return court.request(HOTEL, POLICE_CODE, {"case": case, "subject": subject, "officer": officer,
                                               "window": _window(window)})


def exit_restriction(court: CourtClient, *, case: Body, subject: Body, officer: Body, decision: Body,
                     control_from: date, control_to: date, control_requirements: str = "阻止出境并立即通知执行法院",
                     assistance_notice: Body | None = None) -> AvroMessage:
    """002 §3(一): 限制出境 for a control period with border-control requirements."""
    return court.request(EXIT_RESTRICTION, POLICE_CODE, {
        "case": case, "subject": subject, "officer": officer, "decision": decision,
        "assistance_notice": assistance_notice, "control_from": control_from, "control_to": control_to,
        "control_requirements": control_requirements,
    })


def vehicle_seizure(court: CourtClient, *, case: Body, subject: Body, officer: Body, plate_number: str,
                    ruling: Body, assistance_notice: Body, vin: str | None = None, plate_type: str | None = None,
                    bar_transfer: bool = True, bar_mortgage: bool = True, seize_vehicle: bool = False,
                    seizure_until: date | None = None) -> AvroMessage:
    """002 §3(二): 查封车辆 with the sealed ruling and assistance notice."""
    return court.request(VEHICLE_SEIZURE, POLICE_CODE, {
        "case": case, "subject": subject, "officer": officer, "plate_number": plate_number, "plate_type": plate_type,
        "vin": vin, "ruling": ruling, "assistance_notice": assistance_notice, "bar_transfer": bar_transfer,
        "bar_mortgage": bar_mortgage, "seize_vehicle": seize_vehicle, "seizure_until": seizure_until,
    })


def locate_person(court: CourtClient, *, case: Body, subject: Body, officer: Body, detention_decision: Body,
                  assistance_notice: Body, valid_until: date | None = None,
                  description: str | None = None) -> AvroMessage:
    """002 §3(三): 协助查找被执行人 under judicial detention."""
    return court.request(LOCATE_PERSON, POLICE_CODE, {
        "case": case, "subject": subject, "officer": officer, "detention_decision": detention_decision,
        "assistance_notice": assistance_notice, "valid_until": valid_until, "description": description,
    })


def release(court: CourtClient, *, measure_id: str, measure_kind: str, case: Body, subject: Body, officer: Body,
            reason: str, release_notice: Body | None = None, decided_at: datetime | None = None) -> AvroMessage:
    """002 §3(三) last para: push the release of a lifted measure (correlation id = measure id)."""
    return court.request(RELEASE, POLICE_CODE, {
        "measure_id": measure_id, "measure_kind": measure_kind, "case": case, "subject": subject,
        "officer": officer, "reason": reason, "release_notice": release_notice,
        "decided_at": decided_at or court.clock.now(),
    }, correlation_id=measure_id)


# --- reading ------------------------------------------------------------------------------
def sightings(court: CourtClient, measure_request_id: str, *, active: bool | None = None) -> list[AvroMessage]:
    """Sightings received so far for the measure placed by ``measure_request_id`` (de-duplicated)."""
    seen: dict[str, AvroMessage] = {}
    for m in court.received:
        if (m.schema == SIGHTING and m.request_id == measure_request_id
                and (active is None or m.body["delivered_active"] is active)):
            seen.setdefault(str(m.envelope["message_id"]), m)
    return list(seen.values())


def lapses(court: CourtClient, measure_request_id: str) -> list[AvroMessage]:
    return [m for m in court.received if m.schema == LAPSED and m.request_id == measure_request_id]


async def wait_for_sightings(court: CourtClient, measure_request_id: str, *, kinds: Iterable[str] = (),
                             count: int = 1, timeout_s: float = 60.0) -> list[AvroMessage]:
    """Wait until at least ``count`` sightings (and one of each of ``kinds``) arrived for the measure."""
    wanted = set(kinds)
    deadline = time.monotonic() + timeout_s
    while True:
        got = sightings(court, measure_request_id)
        if len(got) >= count and wanted <= {m.body["kind"] for m in got}:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(got)} sightings of {measure_request_id}: "
                               f"{sorted(m.body['kind'] for m in got)}; wanted {sorted(wanted)} x{count}")
        await court.poll()
