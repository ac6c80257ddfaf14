"""Deduction (扣划) of deposits into the court's execution account (000 §12-§15, §17).

The money comes first from this court's own freezes on the account — no unfreeze
needed (000 §14 para 2) — then from the available balance.  Money held by a
priority claim or frozen for another authority is never taken, and nothing is
taken while a priority-claim review is pending (000 §12).  A foreign-currency
deposit goes only to the court's execution account in that currency (000 §13).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from agents.bank.freezes import check_currency, check_open, court_freeze, echo_money, request_amount
from agents.bank.ledger_model import ACTIVE, RELEASED, BankRefusal, money, not_executed, rejected
from agents.bank.ledger_store import (
    Ctx,
    account_row,
    active_claims,
    active_freezes,
    available,
    check_holder,
    next_id,
    priority_held,
    reallocate,
    record_effect,
)
from hub.domain import parse_account_number
from hub.errors import ValidationError


def _court_account(body: dict[str, Any], currency: str) -> str:
    target = body.get("court_account") or {}
    try:
        number = parse_account_number(target.get("account_number"), field="court_account.account_number")
    except ValidationError as exc:
        raise rejected(f"invalid court execution account: {exc}") from None
    if target.get("currency", "CNY") != currency:
        raise not_executed(
            f"the deposit is in {currency} but court account {number} is a {target.get('currency')} account; "
            f"a foreign-currency deposit is deducted only to the court's {currency} execution account "
            f"(外币执行款专户, 000 §13)")
    return number


def _pending_review(conn: sqlite3.Connection, account: sqlite3.Row) -> None:
    for claim in active_claims(conn, account["account_number"]):
        if claim["review_pending"]:
            raise not_executed(
                f"the court is reviewing the priority claim ({claim['kind']}) of {claim['holder_name']} on account "
                f"{account['account_number']}; no deduction during the review (审查处理期间不得强制扣划, 000 §12)")


def _sources(ctx: Ctx, account: sqlite3.Row, body: dict[str, Any]) -> list[sqlite3.Row]:
    court_code = body["case"]["court"]["court_code"]
    if body.get("freeze_id") is not None:
        return [court_freeze(ctx, account, body["freeze_id"], court_code)]
    case_number = body["case"]["case_number"]
    return [row for row in active_freezes(ctx.conn, account["account_number"])
            if row["court_code"] == court_code and row["case_number"] == case_number and row["state"] == ACTIVE]


def handle_deduct(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    requested = echo_money(body.get("amount"))
    target = body.get("court_account") or {}
    reply: dict[str, Any] = {
        "status": "EXECUTED", "reason": None, "delivered_at": ctx.delivered_at, "executed_at": ctx.now,
        "account_number": str(body.get("account_number", "")), "freeze_id": body.get("freeze_id"),
        "requested": requested, "deducted": money(0, requested["currency"]), "not_deducted": requested,
        "court_account": {
            "bank_name": str(target.get("bank_name", "")), "account_number": str(target.get("account_number", "")),
            "account_name": str(target.get("account_name", "")), "currency": str(target.get("currency", "CNY")),
            "bank_code": target.get("bank_code"),
        },
        "transfer_reference": None,
    }
    try:
        _deduct(ctx, body, reply)
    except BankRefusal as refusal:
        reply.update(status=refusal.status, reason=refusal.reason)
    return reply


def _not_deducted(amount: int, deducted: int, frozen_before: int | None,
                  taken: list[tuple[str | None, int]]) -> int:
    """000 §15: when the court deducts part of a freeze it names, the not-deducted amount is that freeze's
    original frozen amount less what was actually deducted; otherwise what was asked for and not deducted."""
    from_freeze = sum(fen for freeze_id, fen in taken if freeze_id is not None)
    if frozen_before is not None and from_freeze:
        return max(frozen_before - from_freeze, 0) + (amount - deducted)
    return amount - deducted


def _deduct(ctx: Ctx, body: dict[str, Any], reply: dict[str, Any]) -> None:
    conn = ctx.conn
    account = account_row(conn, body.get("account_number"))
    check_holder(account, body["subject"])
    amount, currency = request_amount(body["amount"])
    check_currency(account, currency)
    check_open(account, "deducted from")
    court_number = _court_account(body, currency)
    _pending_review(conn, account)
    sources = _sources(ctx, account, body)
    court_code = body["case"]["court"]["court_code"]
    free = available(conn, account)
    # 000 §15 names the original frozen amount when the court deducts part of a freeze it names
    frozen_before = int(sources[0]["frozen_fen"]) if body.get("freeze_id") is not None and sources else None
    remaining = amount
    taken: list[tuple[str | None, int]] = []
    for row in sources:
        take = min(remaining, int(row["frozen_fen"]))
        if take:
            # a freeze whose whole amount has been deducted has done its work and ends
            conn.execute("UPDATE freezes SET deducted_fen = deducted_fen + ?, state = CASE WHEN requested_fen "
                         "- released_fen - deducted_fen - ? = 0 THEN ? ELSE state END, ended_at = CASE WHEN "
                         "requested_fen - released_fen - deducted_fen - ? = 0 THEN ? ELSE ended_at END "
                         "WHERE freeze_id = ?", (take, take, RELEASED, take, ctx.now_ms, row["freeze_id"]))
            taken.append((row["freeze_id"], take))
            remaining -= take
    take = min(remaining, free)
    if take:
        taken.append((None, take))
        remaining -= take
    deducted = amount - remaining
    if deducted == 0:
        raise not_executed(_shortfall(conn, account, amount, sources))
    conn.execute("UPDATE accounts SET balance_fen = balance_fen - ? WHERE account_number = ?",
                 (deducted, account["account_number"]))
    reallocate(conn, account["account_number"])
    for freeze_id, fen in taken:
        record_effect(ctx, "DEDUCT", account, fen, freeze_id=freeze_id, court_code=court_code,
                      court_account=court_number)
    reply.update(
        status="EXECUTED" if remaining == 0 else "PARTIALLY_EXECUTED",
        reason=None if remaining == 0 else _shortfall(conn, account, amount, sources, deducted),
        account_number=account["account_number"],
        freeze_id=body.get("freeze_id") or next((fid for fid, _ in taken if fid is not None), None),
        deducted=money(deducted, currency),
        not_deducted=money(_not_deducted(amount, deducted, frozen_before, taken), currency),
        transfer_reference=next_id(conn, ctx.bank_code, "T"),
    )


def _shortfall(conn: sqlite3.Connection, account: sqlite3.Row, amount: int, sources: list[sqlite3.Row],
               deducted: int = 0) -> str:
    """Why less than requested could be deducted (000 §17)."""
    fresh = conn.execute("SELECT * FROM accounts WHERE account_number = ?", (account["account_number"],)).fetchone()
    own = {row["freeze_id"] for row in sources}
    others = sum(int(r["frozen_fen"]) for r in active_freezes(conn, fresh["account_number"])
                 if r["freeze_id"] not in own)
    return (f"insufficient funds: requested {amount} fen, deducted {deducted} fen; of the remaining balance "
            f"{fresh['balance_fen']} fen, {priority_held(conn, fresh)} fen is held by priority claims (000 §12) "
            f"and {others} fen is frozen for other authorities or earlier freezes (余额不足)")
