"""Bank requests as the hub validates them (SPEC §2-§3, seed 000) — pure checks, no broker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, officer, person
from hub.clock import ManualClock
from hub.errors import ValidationError
from hub.flows.bank.messages import validate_deduct, validate_freeze, validate_intensive, validate_query
from hub.settings import HubSettings

TODAY = date(2025, 1, 2)
CLIENT = CourtClient(HubSettings(), "京0105", clock=ManualClock())
CASE = CLIENT.case("（2024）京0105执1234号", date(2024, 3, 1))
SUBJECT = person("张三", "11010519491231002X")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
RULING = document("RULING", "（2024）京0105执1234号之一")
NOTICE = document("ASSISTANCE_NOTICE", "（2024）京0105执1234号协助冻结通知书")


def _freeze(**changes: Any) -> dict[str, Any]:
    body = bank_api.freeze(CLIENT, bank="icbc", case=CASE, subject=SUBJECT, officer=OFFICER,
                         account_number="6222020200012345678", amount_fen=500_000, end_date=date(2025, 12, 31),
                         ruling=RULING, assistance_notice=NOTICE).body
    body.update(changes)
    return body


def _deduct(currency: str = "CNY") -> dict[str, Any]:
    return bank_api.deduct(CLIENT, bank="icbc", case=CASE, subject=SUBJECT, officer=OFFICER,
                         account_number="6222020200012345678", amount_fen=100, ruling=RULING,
                         assistance_notice=NOTICE, currency=currency).body


def _error(fn: Any, body: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(body, "京0105", TODAY)
    return info.value


def test_a_complete_freeze_passes() -> None:
    validate_freeze(_freeze(), "京0105", TODAY)


def test_freeze_without_amount_is_refused_000_s9() -> None:
    """000 §9: account and amount are both mandatory for a freeze."""
    err = _error(validate_freeze, _freeze(amount={"amount_fen": 0, "currency": "CNY"}))
    assert err.field == "body.amount.amount_fen"


def test_freeze_without_account_is_refused_000_s9() -> None:
    assert _error(validate_freeze, _freeze(account_number="")).field == "body.account_number"


def test_fractional_or_negative_fen_is_refused() -> None:
    assert "negative" in str(_error(validate_freeze, _freeze(amount={"amount_fen": -5, "currency": "CNY"})))


def test_resident_id_with_bad_checksum_names_the_field_spec_s2() -> None:
    err = _error(validate_freeze, _freeze(subject=person("张三", "110105194912310021")))
    assert err.field == "body.subject.id_number" and "check" in str(err)


def test_document_reference_needs_a_sha256_digest_spec_s2() -> None:
    err = _error(validate_freeze, _freeze(ruling={**RULING, "sha256": "abc"}))
    assert err.field == "body.ruling.sha256"


def test_ruling_must_be_a_ruling() -> None:
    err = _error(validate_freeze, _freeze(ruling=NOTICE))
    assert err.field == "body.ruling.kind"


def test_officer_phone_is_checked_000_s3() -> None:
    bad = {**OFFICER, "phone": "12345"}
    assert _error(validate_freeze, _freeze(officer=bad)).field == "body.officer.phone"


def test_court_must_be_the_sender() -> None:
    with pytest.raises(ValidationError, match="not the sender"):
        validate_freeze(_freeze(), "沪0115", TODAY)


def test_case_number_must_belong_to_the_court() -> None:
    other = {**CASE, "case_number": "（2024）沪0115执1号"}
    assert _error(validate_freeze, _freeze(case=other)).field == "body.case.case_number"


def test_deduction_goes_to_the_courts_registered_account_000_s13() -> None:
    """000 §13-14, 004 §19-20 (一案一账号): only the court's registered execution account."""
    validate_deduct(_deduct(), "京0105", TODAY)
    body = _deduct()
    body["court_account"] = {**body["court_account"], "account_number": "6222000000000000000"}
    assert _error(validate_deduct, body).field == "body.court_account.account_number"


def test_foreign_currency_deduction_goes_to_the_foreign_currency_account_000_s14() -> None:
    validate_deduct(_deduct("USD"), "京0105", TODAY)
    body = _deduct("USD")
    body["court_account"] = _deduct("CNY")["court_account"]
    err = _error(validate_deduct, body)
    assert err.field == "body.court_account.currency" and "USD" in str(err)


def test_transaction_window_must_be_ordered() -> None:
    from datetime import UTC, datetime

    q = bank_api.query(CLIENT, bank="icbc", case=CASE, subject=SUBJECT, officer=OFFICER, assistance_notice=NOTICE,
                     window=(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))).body
    assert _error(validate_query, q).field == "body.transaction_window"


def test_intensive_query_needs_verified_identity_seed_001() -> None:
    body = bank_api.intensive_query(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER, assistance_notice=NOTICE).body
    validate_intensive(body, "京0105", TODAY)
    body["identity_verified"] = False
    assert _error(validate_intensive, body).field == "body.identity_verified"
