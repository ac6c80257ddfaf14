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
