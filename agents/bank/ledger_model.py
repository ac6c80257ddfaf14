"""Tables, views and small helpers shared by the bank ledger's rule modules.

The ledger keeps every amount as integer fen (1/100 of the currency's major unit,
the hub's one scale, see :mod:`hub.domain.money`).  An account's money is split
four ways, always summing to its balance:

* held by priority claims (优先受偿权: pledge, margin) — never counted as frozen (000 §12);
* frozen, freeze by freeze in the order the freezes were placed (轮候, 000 §10);
* available (可用余额), the rest.

Deducted money has left the account; it is counted in the effects table.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from hub.clock import CHINA_TZ  # a freeze's end date is a calendar day in China
from hub.errors import HubError

ACTIVE, RELEASED, LAPSED = "ACTIVE", "RELEASED", "LAPSED"

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    account_number TEXT PRIMARY KEY, holder_id TEXT NOT NULL, holder_name TEXT NOT NULL,
    holder_kind TEXT NOT NULL, nature TEXT NOT NULL, currency TEXT NOT NULL,
    balance_fen INTEGER NOT NULL CHECK (balance_fen >= 0), initial_fen INTEGER NOT NULL,
    closed_on TEXT, opened_on TEXT NOT NULL, branch_name TEXT NOT NULL, branch_code TEXT,
    card_number TEXT, phone TEXT);
CREATE INDEX IF NOT EXISTS accounts_holder ON accounts (holder_id);
CREATE TABLE IF NOT EXISTS claims (
    claim_id TEXT PRIMARY KEY, account_number TEXT NOT NULL, asset_id TEXT, kind TEXT NOT NULL,
    holder_name TEXT NOT NULL, holder_contact TEXT, amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    registered_at INTEGER, reference TEXT, review_pending INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS assets (
    asset_id TEXT PRIMARY KEY, holder_id TEXT NOT NULL, asset_type TEXT NOT NULL, product_name TEXT NOT NULL,
    quantity TEXT, value_fen INTEGER, currency TEXT NOT NULL, linked_account TEXT NOT NULL,
    custodian TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS freezes (
    freeze_id TEXT PRIMARY KEY, account_number TEXT NOT NULL, seq INTEGER NOT NULL, asset_id TEXT,
    authority_name TEXT NOT NULL, authority_kind TEXT NOT NULL, court_code TEXT, case_number TEXT,
    document_number TEXT, request_id TEXT, kind TEXT NOT NULL,
    requested_fen INTEGER NOT NULL CHECK (requested_fen > 0),
    released_fen INTEGER NOT NULL DEFAULT 0 CHECK (released_fen >= 0),
    deducted_fen INTEGER NOT NULL DEFAULT 0 CHECK (deducted_fen >= 0),
    frozen_fen INTEGER NOT NULL DEFAULT 0 CHECK (frozen_fen >= 0),
    start_at INTEGER NOT NULL, end_date TEXT NOT NULL, state TEXT NOT NULL, ended_at INTEGER,
    CHECK (released_fen + deducted_fen <= requested_fen), UNIQUE (account_number, seq));
CREATE TABLE IF NOT EXISTS effects (
    id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT, kind TEXT NOT NULL, account_number TEXT NOT NULL,
    freeze_id TEXT, amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0), currency TEXT NOT NULL,
    court_code TEXT, court_account TEXT, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS effects_request ON effects (request_id);
CREATE TABLE IF NOT EXISTS replies (
    request_id TEXT PRIMARY KEY, schema TEXT NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL);
"""


class BankRefusal(HubError):
    """The bank cannot (fully) carry out a request; becomes the reply's status and reason (000 §17)."""

    code = "bank_refusal"

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def rejected(reason: str) -> BankRefusal:
    """Refused as invalid: unknown account or freeze, wrong holder, bad currency."""
    return BankRefusal("REJECTED", reason)


def not_executed(reason: str) -> BankRefusal:
    """Valid, but the bank cannot execute it: closed account, pending priority-claim review."""
    return BankRefusal("NOT_EXECUTED", reason)


# --- time -------------------------------------------------------------------------------


