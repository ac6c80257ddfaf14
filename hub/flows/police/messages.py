"""Police messages as the hub validates them (SPEC §4, seed 002).

Court → police requests (look-ups, the three control measures, releases) and police → court
messages (replies, sightings, release acknowledgements, lapses).  Each check raises a
:class:`~hub.errors.ValidationError` naming the field; the hub turns it into an error reply and a
dead letter.  Vehicle plates and VINs are checked here (GA 36 plate format, ISO 3779 / GB 16735 VIN
with its check digit in position 9).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hub.errors import ValidationError
from hub.flows.checks import check_case, check_document, check_officer, check_subject, replies_of, require

NS = "cn.court.interop.police"
POLICE_CODE = "mps"  # the Ministry of Public Security's agency code (topics.agencies)

IDENTITY = f"{NS}.IdentityLookupRequest"
EXIT_ENTRY = f"{NS}.ExitEntryLookupRequest"
VEHICLE = f"{NS}.VehicleLookupRequest"
HOTEL = f"{NS}.HotelStayLookupRequest"
EXIT_RESTRICTION = f"{NS}.ExitRestrictionRequest"
VEHICLE_SEIZURE = f"{NS}.VehicleSeizureRequest"
LOCATE_PERSON = f"{NS}.LocatePersonRequest"
RELEASE = f"{NS}.MeasureRelease"
MEASURE_REPLY = f"{NS}.MeasureReply"
RELEASE_ACK = f"{NS}.MeasureReleaseAck"
SIGHTING = f"{NS}.Sighting"
LAPSED = f"{NS}.MeasureLapsed"

#: look-up request -> its reply
LOOKUP_REPLY_OF = replies_of(IDENTITY, EXIT_ENTRY, VEHICLE, HOTEL)
LOOKUPS = tuple(LOOKUP_REPLY_OF)
LOOKUP_REPLIES = tuple(LOOKUP_REPLY_OF.values())

#: measure request -> MeasureKind symbol
MEASURE_KIND_OF = {
    EXIT_RESTRICTION: "EXIT_RESTRICTION",
    VEHICLE_SEIZURE: "VEHICLE_SEIZURE",
    LOCATE_PERSON: "LOCATE_PERSON",
}
MEASURES = tuple(MEASURE_KIND_OF)

#: what the police may report for each measure kind (002 §3(一)-(三))
SIGHTING_KINDS = {
    "EXIT_RESTRICTION": ("BORDER_EXIT_ATTEMPT",),
    "VEHICLE_SEIZURE": ("TRANSFER_ATTEMPT", "MORTGAGE_ATTEMPT", "ROAD_CHECK", "INSPECTION"),
    "LOCATE_PERSON": ("HOTEL_CHECK_IN", "ROAD_CHECK", "BORDER_EXIT_ATTEMPT"),
}

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
PLATE_RE = re.compile(rf"^[{_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳]{{1,2}}$")
_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
PLACE_CODE_RE = re.compile(r"^\d{6}$")


def vin_check_digit(vin: str) -> str:
    """Position-9 check character of a 17-character VIN (ISO 3779 / GB 16735)."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def parse_plate(value: str, field: str = "body.plate_number") -> str:
    plate = value.strip().upper()
    require(bool(PLATE_RE.match(plate)), f"{value!r} is not a plate number (e.g. 京A12345)", field)
    return plate


def parse_vin(value: str, field: str = "body.vin") -> str:
    vin = value.strip().upper()
    if len(vin) != 17 or any(c not in _VIN_VALUES for c in vin):
        raise ValidationError(f"{value!r} is not a 17-character VIN (letters I, O and Q are not used)", field=field)
    expected = vin_check_digit(vin)
    require(vin[8] == expected, f"VIN check digit is {vin[8]}, expected {expected}", field)
    return vin


def _common(body: dict[str, Any], sender: str, today: date) -> None:
    check_case(body["case"], sender, today)
    check_subject(body["subject"], today)
    check_officer(body["officer"])


def _person_only(body: dict[str, Any], what: str) -> None:
    require(body["subject"]["kind"] == "PERSON" and body["subject"]["id_type"] == "RESIDENT_ID",
            f"{what} concerns a natural person identified by a resident ID (002)", "body.subject.id_type")


def _window(body: dict[str, Any]) -> None:
    window = body.get("window")
    if window is not None:
        require(window["start_at"] < window["end_at"], "window must start before it ends", "body.window")


