"""The simulated bank's ledger: the rules of seed 000 (网络执行查控工作规范), one test per rule.

Every reply any test obtains goes through :func:`call`, which validates it against the
Avro body schema of its reply type.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import load_schema, parse_schema
from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.bank.ledger import BankLedger
from agents.population import POPULATION_AS_OF, Person, Population
from hub.errors import NoRoute
from hub.flows.bank.messages import CONTINUE_FREEZE, DEDUCT, FREEZE, QUERY, REPLY_OF, UNFREEZE

SCHEMA_DIR = Path(__file__).resolve().parents[4] / "schemas" / "avro"
POP = Population.generate()
ADULTS = [p for p in POP.persons if not p.is_minor_on(POPULATION_AS_OF)]
DEBTOR, OTHER = ADULTS[0], ADULTS[1]
NOW = datetime(2024, 6, 10, 2, 0, tzinfo=UTC)
DELIVERED = NOW - timedelta(seconds=3)
COURT_A = ("京0105", "北京市朝阳区人民法院", "（2024）京0105执1234号")
COURT_B = ("沪0115", "上海市浦东新区人民法院", "（2024）沪0115执77号")
CNY_COURT_ACCOUNT = {"bank_name": "中国工商银行北京朝阳支行", "account_number": "0200001409014411111",
                     "account_name": "北京市朝阳区人民法院", "currency": "CNY", "bank_code": None}
USD_COURT_ACCOUNT = {**CNY_COURT_ACCOUNT, "account_number": "0200001409014422222", "currency": "USD"}
_IDS = itertools.count(1)


# --- helpers -------------------------------------------------------------------------


@cache
def body_schema(reply: str) -> Any:
    message: dict[str, Any] = load_schema(str(SCHEMA_DIR / f"{reply}.avsc"), _write_hint=False)  # type: ignore[assignment]
    body = next(field["type"] for field in message["fields"] if field["name"] == "body")
    return parse_schema(body, _write_hint=False)


def call(ledger: BankLedger, schema: str, body: dict[str, Any], rid: str | None = None,
         now: datetime = NOW) -> dict[str, Any]:
    reply_schema, reply = ledger.handle(schema, rid or f"req-{next(_IDS)}", body, now=now,
                                        delivered_at=now - timedelta(seconds=3))
    assert reply_schema == REPLY_OF[schema]
    assert validate(reply, body_schema(reply_schema), raise_errors=True)
    if reply["status"] in ("NOT_EXECUTED", "REJECTED", "PARTIALLY_EXECUTED"):
        assert reply["reason"], "000 §17: a request not (fully) executed must state why"
    return reply


def doc(kind: str, number: str) -> dict[str, Any]:
    return {"kind": kind, "number": number, "sha256": hashlib.sha256(number.encode()).hexdigest(),
            "title": None, "issued_by": None, "issued_on": None, "uri": None}


def common(court: tuple[str, str, str] = COURT_A, subject: Person = DEBTOR) -> dict[str, Any]:
    code, name, case = court
    return {
        "case": {"case_number": case, "court": {"court_code": code, "court_name": name, "place_code": "110105"},
                 "filing_date": date(2024, 3, 1)},
        "subject": subject.subject_record(),
        "officer": {"name": "李执行", "phone": "13800138000", "official_id": doc("OFFICIAL_ID", f"{code}-0042")},
        "ruling": doc("RULING", f"{case}执行裁定书"), "assistance_notice": doc("ASSISTANCE_NOTICE", f"{case}通知书"),
    }


def cny(fen: int, currency: str = "CNY") -> dict[str, Any]:
    return {"amount_fen": fen, "currency": currency}


def freeze(account: str, fen: int, *, court: tuple[str, str, str] = COURT_A, end: date | None = date(2024, 12, 31),
           waiting: bool = False, currency: str = "CNY", asset: str | None = None,
           subject: Person = DEBTOR) -> dict[str, Any]:
    return {**common(court, subject), "account_number": account, "sub_account_number": None,
            "financial_asset_id": asset, "amount": cny(fen, currency), "end_date": end, "waiting_in_line": waiting}


def continue_(account: str, freeze_id: str, fen: int, new_end: date, court: tuple[str, str, str] = COURT_A,
              ) -> dict[str, Any]:
    return {**common(court), "freeze_id": freeze_id, "account_number": account, "amount": cny(fen),
            "new_end_date": new_end}


def unfreeze(account: str, freeze_id: str, fen: int, court: tuple[str, str, str] = COURT_A) -> dict[str, Any]:
    return {**common(court), "freeze_id": freeze_id, "account_number": account, "amount": cny(fen),
            "reason": "已履行"}


def deduct(account: str, fen: int, *, freeze_id: str | None = None, court: tuple[str, str, str] = COURT_A,
           currency: str = "CNY", court_account: dict[str, Any] = CNY_COURT_ACCOUNT) -> dict[str, Any]:
    return {**common(court), "account_number": account, "sub_account_number": None, "freeze_id": freeze_id,
            "amount": cny(fen, currency), "court_account": court_account}


def query(subject: Any, window: dict[str, datetime] | None = None) -> dict[str, Any]:
    body = common()
    return {"case": body["case"], "subject": subject.subject_record(), "officer": body["officer"],
            "assistance_notice": body["assistance_notice"], "purpose": "ORDINARY", "transaction_window": window}


@pytest.fixture
def ledger() -> BankLedger:
    return BankLedger("ICBC")


def open_cny(ledger: BankLedger, fen: int, holder: Person = DEBTOR, currency: str = "CNY") -> str:
    return ledger.open_account(holder, nature="PERSONAL_CLASS_I", opened_on=date(2020, 1, 2), currency=currency,
                               balance_fen=fen)


def police_freeze(ledger: BankLedger, account: str, fen: int, end: date = date(2024, 12, 1)) -> str:
    return ledger.place_authority_freeze(account, authority_kind="PUBLIC_SECURITY",
                                         authority_name="北京市公安局朝阳分局", amount_fen=fen,
                                         start_at=NOW - timedelta(days=30), end_date=end,
                                         document_number="朝公冻字〔2024〕12号")


@pytest.fixture(scope="module")
def seeded() -> BankLedger:
    bank = BankLedger("ICBC")
    bank.seed(POP)
    return bank


# --- query (000 §6-§7, §12) -------------------------------------------------------------


def test_query_reports_each_account_with_balance_and_other_authorities_freezes_000_s7(ledger: BankLedger) -> None:
    """000 §7: open date, branch, holder, account no., nature, status, balance, phone, freezes by authorities."""
    account = open_cny(ledger, 10_000)
    police_freeze(ledger, account, 3_000)
    reply = call(ledger, QUERY, query(DEBTOR))
    assert reply["status"] == "EXECUTED" and reply["no_account"] is False
    (info,) = reply["accounts"]
    assert info["account_number"] == account and info["holder_name"] == DEBTOR.name
    assert info["opened_on"] == date(2020, 1, 2) and info["branch_name"].startswith("中国工商银行")
    assert info["nature"] == "PERSONAL_CLASS_I" and info["status"] == "FROZEN" and info["phone"] == DEBTOR.phone
    assert info["balance"] == cny(10_000) and info["available_balance"] == cny(7_000)
    (record,) = info["freezes"]
    assert record["authority_kind"] == "PUBLIC_SECURITY" and record["frozen"] == cny(3_000)


def test_query_by_organisation_code_finds_the_credit_code_holder_000_s6(ledger: BankLedger) -> None:
    """000 §6: the subject is identified by credit code or organisation code (组织机构代码)."""
    org = POP.organisations[0]
    account = ledger.open_account(org, nature="CORPORATE_BASIC", opened_on=date(2019, 3, 4), balance_fen=9)
    body = query(org)
    body["subject"] = {**body["subject"], "id_type": "ORG_CODE", "id_number": org.org_code}
    assert [a["account_number"] for a in call(ledger, QUERY, body)["accounts"]] == [account]


def test_query_reports_closed_accounts_000_s7(ledger: BankLedger) -> None:
    """000 §7: account status includes closed accounts (含已注销的账户)."""
    account = open_cny(ledger, 0)
    ledger.close_account(account, date(2023, 5, 6))
    (info,) = call(ledger, QUERY, query(DEBTOR))["accounts"]
    assert info["status"] == "CLOSED" and info["closed_on"] == date(2023, 5, 6)


def test_query_without_account_reports_no_account_000_s7(ledger: BankLedger) -> None:
    """000 §7 para 3: a subject without an account gets 查无开户信息."""
    open_cny(ledger, 5, holder=OTHER)
    reply = call(ledger, QUERY, query(DEBTOR))
    assert reply["status"] == "EXECUTED" and reply["no_account"] is True
    assert reply["accounts"] == [] and reply["financial_assets"] == [] and "查无开户信息" in reply["reason"]


def test_query_reports_priority_claims_000_s12(ledger: BankLedger) -> None:
    """000 §12: registered priority claims (pledge, margin) are stated in the query result."""
    account = open_cny(ledger, 10_000)
    ledger.register_priority_claim(account, kind="PLEDGE", holder_name="某担保公司", amount_fen=4_000)
    (info,) = call(ledger, QUERY, query(DEBTOR))["accounts"]
    (claim,) = info["priority_claims"]
    assert claim["kind"] == "PLEDGE" and claim["holder_name"] == "某担保公司" and claim["amount"] == cny(4_000)
    assert info["available_balance"] == cny(6_000)


def test_query_reports_financial_assets_with_linked_account_and_custodian_000_s7(seeded: BankLedger) -> None:
    """000 §7 para 2: other financial assets are reported with their linked fund account and custodian."""
    found = 0
    for subject in POP.subjects:
        reply = call(seeded, QUERY, query(subject))
        own = {info["account_number"] for info in reply["accounts"]}
        for asset in reply["financial_assets"]:
            found += 1
            assert asset["linked_account_number"] in own and asset["custodian"]
            assert asset["asset_type"] in ("WEALTH_MANAGEMENT", "FUND") and asset["value"]["amount_fen"] > 0
    assert found > 0


def test_query_transaction_window_is_deterministic_000_s6(ledger: BankLedger) -> None:
    """000 §6 para 2: transaction details cover exactly the explicit window asked for."""
    account = open_cny(ledger, 10_000)
    ledger.credit(account, 2_500, NOW - timedelta(days=2))
    window = {"start_at": NOW - timedelta(days=60), "end_at": NOW}
    first, second = call(ledger, QUERY, query(DEBTOR, window)), call(ledger, QUERY, query(DEBTOR, window))
    assert first["transactions"] == second["transactions"] and len(first["transactions"]) > 1
    assert all(window["start_at"] <= t["booked_at"] <= window["end_at"] for t in first["transactions"])
    assert any(t["direction"] == "CREDIT" and t["amount"] == cny(2_500) for t in first["transactions"])
    assert first["transaction_window"] == window


def test_query_rejects_inverted_transaction_window_000_s17(ledger: BankLedger) -> None:
    """000 §17: a window that ends before it starts cannot be answered; the reason says so."""
    open_cny(ledger, 1)
    reply = call(ledger, QUERY, query(DEBTOR, {"start_at": NOW, "end_at": NOW - timedelta(days=1)}))
    assert reply["status"] == "REJECTED" and "before it starts" in reply["reason"]


# --- freeze (000 §9-§12) -----------------------------------------------------------------


def test_freeze_full_amount_when_available_000_s10(ledger: BankLedger) -> None:
    """000 §10 para 1: report requested amount, actually frozen amount and the freeze period."""
    account = open_cny(ledger, 10_000)
    reply = call(ledger, FREEZE, freeze(account, 6_000))
    assert reply["status"] == "EXECUTED" and reply["reason"] is None
    assert reply["requested"] == cny(6_000) and reply["frozen"] == cny(6_000) and not reply["limited_freeze"]
    assert reply["start_at"] == NOW and reply["end_date"] == date(2024, 12, 31) and reply["freeze_id"]
    assert reply["delivered_at"] == NOW - timedelta(seconds=3) and reply["executed_at"] == NOW
    assert ledger.account(account).available_fen == 4_000  # type: ignore[union-attr]


def test_limited_freeze_when_balance_below_request_000_s10(ledger: BankLedger) -> None:
    """000 §10 para 2: available balance below the request -> freeze what is there, keep the limit open."""
    account = open_cny(ledger, 3_000)
    reply = call(ledger, FREEZE, freeze(account, 10_000))
    assert reply["status"] == "PARTIALLY_EXECUTED" and "限额冻结" in reply["reason"]
    assert reply["frozen"] == cny(3_000) and reply["limited_freeze"] and reply["remaining_limit"] == cny(7_000)
    assert not reply["waiting_in_line"]


def test_limited_freeze_captures_later_credits_until_limit_000_s10(ledger: BankLedger) -> None:
    """000 §10 para 2: money arriving later is frozen until the limit is reached, not beyond."""
    account = open_cny(ledger, 3_000)
    freeze_id = call(ledger, FREEZE, freeze(account, 10_000))["freeze_id"]
    ledger.credit(account, 5_000, NOW + timedelta(hours=1))
    assert ledger.freezes(account)[0].frozen_fen == 8_000
    ledger.credit(account, 5_000, NOW + timedelta(hours=2))
    (view,) = ledger.freezes(account)
    assert view.freeze_id == freeze_id and view.frozen_fen == 10_000
    assert ledger.account(account).available_fen == 3_000  # type: ignore[union-attr]


def test_waiting_in_line_freeze_reports_earlier_freezes_000_s10(ledger: BankLedger) -> None:
    """000 §10 para 3: a waiting-in-line freeze stacks behind earlier ones and reports them in order."""
    account = open_cny(ledger, 10_000)
    police = police_freeze(ledger, account, 10_000)
    reply = call(ledger, FREEZE, freeze(account, 5_000, waiting=True))
    assert reply["waiting_in_line"] and reply["frozen"] == cny(0) and reply["status"] == "PARTIALLY_EXECUTED"
    assert "轮候冻结" in reply["reason"] and reply["freeze_id"]
    (earlier,) = reply["earlier_freezes"]
    assert earlier["freeze_id"] == police and earlier["sequence"] == 1 and earlier["frozen"] == cny(10_000)


def test_waiting_in_line_takes_effect_when_earlier_freeze_released_000_s10(ledger: BankLedger) -> None:
    """000 §10 para 3: when the earlier freeze is released, the waiting one takes the money, in order."""
    account = open_cny(ledger, 10_000)
    first = call(ledger, FREEZE, freeze(account, 10_000))["freeze_id"]
    second = call(ledger, FREEZE, freeze(account, 4_000, court=COURT_B))["freeze_id"]
    third = call(ledger, FREEZE, freeze(account, 9_000, court=COURT_B))["freeze_id"]
    released = call(ledger, UNFREEZE, unfreeze(account, first, 10_000))
    assert released["status"] == "EXECUTED" and released["released"] == cny(10_000)
    frozen = {v.freeze_id: v.frozen_fen for v in ledger.freezes(account)}
    assert frozen == {first: 0, second: 4_000, third: 6_000}


def test_waiting_in_line_takes_effect_when_earlier_freeze_lapses(ledger: BankLedger) -> None:
    """000 §10: a freeze past its last day holds nothing; the next in line takes the money."""
    account = open_cny(ledger, 10_000)
    police = police_freeze(ledger, account, 10_000, end=date(2024, 6, 30))
    waiting = call(ledger, FREEZE, freeze(account, 10_000))["freeze_id"]
    call(ledger, QUERY, query(DEBTOR), now=datetime(2024, 6, 30, 15, 59, tzinfo=UTC))  # 23:59 in Beijing
    assert ledger.freezes(account)[0].frozen_fen == 10_000
    call(ledger, QUERY, query(DEBTOR), now=datetime(2024, 6, 30, 16, 0, tzinfo=UTC))  # 1 July in Beijing
    states = {v.freeze_id: (v.state, v.frozen_fen) for v in ledger.freezes(account)}
    assert states == {police: ("LAPSED", 0), waiting: ("ACTIVE", 10_000)}
    assert [e.kind for e in ledger.effects() if e.freeze_id == police] == ["LAPSE"]


def test_priority_claim_value_never_counted_as_frozen_000_s12(ledger: BankLedger) -> None:
    """000 §12 para 2: value under a pledge or margin is not counted in the frozen amount."""
    account = open_cny(ledger, 10_000)
    ledger.register_priority_claim(account, kind="PLEDGE", holder_name="某银行", amount_fen=6_000)
    reply = call(ledger, FREEZE, freeze(account, 10_000))
    assert reply["frozen"] == cny(4_000) and reply["remaining_limit"] == cny(6_000)
    assert [c["kind"] for c in reply["priority_claims"]] == ["PLEDGE"] and "000 §12" in reply["reason"]


def test_freeze_after_priority_claim_extinguished_takes_its_value_000_s12(ledger: BankLedger) -> None:
    """000 §12 para 2: once the priority claim is gone its value can be frozen (the open limit takes it)."""
    account = open_cny(ledger, 10_000)
    claim = ledger.register_priority_claim(account, kind="MARGIN", holder_name="某银行", amount_fen=6_000)
    call(ledger, FREEZE, freeze(account, 10_000))
    ledger.extinguish_priority_claim(claim)
    assert ledger.freezes(account)[0].frozen_fen == 10_000


def test_freeze_closed_account_not_executed_with_reason_000_s17(ledger: BankLedger) -> None:
    """000 §17: a closed account cannot be frozen; the receipt states the reason."""
    account = open_cny(ledger, 0)
    ledger.close_account(account, date(2023, 1, 5))
    reply = call(ledger, FREEZE, freeze(account, 100))
    assert reply["status"] == "NOT_EXECUTED" and "销户" in reply["reason"] and reply["freeze_id"] is None


def test_freeze_unknown_account_or_other_holder_rejected_000_s9(ledger: BankLedger) -> None:
    """000 §9: a measure needs a definite account of the debtor; otherwise refused with the reason."""
    account = open_cny(ledger, 100, holder=OTHER)
    unknown = call(ledger, FREEZE, freeze("6222020000000000001", 100))
    assert unknown["status"] == "REJECTED" and "does not exist" in unknown["reason"]
    foreign = call(ledger, FREEZE, freeze(account, 100))
    assert foreign["status"] == "REJECTED" and "not held by the subject" in foreign["reason"]
    assert ledger.effects() == []


def test_freeze_end_date_capped_at_one_year_term(ledger: BankLedger) -> None:
    """Deposits are frozen for at most one year at a time (民诉法解释 art. 485); renew by 续冻."""
    account = open_cny(ledger, 100)
    reply = call(ledger, FREEZE, freeze(account, 100, end=date(2027, 1, 1)))
    assert reply["end_date"] == date(2025, 6, 10) and "one-year term" in reply["reason"]


def test_freeze_financial_asset_is_limited_freeze_of_linked_account_000_s11(seeded: BankLedger) -> None:
    """000 §11: freezing another financial asset is a limited freeze of its linked account."""
    for subject in POP.subjects:
        assets = call(seeded, QUERY, query(subject))["financial_assets"]
        if assets and isinstance(subject, Person):
            asset = assets[0]
            body = freeze(asset["linked_account_number"], 1_000, asset=asset["asset_id"], subject=subject)
            reply = call(seeded, FREEZE, body)
            assert reply["status"] in ("EXECUTED", "PARTIALLY_EXECUTED") and reply["freeze_id"]
            view = next(v for v in seeded.freezes(asset["linked_account_number"]) if v.freeze_id == reply["freeze_id"])
            assert view.kind in ("LIMITED", "WAITING_IN_LINE")
            return
    pytest.fail("the seeded bank holds no financial asset of a person")


# --- continued freeze (000 §10 para 4) ----------------------------------------------------


def test_continued_freeze_extends_end_and_reports_order_000_s10(ledger: BankLedger) -> None:
    """000 §10 para 4: 续冻 extends the end, keeps the freeze's place, reports earlier and later freezes."""
    account = open_cny(ledger, 10_000)
    police = police_freeze(ledger, account, 2_000)
    mine = call(ledger, FREEZE, freeze(account, 8_000))["freeze_id"]
    later = call(ledger, FREEZE, freeze(account, 5_000, court=COURT_B))["freeze_id"]
    reply = call(ledger, CONTINUE_FREEZE, continue_(account, mine, 8_000, date(2025, 6, 1)))
    assert reply["status"] == "EXECUTED" and reply["freeze_id"] == mine
    assert reply["previous_end_date"] == date(2024, 12, 31) and reply["new_end_date"] == date(2025, 6, 1)
    assert reply["requested"] == cny(8_000) and reply["frozen"] == cny(8_000) and reply["start_at"] == NOW
    assert [r["freeze_id"] for r in reply["earlier_freezes"]] == [police]
    assert [r["freeze_id"] for r in reply["later_freezes"]] == [later]
    call(ledger, QUERY, query(DEBTOR), now=datetime(2025, 1, 2, tzinfo=UTC))  # the original end has passed
    assert {v.freeze_id: v.state for v in ledger.freezes(account)}[mine] == "ACTIVE"


