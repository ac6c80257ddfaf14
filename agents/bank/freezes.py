"""Freeze (冻结), continued freeze (续冻) and unfreeze (解冻) at the bank (000 §9-§12, §17).

Money is allocated to freezes by :func:`agents.bank.ledger_store.reallocate`: each active
freeze holds up to its limit, earlier freezes first.  A freeze that gets less than
it asked for keeps its limit open (限额冻结) or waits in line (轮候冻结).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from agents.bank.ledger_model import (
    ACTIVE,
    LAPSED,
    RELEASED,
    BankRefusal,
    add_years,
    china_date,
    claim_record,
    freeze_record,
    from_ms,
    money,
    not_executed,
    rejected,
)
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
from hub.domain import parse_amount_fen, parse_currency
from hub.errors import ValidationError

#: Longest freeze of bank deposits the bank accepts in one go, and the default term: one year
#: (最高人民法院关于适用《民事诉讼法》的解释 art. 485: 冻结银行存款的期限不得超过一年; renewable by 续冻).
FREEZE_TERM_YEARS = 1


def request_amount(amount: dict[str, Any], field: str = "amount") -> tuple[int, str]:
    """Amount and currency of a request, or a REJECTED refusal saying what is wrong."""
    try:
        fen = parse_amount_fen(amount.get("amount_fen"), field=f"{field}.amount_fen")
        currency = parse_currency(amount.get("currency", "CNY"), field=f"{field}.currency")
    except ValidationError as exc:
        raise rejected(f"invalid amount: {exc}") from None
    return fen, currency


def echo_money(amount: Any, fallback_currency: str = "CNY") -> dict[str, Any]:
    """The request's amount as a valid Avro Money, for replies to requests that were refused."""
    if isinstance(amount, dict):
        fen = amount.get("amount_fen")
        currency = amount.get("currency")
        return money(fen if isinstance(fen, int) and not isinstance(fen, bool) else 0,
                     currency if isinstance(currency, str) else fallback_currency)
    return money(0, fallback_currency)


def check_currency(account: sqlite3.Row, currency: str) -> None:
    if currency != account["currency"]:
        raise rejected(f"amount is in {currency} but account {account['account_number']} is a "
                       f"{account['currency']} account (币种不符)")


def check_open(account: sqlite3.Row, measure: str) -> None:
    if account["closed_on"] is not None:
        raise not_executed(f"account {account['account_number']} was closed on {account['closed_on']} "
                           f"(账户已销户); it cannot be {measure}")


def court_freeze(ctx: Ctx, account: sqlite3.Row, freeze_id: Any, court_code: str) -> sqlite3.Row:
    """A freeze on ``account`` placed by this court and still in force."""
    row: sqlite3.Row | None = ctx.conn.execute(
        "SELECT * FROM freezes WHERE freeze_id = ?", (str(freeze_id),)).fetchone()
    if row is None or row["account_number"] != account["account_number"]:
        raise rejected(f"freeze {freeze_id} does not exist on account {account['account_number']} (冻结编号不存在)")
    if row["court_code"] != court_code:
        raise rejected(f"freeze {freeze_id} was placed by {row['authority_name']}, not by court {court_code}")
    if row["state"] == RELEASED:
        raise not_executed(f"freeze {freeze_id} was already released (已解除冻结)")
    if row["state"] == LAPSED:
        raise not_executed(f"freeze {freeze_id} lapsed after its last day {row['end_date']} (冻结已失效)")
    return row


def _cap_end(requested: Any, today: date) -> tuple[date, str | None]:
    longest = add_years(today, FREEZE_TERM_YEARS)
    if requested is None:
        return longest, None
    if not isinstance(requested, date):
        raise rejected(f"end date {requested!r} is not a date")
    if requested < today:
        raise rejected(f"end date {requested.isoformat()} lies before today {today.isoformat()}")
    if requested > longest:
        return longest, (f"requested end date {requested.isoformat()} exceeds the one-year term for deposits; "
                         f"frozen until {longest.isoformat()}, renew by a continued freeze (续冻)")
    return requested, None


def _freeze_reasons(frozen: int, requested: int, waiting: bool, seq_before: int, held: int, cur: str) -> list[str]:
    reasons: list[str] = []
    if frozen < requested and waiting:
        reasons.append(f"轮候冻结: {seq_before} earlier freeze(s) hold the funds; {frozen} {cur} fen frozen now, "
                       f"the rest ({requested - frozen} fen) is frozen in order as earlier freezes end (000 §10)")
    elif frozen < requested:
        reasons.append(f"限额冻结: available balance {frozen} {cur} fen is below the requested {requested}; "
                       f"the remaining limit {requested - frozen} fen is frozen as money arrives (000 §10)")
    if held and frozen < requested:
        reasons.append(f"{held} fen held by priority claims is not counted as frozen (000 §12)")
    return reasons


