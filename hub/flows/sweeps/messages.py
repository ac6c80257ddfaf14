"""Sweep-flow message types and the court's messages as the hub checks them (seed 001 §(二); 失信规定 art. 10(四)).

Each check raises a :class:`~hub.errors.ValidationError` naming the field; the hub turns it into an error
reply and a dead letter.  :class:`WatchNotActive` refuses a watch hit the hub will not route.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.domain import parse_account_number
from hub.errors import RoutingError, ValidationError
from hub.flows.checks import check_case, check_document, check_officer, check_subject, require

NS = "cn.court.interop.sweep"
REGISTERED = f"{NS}.TerminatedCaseRegistered"
CLOSED = f"{NS}.TerminatedCaseClosed"
CLUE = f"{NS}.ClueCheckRequest"
WATCH = f"{NS}.WatchRequest"
WATCH_ENDED = f"{NS}.WatchEnded"
WATCH_SUBJECT = f"{NS}.WatchSubject"
WATCH_HIT = f"{NS}.WatchHit"
GROUND_MET = f"{NS}.SweepGroundMet"

#: watch kinds the banks see and those the police see (SPEC §3-§4)
BANK_KINDS = frozenset({"NEW_ACCOUNT", "DEPOSIT"})
POLICE_KINDS = frozenset({"VEHICLE_REGISTRATION", "HOTEL_STAY"})


class UnknownTerminatedCase(RoutingError):
    """A sweep message names a case that is not registered as terminated (or no longer is)."""

    code = "unknown_terminated_case"


class WatchNotActive(RoutingError):
    """A watch hit for a watch that ended, never existed, or was not sent to the reporting agency."""

    code = "watch_not_active"


def _place(code: str | None, field: str) -> None:
    require(code is None or (len(code) == 6 and code.isdigit()), "must be a 6-digit division code", field)


def _common(body: dict[str, Any], sender: str, today: date) -> None:
    check_case(body["case"], sender, today)
    check_subject(body["subject"], today)
    check_officer(body["officer"])


def validate_registration(body: dict[str, Any], sender: str, today: date) -> None:
    """A terminated case: its case, debtor, officer, the query list's notice and a termination in the past."""
    _common(body, sender, today)
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")
    require(body["termination_date"] <= today, "the termination lies in the future", "body.termination_date")
    require(body["termination_date"] >= body["case"]["filing_date"], "terminated before the case was filed",
            "body.termination_date")
    _place(body.get("household_registration_place_code"), "body.household_registration_place_code")
    _place(body["court_place_code"], "body.court_place_code")
    listing = body.get("listing_id")
    require(listing is None or bool(str(listing).strip()), "listing_id is empty", "body.listing_id")


def validate_clue(body: dict[str, Any], sender: str, today: date, financial: frozenset[str]) -> None:
    """A clue the network can check: an account at a known bank or payment firm, or a vehicle's plate."""
    _common(body, sender, today)
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")
    clue = body["clue"]
    if clue["kind"] == "BANK_ACCOUNT":
        require(clue.get("agency_code") in financial, "not a bank, payment firm or securities unit of the hub",
                "body.clue.agency_code")
        if clue.get("account_number"):
            parse_account_number(clue["account_number"], field="body.clue.account_number")
    elif clue["kind"] == "VEHICLE":
        require(bool((clue.get("plate_number") or "").strip()), "a vehicle clue needs its plate number",
                "body.clue.plate_number")
    else:
        raise ValidationError("only bank-account and vehicle clues can be checked through the network",
                              field="body.clue.kind")


def validate_watch(body: dict[str, Any], sender: str, today: date) -> None:
    _common(body, sender, today)
    require(body["until"] >= today, "the watch would end before today", "body.until")
    _place(body.get("household_registration_place_code"), "body.household_registration_place_code")
    _place(body["court_place_code"], "body.court_place_code")