def validate_identity(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §2(二)1: identity data of a defendant or debtor (a natural person)."""
    _common(body, sender, today)
    _person_only(body, "an identity look-up")


def validate_exit_entry(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §2(二)2-3: exit-entry documents and crossings of a natural person."""
    _person_in_window(body, sender, today, "an exit-entry look-up")


def validate_vehicle(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §2(二)4: vehicles of a defendant or debtor (person or organisation)."""
    _common(body, sender, today)
    if body.get("plate_number"):
        parse_plate(body["plate_number"])


def validate_hotel(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §2(二)5: hotel stays of a debtor."""
    _person_in_window(body, sender, today, "a hotel-stay look-up")


def _person_in_window(body: dict[str, Any], sender: str, today: date, what: str) -> None:
    _common(body, sender, today)
    _person_only(body, what)
    _window(body)


def validate_exit_restriction(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §3(一)1: the person, the court, officer and phone, control period and requirements."""
    _common(body, sender, today)
    _person_only(body, "an exit restriction")
    check_document(body["decision"], "EXIT_RESTRICTION_DECISION", "body.decision")
    if body.get("assistance_notice") is not None:
        check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")
    require(body["control_from"] <= body["control_to"], "control period ends before it starts", "body.control_to")
    require(body["control_to"] >= today, "control period has already ended", "body.control_to")
    require(bool(body["control_requirements"].strip()), "control requirements (边控要求) are empty",
            "body.control_requirements")


def validate_vehicle_seizure(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §3(二): sealed seizure ruling and assistance notice; the vehicle by plate (and VIN)."""
    _common(body, sender, today)
    parse_plate(body["plate_number"])
    if body.get("vin"):
        parse_vin(body["vin"])
    check_document(body["ruling"], "RULING", "body.ruling")
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")
    until = body.get("seizure_until")
    require(until is None or until >= today, "seizure period has already ended", "body.seizure_until")


def validate_locate_person(body: dict[str, Any], sender: str, today: date) -> None:
    """002 §3(三): the detention decision and assistance notice of a natural person."""
    _common(body, sender, today)
    _person_only(body, "locating a person under judicial detention")
    check_document(body["detention_decision"], "DETENTION_DECISION", "body.detention_decision")
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")
    until = body.get("valid_until")
    require(until is None or until >= today, "the request's validity has already ended", "body.valid_until")


def validate_release(body: dict[str, Any], sender: str, today: date, correlation_id: str | None) -> None:
    """002 §3(三) last para: the court pushes the release of a measure it lifted."""
    _common(body, sender, today)
    require(bool(body["measure_id"].strip()), "measure_id is empty", "body.measure_id")
    require(correlation_id in (None, body["measure_id"]), "correlation_id must be the measure id",
            "envelope.correlation_id")
    require(bool(body["reason"].strip()), "release reason (解除原因) is empty", "body.reason")
    if body.get("release_notice") is not None:
        check_document(body["release_notice"], "RELEASE_NOTICE", "body.release_notice")


VALIDATORS = {
    IDENTITY: validate_identity,
    EXIT_ENTRY: validate_exit_entry,
    VEHICLE: validate_vehicle,
    HOTEL: validate_hotel,
    EXIT_RESTRICTION: validate_exit_restriction,
    VEHICLE_SEIZURE: validate_vehicle_seizure,
    LOCATE_PERSON: validate_locate_person,
}


# --- police -> court -------------------------------------------------------------------
def validate_lookup_reply(body: dict[str, Any]) -> None:
    if body["status"] in ("REJECTED", "ERROR"):
        require(bool((body.get("reason") or "").strip()), f"a {body['status']} look-up must say why",
                "body.reason")


def validate_measure_reply(body: dict[str, Any], kind: str) -> None:
    require(body["measure_kind"] == kind, f"reply is for a {body['measure_kind']}, the request was a {kind}",
            "body.measure_kind")
    if body["outcome"] == "PLACED":
        require(bool((body.get("measure_id") or "").strip()), "a placed measure needs its measure_id",
                "body.measure_id")
    else:
        require(bool((body.get("reason") or "").strip()), "a measure not placed must say why", "body.reason")


def validate_sighting(body: dict[str, Any], correlation_id: str | None) -> None:
    """A sighting names its measure, what was seen, where and when (002 §3(二)-(三))."""
    require(bool(body["measure_id"].strip()), "measure_id is empty", "body.measure_id")
    require(correlation_id in (None, body["measure_id"]), "correlation_id must be the measure id",
            "envelope.correlation_id")
    require(bool(body["place"].strip()), "place is empty", "body.place")
    code = body.get("place_code")
    require(code is None or bool(PLACE_CODE_RE.match(code)), "place_code must be 6 digits", "body.place_code")
    allowed = SIGHTING_KINDS.get(body["measure_kind"], ())
    require(body["kind"] in (*allowed, "OTHER"), f"{body['kind']} is not reported for a {body['measure_kind']}",
            "body.kind")


def validate_release_ack(body: dict[str, Any]) -> None:
    if body["status"] in ("NOT_FOUND", "REJECTED"):
        require(bool((body.get("reason") or "").strip()), f"a {body['status']} acknowledgement must say why",
                "body.reason")
