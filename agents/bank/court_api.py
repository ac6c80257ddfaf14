"""Court adapter support for the bank flows (SPEC §3, seeds 000-001): the request builders.

Each takes a :class:`~agents.court.adapter.CourtClient` and returns the request
(:class:`~hub.codec.AvroMessage`, fresh request id, the court as sender) addressed to one bank or, for an
intensive query and its "viewed" notice, to the hub; send it with ``court.send(msg)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from agents.court.adapter import CourtClient, money
from hub.codec import AvroMessage
from hub.errors import ConfigError

BANK = "cn.court.interop.bank"


def query(court: CourtClient, *, bank: str, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
          assistance_notice: dict[str, Any], window: tuple[datetime, datetime] | None = None) -> AvroMessage:
    return court.request(f"{BANK}.QueryRequest", bank, {
        "case": case, "subject": subject, "officer": officer, "assistance_notice": assistance_notice,
        "purpose": "ORDINARY",
        "transaction_window": {"start_at": window[0], "end_at": window[1]} if window else None,
    })


def freeze(court: CourtClient, *, bank: str, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
           account_number: str, amount_fen: int, end_date: date, ruling: dict[str, Any],
           assistance_notice: dict[str, Any], currency: str = "CNY", waiting_in_line: bool = False) -> AvroMessage:
    return court.request(f"{BANK}.FreezeRequest", bank, {
        "case": case, "subject": subject, "officer": officer, "account_number": account_number,
        "sub_account_number": None, "financial_asset_id": None, "amount": money(amount_fen, currency),
        "end_date": end_date, "waiting_in_line": waiting_in_line, "ruling": ruling,
        "assistance_notice": assistance_notice,
    })


def continue_freeze(court: CourtClient, *, bank: str, case: dict[str, Any], subject: dict[str, Any],
                    officer: dict[str, Any], freeze_id: str, account_number: str, amount_fen: int,
                    new_end_date: date, ruling: dict[str, Any], assistance_notice: dict[str, Any],
                    currency: str = "CNY") -> AvroMessage:
    return court.request(f"{BANK}.ContinueFreezeRequest", bank, {
        "case": case, "subject": subject, "officer": officer, "freeze_id": freeze_id,
        "account_number": account_number, "amount": money(amount_fen, currency), "new_end_date": new_end_date,
        "ruling": ruling, "assistance_notice": assistance_notice,
    })


def unfreeze(court: CourtClient, *, bank: str, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
             freeze_id: str, account_number: str, amount_fen: int, ruling: dict[str, Any],
             assistance_notice: dict[str, Any], currency: str = "CNY", reason: str | None = None) -> AvroMessage:
    return court.request(f"{BANK}.UnfreezeRequest", bank, {
        "case": case, "subject": subject, "officer": officer, "freeze_id": freeze_id,
        "account_number": account_number, "amount": money(amount_fen, currency), "reason": reason,
        "ruling": ruling, "assistance_notice": assistance_notice,
    })


def deduct(court: CourtClient, *, bank: str, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
           account_number: str, amount_fen: int, ruling: dict[str, Any], assistance_notice: dict[str, Any],
           currency: str = "CNY", freeze_id: str | None = None) -> AvroMessage:
    """The court's registered execution account for ``currency`` is filled in (一案一账号)."""
    account = court.court.account_for(currency)
    if account is None:
        raise ConfigError(f"{court.court.code} has no {currency} execution account", field="currency")
    return court.request(f"{BANK}.DeductRequest", bank, {
        "case": case, "subject": subject, "officer": officer, "account_number": account_number,
        "sub_account_number": None, "freeze_id": freeze_id, "amount": money(amount_fen, currency),
        "court_account": {"bank_name": account.bank_name, "account_number": account.account_number,
                          "account_name": account.account_name, "currency": account.currency,
                          "bank_code": None},
        "ruling": ruling, "assistance_notice": assistance_notice,
    })


def intensive_query(court: CourtClient, *, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
                    assistance_notice: dict[str, Any], household_place: str | None = None) -> AvroMessage:
    return court.request(f"{BANK}.IntensiveQueryRequest", "hub", {
        "case": case, "subject": subject, "officer": officer, "assistance_notice": assistance_notice,
        "identity_verified": True, "household_registration_place_code": household_place,
        "court_place_code": court.court.place_code, "transaction_window": None,
    })


def property_viewed(court: CourtClient, *, case_number: str, officer: dict[str, Any],
                    unit_codes: Iterable[str] = ()) -> AvroMessage:
    return court.request(f"{BANK}.PropertyViewed", "hub", {
        "case_number": case_number, "officer": officer, "viewed_at": court.clock.now(),
        "unit_codes": list(unit_codes),
    })


# --- terminated-case sweeps, clue checks, standing watches (seed 001 §(二); hub.flows.sweeps) ----------------
SWEEP = "cn.court.interop.sweep"


def terminated_case(court: CourtClient, *, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
                    assistance_notice: dict[str, Any], termination_date: date, listing_id: str | None = None,
                    household_place: str | None = None, ruling: dict[str, Any] | None = None) -> AvroMessage:
    """Register a case terminated for lack of property (终结本次执行程序) for the hub's periodic sweeps."""
    return court.request(f"{SWEEP}.TerminatedCaseRegistered", "hub", {
        "case": case, "subject": subject, "officer": officer, "assistance_notice": assistance_notice,
        "termination_date": termination_date, "termination_ruling": ruling,
        "household_registration_place_code": household_place, "court_place_code": court.court.place_code,
        "listing_id": listing_id,
    })


def case_closed(court: CourtClient, *, case_number: str, officer: dict[str, Any], reason: str = "RESUMED",
                decision: dict[str, Any] | None = None) -> AvroMessage:
    """The terminated case leaves the sweeps: RESUMED (恢复执行) or CLOSED_OTHERWISE."""
    return court.request(f"{SWEEP}.TerminatedCaseClosed", "hub", {
        "case_number": case_number, "reason": reason, "officer": officer, "decided_at": court.clock.now(),
        "decision": decision,
    })


def clue_check(court: CourtClient, *, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
               assistance_notice: dict[str, Any], bank: str | None = None, account_number: str | None = None,
               plate_number: str | None = None, provided_by: str | None = None) -> AvroMessage:
    """A creditor's clue to verify at once (seed 001 §(二)2): an account at ``bank``, or a vehicle's plate."""
    kind = "BANK_ACCOUNT" if bank is not None else "VEHICLE"
    return court.request(f"{SWEEP}.ClueCheckRequest", "hub", {
        "case": case, "subject": subject, "officer": officer, "assistance_notice": assistance_notice,
        "clue": {"kind": kind, "agency_code": bank, "account_number": account_number, "plate_number": plate_number,
                 "description": None},
        "provided_by": provided_by,
    })


def watch(court: CourtClient, *, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
          until: date, kinds: Iterable[str] = (), household_place: str | None = None) -> AvroMessage:
    """A standing watch on the debtor of a registered terminated case until ``until``."""
    return court.request(f"{SWEEP}.WatchRequest", "hub", {
        "case": case, "subject": subject, "officer": officer, "kinds": list(kinds), "until": until,
        "household_registration_place_code": household_place, "court_place_code": court.court.place_code,
    })


def watch_ended(court: CourtClient, *, case_number: str, watch_id: str, reason: str | None = None) -> AvroMessage:
    return court.request(f"{SWEEP}.WatchEnded", "hub", {"case_number": case_number, "watch_id": watch_id,
                                                        "reason": reason})
