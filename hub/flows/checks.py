"""Validation shared by every flow: case, court, subject, officer, document references."""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.domain import (
    parse_case_number,
    parse_credit_code,
    parse_phone,
    parse_resident_id,
    parse_sha256_hex,
)
from hub.errors import ValidationError
from topics.courts import COURTS_BY_CODE, Court


def require(condition: bool, message: str, field: str) -> None:
    if not condition:
        raise ValidationError(message, field=field)


def check_case(case: dict[str, Any], sender: str, today: date, field: str = "body.case") -> Court:
    """The case number parses, its court is the sender, and the court is known."""
    number = parse_case_number(case["case_number"], field=f"{field}.case_number", today=today)
    court_code = case["court"]["court_code"]
    require(court_code == sender, f"court {court_code!r} is not the sender {sender!r}", f"{field}.court.court_code")
    require(number.court_code == court_code,
            f"case number belongs to court {number.court_code!r}, not {court_code!r}", f"{field}.case_number")
    court = COURTS_BY_CODE.get(court_code)
    if court is None:
        raise ValidationError(f"court {court_code!r} is not registered with the hub", field=f"{field}.court.court_code")
    require(case["filing_date"] <= today, "filing date lies in the future", f"{field}.filing_date")
    return court


def check_subject(subject: dict[str, Any], today: date, field: str = "body.subject") -> None:
    """Resident ID (GB 11643) or unified social credit code (GB 32100) with a valid checksum."""
    require(bool(subject["name"].strip()), "name is empty", f"{field}.name")
    id_type = subject["id_type"]
    if id_type == "RESIDENT_ID":
        require(subject["kind"] == "PERSON", "a resident ID identifies a person", f"{field}.kind")
        parse_resident_id(subject["id_number"], field=f"{field}.id_number", today=today)
    elif id_type in ("USCC", "ORG_CODE"):
        require(subject["kind"] == "ORGANISATION", "a credit code identifies an organisation", f"{field}.kind")
        parse_credit_code(subject["id_number"], field=f"{field}.id_number")
    else:
        require(bool(subject["id_number"].strip()), "id_number is empty", f"{field}.id_number")


def check_document(doc: dict[str, Any], kind: str | None, field: str) -> None:
    """A legal document travels as a reference with its SHA-256 digest (SPEC §2)."""
    if kind is not None:
        require(doc["kind"] == kind, f"expected a {kind} document, got {doc['kind']}", f"{field}.kind")
    require(bool(doc["number"].strip()), "document number is empty", f"{field}.number")
    parse_sha256_hex(doc["sha256"], field=f"{field}.sha256")


def check_officer(officer: dict[str, Any], field: str = "body.officer") -> None:
    """Officer name, phone and registered official-ID reference (000 §3)."""
    require(bool(officer["name"].strip()), "officer name is empty", f"{field}.name")
    parse_phone(officer["phone"], field=f"{field}.phone")
    check_document(officer["official_id"], "OFFICIAL_ID", f"{field}.official_id")


def replies_of(*requests: str) -> dict[str, str]:
    """request type -> the reply type its agency answers with (``…XRequest`` is answered by ``…XReply``)."""
    return {r: r.removesuffix("Request") + "Reply" for r in requests}