def handle_freeze(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "status": "EXECUTED", "reason": None, "delivered_at": ctx.delivered_at, "executed_at": ctx.now,
        "freeze_id": None, "account_number": str(body.get("account_number", "")),
        "requested": echo_money(body.get("amount")), "frozen": money(0, echo_money(body.get("amount"))["currency"]),
        "start_at": None, "end_date": None, "limited_freeze": False, "remaining_limit": None,
        "waiting_in_line": False, "earlier_freezes": [], "priority_claims": [],
    }
    try:
        _freeze(ctx, body, reply)
    except BankRefusal as refusal:
        reply.update(status=refusal.status, reason=refusal.reason)
    return reply


def _freeze(ctx: Ctx, body: dict[str, Any], reply: dict[str, Any]) -> None:
    conn = ctx.conn
    account = account_row(conn, body.get("account_number"))
    check_holder(account, body["subject"])
    amount, currency = request_amount(body["amount"])
    check_currency(account, currency)
    check_open(account, "frozen")
    number = account["account_number"]
    asset_id = body.get("financial_asset_id")
    if asset_id is not None:
        asset = conn.execute("SELECT * FROM assets WHERE asset_id = ?", (asset_id,)).fetchone()
        if asset is None or asset["linked_account"] != number:
            raise rejected(f"financial asset {asset_id} is not linked to account {number}")
    end, end_note = _cap_end(body.get("end_date"), china_date(ctx.now))
    earlier = active_freezes(conn, number)
    free = available(conn, account)
    frozen = min(amount, free)
    waiting = bool(earlier) and (bool(body.get("waiting_in_line")) or frozen < amount)
    kind = "WAITING_IN_LINE" if waiting else "LIMITED" if frozen < amount or asset_id is not None else "NORMAL"
    seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM freezes WHERE account_number = ?",
                           (number,)).fetchone()[0])
    freeze_id = next_id(conn, ctx.bank_code, "F")
    court = body["case"]["court"]
    notice = body.get("assistance_notice") or {}
    conn.execute(
        "INSERT INTO freezes (freeze_id, account_number, seq, asset_id, authority_name, authority_kind, court_code, "
        "case_number, document_number, request_id, kind, requested_fen, start_at, end_date, state) "
        "VALUES (?, ?, ?, ?, ?, 'COURT', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (freeze_id, number, seq, asset_id, court["court_name"], court["court_code"], body["case"]["case_number"],
         notice.get("number") or body["case"]["case_number"], ctx.request_id, kind, amount, ctx.now_ms,
         end.isoformat(), ACTIVE),
    )
    reallocate(conn, number)
    placed = conn.execute("SELECT frozen_fen FROM freezes WHERE freeze_id = ?", (freeze_id,)).fetchone()[0]
    if placed != frozen:  # the allocation and the available balance are two views of one split
        raise AssertionError(f"freeze {freeze_id}: allocated {placed}, available was {frozen}")
    record_effect(ctx, "FREEZE", account, frozen, freeze_id=freeze_id, court_code=court["court_code"])
    reasons = _freeze_reasons(frozen, amount, waiting, len(earlier), priority_held(conn, account), currency)
    if end_note:
        reasons.append(end_note)
    reply.update(
        status="EXECUTED" if frozen == amount else "PARTIALLY_EXECUTED",
        reason="; ".join(reasons) or None, freeze_id=freeze_id, account_number=number,
        requested=money(amount, currency), frozen=money(frozen, currency), start_at=ctx.now, end_date=end,
        limited_freeze=frozen < amount, remaining_limit=money(amount - frozen, currency) if frozen < amount else None,
        waiting_in_line=waiting,
        earlier_freezes=[freeze_record(row, currency) for row in active_freezes(conn, number) if row["seq"] < seq],
        priority_claims=[claim_record(row, currency) for row in active_claims(conn, number)],
    )


def handle_continue(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "status": "EXECUTED", "reason": None, "delivered_at": ctx.delivered_at, "executed_at": ctx.now,
        "freeze_id": str(body.get("freeze_id", "")), "account_number": str(body.get("account_number", "")),
        "requested": echo_money(body.get("amount")), "frozen": money(0, echo_money(body.get("amount"))["currency"]),
        "start_at": None, "previous_end_date": None, "new_end_date": None, "earlier_freezes": [],
        "later_freezes": [],
    }
    try:
        _continue(ctx, body, reply)
    except BankRefusal as refusal:
        reply.update(status=refusal.status, reason=refusal.reason)
    return reply