def test_continued_freeze_of_unknown_freeze_rejected_000_s17(ledger: BankLedger) -> None:
    """000 §17: continuing a freeze the bank does not know is refused with the reason."""
    account = open_cny(ledger, 100)
    reply = call(ledger, CONTINUE_FREEZE, continue_(account, "ICBC-F99999999", 100, date(2025, 1, 1)))
    assert reply["status"] == "REJECTED" and "does not exist" in reply["reason"]


def test_continued_freeze_of_released_or_lapsed_freeze_not_executed_000_s17(ledger: BankLedger) -> None:
    """000 §10, §17: a released or lapsed freeze cannot be continued; a new freeze is needed."""
    account = open_cny(ledger, 100)
    released = call(ledger, FREEZE, freeze(account, 50))["freeze_id"]
    call(ledger, UNFREEZE, unfreeze(account, released, 50))
    reply = call(ledger, CONTINUE_FREEZE, continue_(account, released, 50, date(2025, 1, 1)))
    assert reply["status"] == "NOT_EXECUTED" and "released" in reply["reason"]
    lapsing = call(ledger, FREEZE, freeze(account, 50, end=date(2024, 6, 20)))["freeze_id"]
    late = datetime(2024, 6, 25, tzinfo=UTC)
    reply = call(ledger, CONTINUE_FREEZE, continue_(account, lapsing, 50, date(2025, 1, 1)), now=late)
    assert reply["status"] == "NOT_EXECUTED" and "lapsed" in reply["reason"]