def to_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("naive datetime; the ledger only takes timezone-aware instants")
    return int(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def china_date(at: datetime) -> date:
    return at.astimezone(CHINA_TZ).date()


def add_years(day: date, years: int) -> date:
    """Same day ``years`` later; 29 February becomes 28 February (Civil Code art. 202)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- reply bodies survive the sqlite round trip exactly -----------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$ts": to_ms(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$ts"}:
            return from_ms(value["$ts"])
        if set(value) == {"$date"}:
            return date.fromisoformat(value["$date"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def dump_body(body: dict[str, Any]) -> str:
    return json.dumps(_encode(body), ensure_ascii=False, sort_keys=True)


def load_body(text: str) -> dict[str, Any]:
    body: dict[str, Any] = _decode(json.loads(text))
    return body


# --- views ------------------------------------------------------------------------------


def money(amount_fen: int, currency: str) -> dict[str, Any]:
    return {"amount_fen": amount_fen, "currency": currency}


@dataclass(frozen=True, slots=True)
class AccountView:
    """One account as the bank's staff would see it."""

    account_number: str
    holder_id: str
    holder_name: str
    nature: str
    currency: str
    status: str
    balance_fen: int
    frozen_fen: int
    priority_held_fen: int
    available_fen: int
    opened_on: date
    closed_on: date | None
    branch_name: str
    phone: str | None
    priority_review_pending: bool
    freeze_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FreezeView:
    freeze_id: str
    account_number: str
    seq: int
    authority_kind: str
    authority_name: str
    court_code: str | None
    case_number: str | None
    kind: str
    requested_fen: int
    released_fen: int
    deducted_fen: int
    frozen_fen: int
    start_at: datetime
    end_date: date
    state: str

    @property
    def limit_fen(self) -> int:
        """What this freeze may still hold (限额): requested less released and deducted."""
        return self.requested_fen - self.released_fen - self.deducted_fen


@dataclass(frozen=True, slots=True)
class Effect:
    """One applied change: FREEZE, CONTINUE, UNFREEZE, DEDUCT, CREDIT or LAPSE."""

    request_id: str | None
    kind: str
    account_number: str
    freeze_id: str | None
    amount_fen: int
    currency: str
    court_code: str | None
    court_account: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """Sums for reconciliation: what is frozen per court, what was deducted, effects per request."""

    frozen_fen_by_court: dict[str, int]
    frozen_fen_by_court_currency: dict[tuple[str, str], int]
    deducted_fen: int
    deducted_fen_by_court: dict[str, int]
    credited_fen: int
    balance_fen: int
    initial_fen: int
    effects_by_request: dict[str, tuple[Effect, ...]] = field(default_factory=dict)


def freeze_view(row: sqlite3.Row) -> FreezeView:
    return FreezeView(
        freeze_id=row["freeze_id"], account_number=row["account_number"], seq=row["seq"],
        authority_kind=row["authority_kind"], authority_name=row["authority_name"],
        court_code=row["court_code"], case_number=row["case_number"], kind=row["kind"],
        requested_fen=row["requested_fen"], released_fen=row["released_fen"],
        deducted_fen=row["deducted_fen"], frozen_fen=row["frozen_fen"], start_at=from_ms(row["start_at"]),
        end_date=date.fromisoformat(row["end_date"]), state=row["state"],
    )


def effect_view(row: sqlite3.Row) -> Effect:
    return Effect(
        request_id=row["request_id"], kind=row["kind"], account_number=row["account_number"],
        freeze_id=row["freeze_id"], amount_fen=row["amount_fen"], currency=row["currency"],
        court_code=row["court_code"], court_account=row["court_account"], at=from_ms(row["at"]),
    )


def freeze_record(row: sqlite3.Row, currency: str) -> dict[str, Any]:
    """A freezes row as an Avro ``FreezeRecord``."""
    return {
        "freeze_id": row["freeze_id"], "authority_name": row["authority_name"],
        "authority_kind": row["authority_kind"], "document_number": row["document_number"],
        "kind": row["kind"], "sequence": row["seq"], "requested": money(row["requested_fen"], currency),
        "frozen": money(row["frozen_fen"], currency), "start_at": from_ms(row["start_at"]),
        "end_date": date.fromisoformat(row["end_date"]),
    }


def claim_record(row: sqlite3.Row, currency: str) -> dict[str, Any]:
    """A claims row as an Avro ``PriorityClaim``."""
    return {
        "kind": row["kind"], "holder_name": row["holder_name"], "holder_contact": row["holder_contact"],
        "amount": money(row["amount_fen"], currency),
        "registered_at": None if row["registered_at"] is None else from_ms(row["registered_at"]),
        "reference": row["reference"],
    }
