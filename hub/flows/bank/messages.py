"""Bank message types and the requests as the hub validates them (SPEC §2-§3, seed 000, seed 001).

Each check raises a :class:`~hub.errors.ValidationError` naming the field and the problem; the
hub turns it into an error reply and a dead letter.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.domain import parse_account_number, parse_amount_fen, parse_currency
from hub.errors import ValidationError
from hub.flows.checks import check_case, check_document, check_officer, check_subject, replies_of, require
from topics.courts import Court

NS = "cn.court.interop.bank"
QUERY = f"{NS}.QueryRequest"
FREEZE = f"{NS}.FreezeRequest"
CONTINUE_FREEZE = f"{NS}.ContinueFreezeRequest"
UNFREEZE = f"{NS}.UnfreezeRequest"
DEDUCT = f"{NS}.DeductRequest"
INTENSIVE = f"{NS}.IntensiveQueryRequest"
VIEWED = f"{NS}.PropertyViewed"
INTENSIVE_RESULT = f"{NS}.IntensiveQueryResult"
ESCALATION = f"{NS}.SupervisionEscalation"

#: request type -> the reply type the bank answers with
REPLY_OF = replies_of(QUERY, FREEZE, CONTINUE_FREEZE, UNFREEZE, DEDUCT)
SINGLE_REQUESTS = tuple(REPLY_OF)
REPLIES = tuple(REPLY_OF.values())


def _money(money: dict[str, Any], field: str) -> tuple[int, str]:
    amount = parse_amount_fen(money["amount_fen"], field=f"{field}.amount_fen")
    currency = parse_currency(money["currency"], field=f"{field}.currency")
    return amount, currency


def _common(body: dict[str, Any], sender: str, today: date) -> Court:
    court = check_case(body["case"], sender, today)
    check_subject(body["subject"], today)
    check_officer(body["officer"])
    return court


def _legal_basis(body: dict[str, Any]) -> None:
    check_document(body["ruling"], "RULING", "body.ruling")
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")


def validate_query(body: dict[str, Any], sender: str, today: date) -> None:
    _common(body, sender, today)
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")
    window = body.get("transaction_window")
    if window is not None:
        require(window["start_at"] < window["end_at"], "window must start before it ends", "body.transaction_window")


def validate_freeze(body: dict[str, Any], sender: str, today: date) -> None:
    """000 §9: account and amount are both mandatory."""
    _common(body, sender, today)
    parse_account_number(body["account_number"], field="body.account_number")
    _money(body["amount"], "body.amount")
    require(body["end_date"] > today, "freeze end date must lie in the future", "body.end_date")
    _legal_basis(body)


def _existing_freeze(body: dict[str, Any], sender: str, today: date) -> None:
    """What a continued freeze and an unfreeze share: the freeze they name, its account and amount, the basis."""
    _common(body, sender, today)
    require(bool(body["freeze_id"].strip()), "freeze_id is empty", "body.freeze_id")
    parse_account_number(body["account_number"], field="body.account_number")
    _money(body["amount"], "body.amount")
    _legal_basis(body)


def validate_continue_freeze(body: dict[str, Any], sender: str, today: date) -> None:
    """000 §10: continued freeze names the existing freeze and its new end."""
    _existing_freeze(body, sender, today)
    require(body["new_end_date"] > today, "new end date must lie in the future", "body.new_end_date")


def validate_unfreeze(body: dict[str, Any], sender: str, today: date) -> None:
    _existing_freeze(body, sender, today)


def validate_deduct(body: dict[str, Any], sender: str, today: date) -> None:
    """000 §13-14: account, amount and the court's execution account; 一案一账号 (004 §19-20)."""
    court = _common(body, sender, today)
    parse_account_number(body["account_number"], field="body.account_number")
    _, currency = _money(body["amount"], "body.amount")
    target = body["court_account"]
    registered = court.account_for(currency)
    if registered is None:
        raise ValidationError(f"court {court.code} has no registered {currency} execution account",
                              field="body.court_account")
    require(target["currency"] == currency,
            f"a {currency} deposit must go to the court's {currency} account, not a {target['currency']} one",
            "body.court_account.currency")
    require(target["account_number"] == registered.account_number,
            f"not the registered {currency} execution account of {court.code}", "body.court_account.account_number")
    _legal_basis(body)


def validate_intensive(body: dict[str, Any], sender: str, today: date) -> None:
    """Seed 001: the intensive query starts once the debtor's identity is verified."""
    _common(body, sender, today)
    require(body["identity_verified"], "identity not verified: correct it first (seed 001)",
            "body.identity_verified")
    check_document(body["assistance_notice"], "ASSISTANCE_NOTICE", "body.assistance_notice")


def household_place(body: dict[str, Any]) -> str | None:
    """The division code of the debtor's household registration in an intensive query (seed 001): as the court
    gave it, else the first six digits of a resident ID number; None for other identities."""
    place = body.get("household_registration_place_code")
    if place:
        return str(place)
    subject = body["subject"]
    return str(subject["id_number"][:6]) if subject["id_type"] == "RESIDENT_ID" else None


VALIDATORS = {
    QUERY: validate_query,
    FREEZE: validate_freeze,
    CONTINUE_FREEZE: validate_continue_freeze,
    UNFREEZE: validate_unfreeze,
    DEDUCT: validate_deduct,
    INTENSIVE: validate_intensive,
}