# --- unfreeze -----------------------------------------------------------------------------


def test_partial_unfreeze_releases_requested_amount_000_s9(ledger: BankLedger) -> None:
    """000 §9: unfreeze names the freeze and the amount; a partial release leaves the rest frozen."""
    account = open_cny(ledger, 10_000)
    freeze_id = call(ledger, FREEZE, freeze(account, 10_000))["freeze_id"]
    reply = call(ledger, UNFREEZE, unfreeze(account, freeze_id, 4_000))
    assert reply["status"] == "EXECUTED" and reply["released"] == cny(4_000)
    assert reply["remaining_frozen"] == cny(6_000) and ledger.account(account).available_fen == 4_000  # type: ignore[union-attr]


def test_unfreeze_of_another_authoritys_freeze_rejected_000_s17(ledger: BankLedger) -> None:
    """000 §17: a court cannot release a freeze placed by another authority or court."""
    account = open_cny(ledger, 10_000)
    police = police_freeze(ledger, account, 1_000)
    reply = call(ledger, UNFREEZE, unfreeze(account, police, 1_000))
    assert reply["status"] == "REJECTED" and "北京市公安局朝阳分局" in reply["reason"]
    assert ledger.freezes(account)[0].frozen_fen == 1_000


# --- deduction (000 §12-§15) ----------------------------------------------------------------


