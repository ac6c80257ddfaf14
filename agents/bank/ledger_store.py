"""sqlite persistence of the bank ledger: rows, ids, effects, and the allocation of money to freezes.

Every function here runs inside the caller's transaction; none commits.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agents.bank.ledger_model import (
    ACTIVE,
    DDL,
    LAPSED,
    china_date,
    rejected,
    to_ms,
)
from hub.domain import parse_account_number
from hub.errors import ValidationError


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (and create) the ledger database; transactions are explicit (``BEGIN IMMEDIATE``)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a committed transaction survives the process being killed (the crash tests
        # SIGKILL the bank); only an OS crash can lose the last ones, the same exposure as the
        # single-node broker's page-cache log.  FULL would fsync every request (~3x slower).
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(DDL)
    return conn


@dataclass(frozen=True, slots=True)
class Ctx:
    """One request being handled: where to write, who we are, and when it is."""

    conn: sqlite3.Connection
    bank_code: str
    request_id: str | None
    now: datetime
    delivered_at: datetime

    @property
    def now_ms(self) -> int:
        return to_ms(self.now)


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def next_id(conn: sqlite3.Connection, bank_code: str, prefix: str) -> str:
    """A new id such as ``ICBC-F00000001``; the counter lives in the same transaction as the effect."""
    key = f"counter.{prefix}"
    number = int(get_meta(conn, key) or "0") + 1
    set_meta(conn, key, str(number))
    return f"{bank_code}-{prefix}{number:08d}"


def account_row(conn: sqlite3.Connection, account_number: object, field: str = "account_number") -> sqlite3.Row:
    """The account, or a REJECTED refusal naming what is wrong with the number (000 §9, §17)."""
    try:
        number = parse_account_number(account_number, field=field)
    except ValidationError as exc:
        raise rejected(f"invalid account number: {exc}") from None
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM accounts WHERE account_number = ?", (number,)).fetchone()
    if row is None:
        raise rejected(f"account {number} does not exist at this bank (账户不存在)")
    return row


def check_holder(row: sqlite3.Row, subject: dict[str, Any]) -> None:
    """The account must belong to the debtor named in the request (000 §5)."""
    id_number = str(subject.get("id_number", "")).strip().upper()
    if row["holder_id"] != id_number:
        raise rejected(f"account {row['account_number']} is not held by the subject {id_number} (账户与被执行人不符)")


def active_freezes(conn: sqlite3.Connection, account_number: str) -> list[sqlite3.Row]:
    return list(conn.execute(
        "SELECT * FROM freezes WHERE account_number = ? AND state = ? ORDER BY seq", (account_number, ACTIVE)))


def active_claims(conn: sqlite3.Connection, account_number: str) -> list[sqlite3.Row]:
    return list(conn.execute(
        "SELECT * FROM claims WHERE account_number = ? AND active = 1 ORDER BY claim_id", (account_number,)))


def priority_held(conn: sqlite3.Connection, account: sqlite3.Row) -> int:
    """Money held by priority claims: their value, at most the balance (000 §12 para 2)."""
    claimed = sum(int(row["amount_fen"]) for row in active_claims(conn, account["account_number"]))
    return min(int(account["balance_fen"]), claimed)


def reallocate(conn: sqlite3.Connection, account_number: str) -> None:
    """Give the account's freezable money to its active freezes, first placed first served.

    Freezable money is the balance less what priority claims hold (000 §12 para 2).
    Each freeze takes up to its limit (requested less released and deducted), so a
    limited freeze (限额冻结) captures later credits and a waiting-in-line freeze
    (轮候冻结) takes effect when an earlier one is released or lapses (000 §10).
    """
    conn.execute("UPDATE freezes SET frozen_fen = 0 WHERE account_number = ? AND state != ? AND frozen_fen != 0",
                 (account_number, ACTIVE))
    account = conn.execute("SELECT * FROM accounts WHERE account_number = ?", (account_number,)).fetchone()
    pool = int(account["balance_fen"]) - priority_held(conn, account)
    for row in active_freezes(conn, account_number):
        limit = int(row["requested_fen"]) - int(row["released_fen"]) - int(row["deducted_fen"])
        frozen = max(0, min(limit, pool))
        pool -= frozen
        if frozen != row["frozen_fen"]:
            conn.execute("UPDATE freezes SET frozen_fen = ? WHERE freeze_id = ?", (frozen, row["freeze_id"]))


def available(conn: sqlite3.Connection, account: sqlite3.Row) -> int:
    """Available balance (可用余额, 000 §10): neither frozen nor held by a priority claim."""
    frozen = sum(int(row["frozen_fen"]) for row in active_freezes(conn, account["account_number"]))
    return int(account["balance_fen"]) - priority_held(conn, account) - frozen


def record_effect(
    ctx: Ctx, kind: str, account: sqlite3.Row, amount_fen: int, *, freeze_id: str | None = None,
    court_code: str | None = None, court_account: str | None = None, request_id: str | None = None,
) -> None:
    ctx.conn.execute(
        "INSERT INTO effects (request_id, kind, account_number, freeze_id, amount_fen, currency, court_code, "
        "court_account, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (request_id if request_id is not None else ctx.request_id, kind, account["account_number"], freeze_id,
         amount_fen, account["currency"], court_code, court_account, ctx.now_ms),
    )


def expire(ctx: Ctx) -> None:
    """Freezes whose last day (China time) is before today lapse and hold nothing more."""
    today = china_date(ctx.now).isoformat()
    rows = list(ctx.conn.execute(
        "SELECT * FROM freezes WHERE state = ? AND end_date < ? ORDER BY account_number, seq", (ACTIVE, today)))
    for row in rows:
        ctx.conn.execute("UPDATE freezes SET state = ?, frozen_fen = 0, ended_at = ? WHERE freeze_id = ?",
                         (LAPSED, ctx.now_ms, row["freeze_id"]))
        account = ctx.conn.execute(
            "SELECT * FROM accounts WHERE account_number = ?", (row["account_number"],)).fetchone()
        record_effect(ctx, "LAPSE", account, int(row["frozen_fen"]), freeze_id=row["freeze_id"],
                      court_code=row["court_code"], request_id=None)
    for account_number in sorted({row["account_number"] for row in rows}):
        reallocate(ctx.conn, account_number)