def _continue(ctx: Ctx, body: dict[str, Any], reply: dict[str, Any]) -> None:
    conn = ctx.conn
    account = account_row(conn, body.get("account_number"))
    check_holder(account, body["subject"])
    amount, currency = request_amount(body["amount"])
    check_currency(account, currency)
    court_code = body["case"]["court"]["court_code"]
    row = court_freeze(ctx, account, body.get("freeze_id"), court_code)
    reply.update(start_at=from_ms(row["start_at"]), previous_end_date=date.fromisoformat(row["end_date"]))
    new_end, end_note = _cap_end(body.get("new_end_date"), china_date(ctx.now))
    if new_end <= date.fromisoformat(row["end_date"]):
        raise rejected(f"new end date {new_end.isoformat()} is not after the current end {row['end_date']}")
    limit = int(row["requested_fen"]) - int(row["released_fen"]) - int(row["deducted_fen"])
    reasons = [end_note] if end_note else []
    released = 0
    if amount < limit:  # continuing less than is frozen releases the difference
        released = limit - amount
        reasons.append(f"continued {amount} fen of the {limit} fen freeze; {released} fen released")
    elif amount > limit:
        reasons.append(f"requested {amount} fen exceeds this freeze's {limit} fen; only {limit} fen continued, "
                       f"a larger amount needs a new freeze")
    conn.execute("UPDATE freezes SET end_date = ?, kind = 'CONTINUED', released_fen = released_fen + ? "
                 "WHERE freeze_id = ?", (new_end.isoformat(), released, row["freeze_id"]))
    reallocate(conn, account["account_number"])
    if released:
        record_effect(ctx, "UNFREEZE", account, released, freeze_id=row["freeze_id"], court_code=court_code)
    after = conn.execute("SELECT * FROM freezes WHERE freeze_id = ?", (row["freeze_id"],)).fetchone()
    record_effect(ctx, "CONTINUE", account, int(after["frozen_fen"]), freeze_id=row["freeze_id"],
                  court_code=court_code)
    others = active_freezes(conn, account["account_number"])
    reply.update(
        status="PARTIALLY_EXECUTED" if amount > limit else "EXECUTED", reason="; ".join(reasons) or None,
        freeze_id=row["freeze_id"], account_number=account["account_number"],
        frozen=money(int(after["frozen_fen"]), currency), new_end_date=new_end,
        earlier_freezes=[freeze_record(r, currency) for r in others if r["seq"] < row["seq"]],
        later_freezes=[freeze_record(r, currency) for r in others if r["seq"] > row["seq"]],
    )


def handle_unfreeze(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    currency = echo_money(body.get("amount"))["currency"]
    reply: dict[str, Any] = {
        "status": "EXECUTED", "reason": None, "delivered_at": ctx.delivered_at, "executed_at": ctx.now,
        "freeze_id": str(body.get("freeze_id", "")), "account_number": str(body.get("account_number", "")),
        "requested": echo_money(body.get("amount")), "released": money(0, currency),
        "remaining_frozen": money(0, currency),
    }
    try:
        _unfreeze(ctx, body, reply)
    except BankRefusal as refusal:
        reply.update(status=refusal.status, reason=refusal.reason)
    return reply


def _unfreeze(ctx: Ctx, body: dict[str, Any], reply: dict[str, Any]) -> None:
    """Reduce the freeze's limit by the amount; the released money goes to the next freeze in line."""
    conn = ctx.conn
    account = account_row(conn, body.get("account_number"))
    check_holder(account, body["subject"])
    amount, currency = request_amount(body["amount"])
    check_currency(account, currency)
    court_code = body["case"]["court"]["court_code"]
    row = court_freeze(ctx, account, body.get("freeze_id"), court_code)
    reply.update(remaining_frozen=money(int(row["frozen_fen"]), currency))
    limit = int(row["requested_fen"]) - int(row["released_fen"]) - int(row["deducted_fen"])
    cut = min(amount, limit)
    full = cut == limit
    conn.execute("UPDATE freezes SET released_fen = released_fen + ?, state = ?, ended_at = ? WHERE freeze_id = ?",
                 (cut, RELEASED if full else ACTIVE, ctx.now_ms if full else None, row["freeze_id"]))
    if full:
        conn.execute("UPDATE freezes SET frozen_fen = 0 WHERE freeze_id = ?", (row["freeze_id"],))
    reallocate(conn, account["account_number"])
    after = int(conn.execute("SELECT frozen_fen FROM freezes WHERE freeze_id = ?", (row["freeze_id"],)).fetchone()[0])
    released = int(row["frozen_fen"]) - after
    record_effect(ctx, "UNFREEZE", account, released, freeze_id=row["freeze_id"], court_code=court_code)
    reasons: list[str] = []
    if amount > limit:
        reasons.append(f"requested {amount} fen exceeds the {limit} fen this freeze still covers; "
                       f"the freeze is released in full")
    if released < cut:
        reasons.append(f"limit reduced by {cut} fen, but the freeze held only {int(row['frozen_fen'])} fen "
                       f"of its {limit} fen limit; {released} fen of money released")
    reply.update(
        status="PARTIALLY_EXECUTED" if amount > limit else "EXECUTED", reason="; ".join(reasons) or None,
        freeze_id=row["freeze_id"], account_number=account["account_number"],
        released=money(released, currency), remaining_frozen=money(after, currency),
    )