def test_deduct_frozen_funds_without_unfreezing_first_000_s14(ledger: BankLedger) -> None:
    """000 §14 para 2: frozen money is deducted without first releasing the freeze."""
    account = open_cny(ledger, 10_000)
    freeze_id = call(ledger, FREEZE, freeze(account, 6_000))["freeze_id"]
    reply = call(ledger, DEDUCT, deduct(account, 6_000, freeze_id=freeze_id))
    assert reply["status"] == "EXECUTED" and reply["deducted"] == cny(6_000) and reply["not_deducted"] == cny(0)
    assert reply["court_account"] == CNY_COURT_ACCOUNT and reply["transfer_reference"]
    view = ledger.account(account)
    assert view is not None and view.balance_fen == 4_000 and view.available_fen == 4_000
    (effect,) = [e for e in ledger.effects() if e.kind == "DEDUCT"]
    assert effect.freeze_id == freeze_id and effect.court_account == CNY_COURT_ACCOUNT["account_number"]


def test_deduct_takes_own_frozen_then_available_and_reports_not_deducted_000_s15(ledger: BankLedger) -> None:
    """000 §15: receipt states actually deducted and not deducted; other authorities' freezes are untouched."""
    account = open_cny(ledger, 10_000)
    police_freeze(ledger, account, 3_000)
    call(ledger, FREEZE, freeze(account, 4_000))
    reply = call(ledger, DEDUCT, deduct(account, 9_000))
    assert reply["status"] == "PARTIALLY_EXECUTED" and "insufficient funds" in reply["reason"]
    assert reply["deducted"] == cny(7_000) and reply["not_deducted"] == cny(2_000)
    assert reply["deducted"]["amount_fen"] + reply["not_deducted"]["amount_fen"] == reply["requested"]["amount_fen"]
    view = ledger.account(account)
    assert view is not None and view.balance_fen == 3_000 and view.frozen_fen == 3_000


