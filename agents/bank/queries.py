"""Account query (查询) at the bank (000 §6-§8, §12).

Reports every account of the subject — closed ones too — with balance, available
balance, freezes by any authority and priority claims; other financial assets with
their linked account and custodian; or no account (查无开户信息).  When the court
asks for transaction details over an explicit window, the bank lists them: the
ledger's own credits and deductions plus a deterministic synthetic history (the
same account and day always give the same transactions).
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agents.bank.ledger_model import BankRefusal, claim_record, freeze_record, from_ms, money, rejected, to_ms
from agents.bank.ledger_store import Ctx, active_claims, active_freezes, available
from hub.domain import parse_credit_code, parse_resident_id
from hub.errors import ValidationError

#: Longest transaction window the bank lists in one reply, and most transactions per account.
MAX_WINDOW_DAYS = 366
MAX_TRANSACTIONS_PER_ACCOUNT = 200

_COUNTERPARTIES = (
    ("北京京东世纪贸易有限公司", "110060837018170123456", "交通银行北京分行"),
    ("国网北京市电力公司", "0200001409014414123", "中国工商银行北京分行"),
    ("上海拉扎斯信息科技有限公司", "31050161393600001234", "中国建设银行上海分行"),
    ("财付通支付科技有限公司", "4000027509100001234", "中国工商银行深圳分行"),
    ("支付宝（中国）网络技术有限公司", "1202021119900012345", "中国工商银行杭州分行"),
)


def _check_subject(subject: dict[str, Any]) -> str:
    id_number = str(subject.get("id_number", ""))
    try:
        if subject.get("id_type") == "RESIDENT_ID":
            return parse_resident_id(id_number, field="subject.id_number").number
        if subject.get("id_type") in ("USCC", "ORG_CODE"):
            return parse_credit_code(id_number, field="subject.id_number").code
    except ValidationError as exc:
        raise rejected(f"invalid identifier: {exc}") from None
    return id_number.strip().upper()


def _status(conn: sqlite3.Connection, account: sqlite3.Row) -> str:
    if account["closed_on"] is not None:
        return "CLOSED"
    return "FROZEN" if active_freezes(conn, account["account_number"]) else "NORMAL"


def account_info(conn: sqlite3.Connection, account: sqlite3.Row) -> dict[str, Any]:
    number, currency = account["account_number"], account["currency"]
    return {
        "account_number": number, "sub_account_number": None, "card_number": account["card_number"],
        "holder_name": account["holder_name"], "opened_on": date.fromisoformat(account["opened_on"]),
        "branch_name": account["branch_name"], "branch_code": account["branch_code"], "nature": account["nature"],
        "status": _status(conn, account),
        "closed_on": None if account["closed_on"] is None else date.fromisoformat(account["closed_on"]),
        "balance": money(int(account["balance_fen"]), currency),
        "available_balance": money(available(conn, account), currency), "phone": account["phone"],
        "freezes": [freeze_record(row, currency) for row in active_freezes(conn, number)],
        "priority_claims": [claim_record(row, currency) for row in active_claims(conn, number)
                            if row["asset_id"] is None],
    }


def _asset_info(conn: sqlite3.Connection, asset: sqlite3.Row) -> dict[str, Any]:
    currency = asset["currency"]
    freezes = conn.execute("SELECT * FROM freezes WHERE asset_id = ? AND state = 'ACTIVE' ORDER BY seq",
                           (asset["asset_id"],))
    claims = conn.execute("SELECT * FROM claims WHERE asset_id = ? AND active = 1", (asset["asset_id"],))
    return {
        "asset_type": asset["asset_type"], "asset_id": asset["asset_id"], "product_name": asset["product_name"],
        "quantity": asset["quantity"],
        "value": None if asset["value_fen"] is None else money(int(asset["value_fen"]), currency),
        "linked_account_number": asset["linked_account"], "custodian": asset["custodian"],
        "freezes": [freeze_record(row, currency) for row in freezes],
        "priority_claims": [claim_record(row, currency) for row in claims],
    }


def _synthetic(bank_code: str, account: sqlite3.Row, day: date) -> list[dict[str, Any]]:
    """0-2 transactions booked on ``day``, the same every time they are asked for."""
    rng = random.Random(f"{bank_code}:{account['account_number']}:{day.isoformat()}")  # noqa: S311 - synthetic
    out: list[dict[str, Any]] = []
    for index in range(rng.choice((0, 0, 0, 1, 1, 2))):
        name, number, bank = rng.choice(_COUNTERPARTIES)
        credit = rng.random() < 0.4
        booked = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86_400))
        out.append({
            "transaction_id": f"{bank_code}-{account['account_number'][-6:]}-{day:%Y%m%d}-{index}",
            "account_number": account["account_number"], "booked_at": booked,
            "direction": "CREDIT" if credit else "DEBIT",
            "amount": money(rng.randint(100, 2_000_000), account["currency"]), "balance_after": None,
            "counterparty_name": name, "counterparty_account": number, "counterparty_bank": bank,
            "channel": rng.choice(("网银", "手机银行", "柜面", "快捷支付")),
            "summary": "转账收入" if credit else rng.choice(("消费", "转账支出", "代扣")),
        })
    return out


def _recorded(conn: sqlite3.Connection, account: sqlite3.Row, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM effects WHERE account_number = ? AND kind IN ('CREDIT', 'DEDUCT') AND at BETWEEN ? AND ? "
        "ORDER BY id", (account["account_number"], to_ms(start), to_ms(end)))
    return [{
        "transaction_id": f"E{row['id']}", "account_number": row["account_number"], "booked_at": from_ms(row["at"]),
        "direction": "CREDIT" if row["kind"] == "CREDIT" else "DEBIT",
        "amount": money(int(row["amount_fen"]), row["currency"]), "balance_after": None,
        "counterparty_name": None, "counterparty_account": row["court_account"], "counterparty_bank": None,
        "channel": None, "summary": "入账" if row["kind"] == "CREDIT" else "法院扣划",
    } for row in rows]


def transactions(ctx: Ctx, accounts: list[sqlite3.Row], window: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = window["start_at"], window["end_at"]
    if end < start:
        raise rejected(f"transaction window ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise rejected(f"transaction window longer than {MAX_WINDOW_DAYS} days; split it into several queries")
    end = min(end, ctx.now)
    out: list[dict[str, Any]] = []
    for account in accounts:
        rows: list[dict[str, Any]] = []
        day = start.astimezone(UTC).date()
        opened = date.fromisoformat(account["opened_on"])
        closed = date.fromisoformat(account["closed_on"]) if account["closed_on"] else None
        while day <= end.astimezone(UTC).date():
            if day >= opened and (closed is None or day <= closed):
                rows.extend(t for t in _synthetic(ctx.bank_code, account, day) if start <= t["booked_at"] <= end)
            day += timedelta(days=1)
        rows.extend(_recorded(ctx.conn, account, start, end))
        rows.sort(key=lambda t: t["booked_at"])
        out.extend(rows[:MAX_TRANSACTIONS_PER_ACCOUNT])
    return out


def handle_query(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "status": "EXECUTED", "reason": None, "delivered_at": ctx.delivered_at, "executed_at": ctx.now,
        "no_account": False, "accounts": [], "financial_assets": [], "transaction_window": None, "transactions": [],
    }
    try:
        id_number = _check_subject(body["subject"])
        conn = ctx.conn
        # a 9-character organisation code matches the credit code that embeds it (characters 9-17)
        holder = "substr(holder_id, 9, 9)" if len(id_number) == 9 else "holder_id"
        accounts = list(conn.execute(
            f"SELECT * FROM accounts WHERE {holder} = ? ORDER BY opened_on, account_number", (id_number,)))  # noqa: S608
        assets = list(conn.execute(f"SELECT * FROM assets WHERE {holder} = ? ORDER BY asset_id", (id_number,)))  # noqa: S608
        window = body.get("transaction_window")
        if window is not None:
            reply["transactions"] = transactions(ctx, accounts, window)
            reply["transaction_window"] = {"start_at": window["start_at"], "end_at": window["end_at"]}
        reply["accounts"] = [account_info(conn, row) for row in accounts]
        reply["financial_assets"] = [_asset_info(conn, row) for row in assets]
        if not accounts and not assets:
            reply.update(no_account=True, reason="查无开户信息: the subject has no account at this bank (000 §7)")
    except BankRefusal as refusal:
        reply.update(status=refusal.status, reason=refusal.reason, transactions=[], transaction_window=None)
    return reply