def test_no_deduction_while_priority_claim_review_pending_000_s12(ledger: BankLedger) -> None:
    """000 §12: while the court reviews a priority-claim holder's claim, no forced deduction."""
    account = open_cny(ledger, 10_000)
    claim = ledger.register_priority_claim(account, kind="PLEDGE", holder_name="某担保公司", amount_fen=1_000,
                                           review_pending=True)
    reply = call(ledger, DEDUCT, deduct(account, 5_000))
    assert reply["status"] == "NOT_EXECUTED" and "000 §12" in reply["reason"] and reply["deducted"] == cny(0)
    ledger.set_priority_review(claim, False)
    assert call(ledger, DEDUCT, deduct(account, 5_000))["deducted"] == cny(5_000)


def test_seeded_bank_has_one_pending_priority_review_blocking_deduction_000_s12(seeded: BankLedger) -> None:
    """000 §12: the seeded bank carries one priority claim under review; its account refuses deduction."""
    (view,) = [v for v in seeded.accounts() if v.priority_review_pending]
    holder = POP.by_id(view.holder_id)
    assert holder is not None
    body = {**deduct(view.account_number, 1, currency=view.currency,
                     court_account={**CNY_COURT_ACCOUNT, "currency": view.currency}),
            "subject": holder.subject_record()}
    reply = call(seeded, DEDUCT, body)
    assert reply["status"] == "NOT_EXECUTED" and "审查处理期间不得强制扣划" in reply["reason"]


def test_deduct_never_takes_priority_claim_value_000_s12(ledger: BankLedger) -> None:
    """000 §12 para 2: money under a pledge or margin claim is not deducted while the claim exists."""
    account = open_cny(ledger, 10_000)
    ledger.register_priority_claim(account, kind="MARGIN", holder_name="某银行", amount_fen=8_000)
    reply = call(ledger, DEDUCT, deduct(account, 10_000))
    assert reply["deducted"] == cny(2_000) and reply["not_deducted"] == cny(8_000)


def test_foreign_currency_deposit_goes_to_foreign_currency_court_account_000_s13(ledger: BankLedger) -> None:
    """000 §13: a foreign-currency deposit is deducted only into the court's foreign-currency account."""
    account = open_cny(ledger, 50_000, currency="USD")
    wrong = call(ledger, DEDUCT, deduct(account, 10_000, currency="USD"))
    assert wrong["status"] == "NOT_EXECUTED" and "000 §13" in wrong["reason"] and wrong["deducted"]["amount_fen"] == 0
    right = call(ledger, DEDUCT, deduct(account, 10_000, currency="USD", court_account=USD_COURT_ACCOUNT))
    assert right["status"] == "EXECUTED" and right["deducted"] == cny(10_000, "USD")
    assert right["court_account"]["currency"] == "USD"
    assert [e.court_account for e in ledger.effects() if e.kind == "DEDUCT"] == ["0200001409014422222"]


def test_deduct_closed_account_not_executed_000_s17(ledger: BankLedger) -> None:
    """000 §17: a closed account cannot be deducted from; the reason is stated."""
    account = open_cny(ledger, 0)
    ledger.close_account(account, date(2023, 1, 5))
    reply = call(ledger, DEDUCT, deduct(account, 100))
    assert reply["status"] == "NOT_EXECUTED" and "销户" in reply["reason"]


# --- idempotency, persistence, schemas --------------------------------------------------------


def test_same_request_id_twice_has_one_effect_and_identical_reply(ledger: BankLedger) -> None:
    """A redelivered request (same request id) changes nothing and gets the stored reply unchanged."""
    account = open_cny(ledger, 10_000)
    first = call(ledger, FREEZE, freeze(account, 6_000), rid="r-freeze")
    again = call(ledger, FREEZE, freeze(account, 6_000), rid="r-freeze", now=NOW + timedelta(hours=5))
    assert again == first
    paid = call(ledger, DEDUCT, deduct(account, 5_000), rid="r-deduct")
    assert call(ledger, DEDUCT, deduct(account, 5_000), rid="r-deduct") == paid
    totals = ledger.totals()
    assert [e.kind for e in totals.effects_by_request["r-freeze"]] == ["FREEZE"]
    assert totals.deducted_fen == 5_000 and ledger.account(account).balance_fen == 5_000  # type: ignore[union-attr]
    assert len(ledger.freezes(account)) == 1


def test_unknown_request_type_is_not_handled(ledger: BankLedger) -> None:
    with pytest.raises(NoRoute):
        ledger.handle("cn.court.interop.police.ExitRestrictionRequest", "x", {}, now=NOW, delivered_at=NOW)


def test_state_survives_reopening_the_ledger(tmp_path: Path) -> None:
    """A restarted simulator keeps accounts, freezes and stored replies (sqlite file)."""
    path = tmp_path / "icbc.sqlite"
    with BankLedger("ICBC", path) as bank:
        bank.seed(POP)
        account = open_cny(bank, 10_000)
        reply = call(bank, FREEZE, freeze(account, 7_000), rid="persist-1")
        before = bank.accounts()
    with BankLedger("ICBC", path) as bank:
        bank.seed(POP, seed=99)  # already seeded: no-op
        assert bank.accounts() == before
        assert call(bank, FREEZE, freeze(account, 7_000), rid="persist-1") == reply
        assert [e.kind for e in bank.effects()] == ["FREEZE"]
        assert bank.totals().frozen_fen_by_court == {COURT_A[0]: 7_000}


def test_seed_is_deterministic_per_bank_and_idempotent() -> None:
    """Same bank and seed -> same accounts; another bank -> other customers; seeding twice changes nothing."""
    first, second, other = BankLedger("ICBC"), BankLedger("ICBC"), BankLedger("CCB")
    for bank in (first, second, other):
        bank.seed(POP)
    assert first.accounts() == second.accounts()
    assert {a.holder_id for a in first.accounts()} != {a.holder_id for a in other.accounts()}
    snapshot = first.accounts()
    first.seed(POP)
    assert first.accounts() == snapshot
    natures = {a.nature for a in snapshot}
    assert {"PERSONAL_CLASS_I", "CORPORATE_BASIC"} <= natures
    assert any(a.status == "CLOSED" for a in snapshot) and any(a.currency == "USD" for a in snapshot)
    assert any(a.priority_held_fen for a in snapshot)
    assert {f.authority_kind for f in first.freezes()} - {"COURT"}


def test_every_reply_validates_against_its_avro_body_schema(seeded: BankLedger) -> None:
    """Each request type, executed or refused, yields a body that validates against the reply schema."""
    window = {"start_at": NOW - timedelta(days=7), "end_at": NOW}
    statuses: set[str] = set()
    for subject in POP.subjects[::7]:
        reply = call(seeded, QUERY, query(subject, window))
        for info in reply["accounts"]:
            if not isinstance(subject, Person):
                continue
            amount = info["balance"]["amount_fen"] // 2 + 1
            cur = info["balance"]["currency"]
            placed = call(seeded, FREEZE, freeze(info["account_number"], amount, currency=cur, subject=subject))
            statuses.add(placed["status"])
            fid = placed["freeze_id"] or "ICBC-F99999999"
            base = {"subject": subject.subject_record()}
            call(seeded, CONTINUE_FREEZE, {**continue_(info["account_number"], fid, amount, date(2025, 3, 1)),
                                           **base, "amount": cny(amount, cur)})
            account = {**CNY_COURT_ACCOUNT, "currency": cur}
            call(seeded, DEDUCT, {**deduct(info["account_number"], 1, freeze_id=placed["freeze_id"], currency=cur,
                                           court_account=account), **base})
            call(seeded, UNFREEZE, {**unfreeze(info["account_number"], fid, 1), **base, "amount": cny(1, cur)})
    assert {"EXECUTED", "NOT_EXECUTED"} <= statuses


# --- property: money is neither created nor lost ---------------------------------------------

_OPS = st.lists(st.one_of(
    st.tuples(st.just("freeze"), st.sampled_from([COURT_A, COURT_B]), st.integers(1, 20_000), st.booleans()),
    st.tuples(st.just("credit"), st.integers(1, 20_000)),
    st.tuples(st.just("unfreeze"), st.integers(0, 5), st.integers(1, 20_000)),
    st.tuples(st.just("deduct"), st.sampled_from([COURT_A, COURT_B]), st.integers(1, 20_000), st.booleans()),
    st.tuples(st.just("continue"), st.integers(0, 5), st.integers(1, 200)),
    st.tuples(st.just("days"), st.integers(1, 120)),
), max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS, opening=st.integers(0, 30_000), pledge=st.integers(0, 8_000))
def test_money_is_neither_created_nor_lost(ops: list[tuple[Any, ...]], opening: int, pledge: int) -> None:
    """For any sequence of freezes, credits, unfreezes, deductions and lapses on one account:
    frozen + priority-held + available = balance = opening + credits - deductions, nothing negative."""
    bank = BankLedger("ICBC")
    account = open_cny(bank, opening)
    police_freeze(bank, account, 5_000, end=date(2024, 8, 1))
    if pledge:
        bank.register_priority_claim(account, kind="PLEDGE", holder_name="某银行", amount_fen=pledge)
    now, court_freezes, reported = NOW, [], 0
    for op in ops:
        if op[0] == "freeze":
            reply = call(bank, FREEZE, freeze(account, op[2], court=op[1], waiting=op[3], end=date(2025, 1, 1)),
                         now=now)
            if reply["freeze_id"]:
                court_freezes.append((op[1], reply["freeze_id"]))
        elif op[0] == "credit":
            bank.credit(account, op[1], now)
        elif op[0] in ("unfreeze", "continue") and court_freezes:
            court, fid = court_freezes[op[1] % len(court_freezes)]
            if op[0] == "unfreeze":
                call(bank, UNFREEZE, unfreeze(account, fid, op[2], court=court), now=now)
            else:
                call(bank, CONTINUE_FREEZE, continue_(account, fid, op[2] * 100, date(2025, 3, 1), court=court),
                     now=now)
        elif op[0] == "deduct":
            own = next((fid for court, fid in court_freezes if court == op[1]), None) if op[3] else None
            before = next((f.frozen_fen for f in bank.freezes(account) if f.freeze_id == own), None)
            reply = call(bank, DEDUCT, deduct(account, op[2], court=op[1], freeze_id=own), now=now)
            reported += reply["deducted"]["amount_fen"]
            got, missing = reply["deducted"]["amount_fen"], reply["not_deducted"]["amount_fen"]
            from_freeze = min(got, before or 0)
            if before and from_freeze:  # 000 §15: the named freeze's original amount less the deduction
                assert missing == before - from_freeze + (op[2] - got)
            else:
                assert got + missing == op[2]
        elif op[0] == "days":
            now += timedelta(days=op[1])
            bank.expire(now)
        view, totals = bank.account(account), bank.totals()
        assert view is not None
        assert view.frozen_fen + view.priority_held_fen + view.available_fen == view.balance_fen
        assert min(view.frozen_fen, view.priority_held_fen, view.available_fen, view.balance_fen) >= 0
        assert view.balance_fen == opening + totals.credited_fen - totals.deducted_fen
        assert totals.deducted_fen == reported
        for f in bank.freezes(account):
            assert 0 <= f.frozen_fen <= max(f.limit_fen, 0) and f.limit_fen >= 0
            assert f.state == "ACTIVE" or f.frozen_fen == 0
