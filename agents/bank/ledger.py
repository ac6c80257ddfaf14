"""The ledger of one simulated bank: accounts, priority claims, freezes, deductions (seed 000).

Pure domain logic over sqlite (stdlib); the Kafka process around it decodes a
request, calls :meth:`BankLedger.handle` and sends the reply body it returns.

* Idempotent: the reply to a request id is stored in the same transaction as the
  request's effects, so a redelivered request gets the identical reply and
  changes nothing (no double freeze, no double deduction).
* Durable: with a file path the state survives a restart of the simulator.
* Time comes only from the caller (``now``): freezes lapse after their last day
  (China time) at the next call that carries a later ``now``.

Rules by article: query 000 §7 and §12 (:mod:`agents.bank.queries`); freeze, limited
freeze, waiting-in-line freeze, continued freeze and unfreeze 000 §9-§12
(:mod:`agents.bank.freezes`); deduction 000 §12-§15 (:mod:`agents.bank.deductions`);
every refusal states its reason 000 §17.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from agents.bank.deductions import handle_deduct
from agents.bank.freezes import handle_continue, handle_freeze, handle_unfreeze
from agents.bank.ledger_model import (
    ACTIVE,
    AccountView,
    BankRefusal,
    Effect,
    FreezeView,
    LedgerTotals,
    dump_body,
    effect_view,
    freeze_view,
    from_ms,
    load_body,
    not_executed,
    rejected,
    to_ms,
)
from agents.bank.ledger_seed import SEED_AS_OF, insert_account, insert_authority_freeze, insert_claim, seed_bank
from agents.bank.ledger_store import (
    Ctx,
    account_row,
    active_claims,
    active_freezes,
    available,
    connect,
    expire,
    get_meta,
    priority_held,
    reallocate,
    record_effect,
    set_meta,
)
from agents.bank.queries import handle_query
from agents.population import Population, Subject
from hub.domain import parse_amount_fen
from hub.errors import ConfigError, NoRoute
from hub.flows.bank.messages import CONTINUE_FREEZE, DEDUCT, FREEZE, QUERY, REPLY_OF, UNFREEZE

__all__ = ["SEED_AS_OF", "AccountView", "BankLedger", "BankRefusal", "Effect", "FreezeView", "LedgerTotals"]

Handler = Callable[[Ctx, dict[str, Any]], dict[str, Any]]
_HANDLERS: dict[str, Handler] = {
    QUERY: handle_query, FREEZE: handle_freeze, CONTINUE_FREEZE: handle_continue, UNFREEZE: handle_unfreeze,
    DEDUCT: handle_deduct,
}


def _instant(at: datetime) -> datetime:
    """Millisecond precision, UTC: what a timestamp-millis field can carry."""
    return from_ms(to_ms(at))


class BankLedger:
    """The accounts and measures of one bank (``bank_code``), in sqlite at ``path``."""

    def __init__(self, bank_code: str, path: str | Path = ":memory:") -> None:
        self.bank_code = bank_code
        self._lock = threading.RLock()
        self._conn = connect(path)
        with self._tx():
            stored = get_meta(self._conn, "bank_code")
            if stored is None:
                set_meta(self._conn, "bank_code", bank_code)
        if stored is not None and stored != bank_code:
            self._conn.close()
            raise ConfigError(f"ledger {path} belongs to bank {stored}, not {bank_code}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> BankLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _ctx(self, request_id: str | None, now: datetime, delivered_at: datetime | None = None) -> Ctx:
        at = _instant(now)
        return Ctx(self._conn, self.bank_code, request_id, at, _instant(delivered_at) if delivered_at else at)

    # --- seeding ---------------------------------------------------------------------

    def seed(self, population: Population, seed: int = 2024, *, as_of: date | None = None) -> None:
        """Fill the bank from ``population``; a no-op if this ledger was seeded before."""
        with self._tx() as conn:
            if get_meta(conn, "seeded") is not None:
                return
            seed_bank(conn, self.bank_code, population, seed, as_of or SEED_AS_OF)
            set_meta(conn, "seeded", str(seed))

    @property
    def seeded(self) -> bool:
        return get_meta(self._conn, "seeded") is not None

    # --- requests ----------------------------------------------------------------------

    def handle(self, schema: str, request_id: str, body: dict[str, Any], *, now: datetime,
               delivered_at: datetime) -> tuple[str, dict[str, Any]]:
        """Carry out one court request and return ``(reply schema, reply body)``; idempotent per request id."""
        handler = _HANDLERS.get(schema)
        if handler is None:
            raise NoRoute(f"the bank does not handle {schema}", field="schema")
        with self._tx() as conn:
            stored = conn.execute("SELECT schema, body FROM replies WHERE request_id = ?", (request_id,)).fetchone()
            if stored is not None:
                return str(stored["schema"]), load_body(stored["body"])
            ctx = self._ctx(request_id, now, delivered_at)
            expire(ctx)
            text = dump_body(handler(ctx, body))
            conn.execute("INSERT INTO replies (request_id, schema, body, at) VALUES (?, ?, ?, ?)",
                         (request_id, REPLY_OF[schema], text, ctx.now_ms))
        return REPLY_OF[schema], load_body(text)

    def reply_to(self, request_id: str) -> tuple[str, dict[str, Any]] | None:
        """The stored reply to ``request_id``, if it was handled."""
        row = self._conn.execute("SELECT schema, body FROM replies WHERE request_id = ?", (request_id,)).fetchone()
        return None if row is None else (str(row["schema"]), load_body(row["body"]))

    def expire(self, now: datetime) -> None:
        """Let freezes whose last day has passed lapse (done by every request and credit anyway)."""
        with self._tx():
            expire(self._ctx(None, now))

    # --- bank-side operations (outside the hub) ----------------------------------------

    def credit(self, account_number: str, amount_fen: int, now: datetime) -> None:
        """A deposit.  Open limited and waiting-in-line freezes take the new money in order (000 §10)."""
        fen = parse_amount_fen(amount_fen)
        with self._tx() as conn:
            ctx = self._ctx(None, now)
            expire(ctx)
            account = account_row(conn, account_number)
            if account["closed_on"] is not None:
                raise not_executed(f"account {account['account_number']} is closed; it takes no deposits")
            conn.execute("UPDATE accounts SET balance_fen = balance_fen + ? WHERE account_number = ?",
                         (fen, account["account_number"]))
            reallocate(conn, account["account_number"])
            record_effect(ctx, "CREDIT", account, fen)

    def open_account(self, holder: Subject, *, nature: str, opened_on: date, currency: str = "CNY",
                     balance_fen: int = 0, account_number: str | None = None) -> str:
        """Open an account for ``holder`` with an opening balance; returns the account number."""
        parse_amount_fen(balance_fen, "balance_fen", allow_zero=True)
        with self._tx() as conn:
            return insert_account(conn, self.bank_code, holder, nature=nature, currency=currency,
                                  balance_fen=balance_fen, opened_on=opened_on, account_number=account_number)

    def close_account(self, account_number: str, on: date) -> None:
        """Close an account (销户); only an account without balance, freezes or claims can be closed."""
        with self._tx() as conn:
            account = account_row(conn, account_number)
            if account["balance_fen"] or active_freezes(conn, account_number) or active_claims(conn, account_number):
                raise rejected(f"account {account_number} still holds money, freezes or claims")
            conn.execute("UPDATE accounts SET closed_on = ? WHERE account_number = ?", (on.isoformat(), account_number))

    def register_priority_claim(self, account_number: str, *, kind: str, holder_name: str, amount_fen: int,
                                registered_at: datetime | None = None, review_pending: bool = False,
                                reference: str | None = None) -> str:
        """Register a pledge, margin or co-ownership claim (优先受偿权, 000 §12); returns its id."""
        fen = parse_amount_fen(amount_fen)
        with self._tx() as conn:
            account_row(conn, account_number)
            claim_id = insert_claim(conn, self.bank_code, account_number, kind=kind, holder_name=holder_name,
                                    amount_fen=fen, registered_at=registered_at, review_pending=review_pending,
                                    reference=reference)
            reallocate(conn, account_number)
            return claim_id

    def set_priority_review(self, claim_id: str, pending: bool) -> None:
        """The court starts (or ends) reviewing a holder's priority claim (000 §12)."""
        with self._tx() as conn:
            conn.execute("UPDATE claims SET review_pending = ? WHERE claim_id = ?", (int(pending), claim_id))

    def extinguish_priority_claim(self, claim_id: str) -> None:
        """The claim is gone: its value becomes freezable and deductible (000 §12 para 2)."""
        with self._tx() as conn:
            row = conn.execute("SELECT account_number FROM claims WHERE claim_id = ?", (claim_id,)).fetchone()
            if row is None:
                raise rejected(f"priority claim {claim_id} does not exist")
            conn.execute("UPDATE claims SET active = 0, review_pending = 0 WHERE claim_id = ?", (claim_id,))
            reallocate(conn, row["account_number"])

    def place_authority_freeze(self, account_number: str, *, authority_kind: str, authority_name: str,
                               amount_fen: int, start_at: datetime, end_date: date,
                               document_number: str | None = None) -> str:
        """A freeze by another authority (police, procuratorate, tax ...) that did not come through the hub."""
        fen = parse_amount_fen(amount_fen)
        with self._tx() as conn:
            account_row(conn, account_number)
            return insert_authority_freeze(conn, self.bank_code, account_number, authority_kind=authority_kind,
                                           authority_name=authority_name, amount_fen=fen, start_at=start_at,
                                           end_date=end_date, document_number=document_number)

    # --- views -------------------------------------------------------------------------

    def _view(self, account: sqlite3.Row) -> AccountView:
        conn = self._conn
        freezes = active_freezes(conn, account["account_number"])
        claims = active_claims(conn, account["account_number"])
        return AccountView(
            account_number=account["account_number"], holder_id=account["holder_id"],
            holder_name=account["holder_name"], nature=account["nature"], currency=account["currency"],
            status="CLOSED" if account["closed_on"] else "FROZEN" if freezes else "NORMAL",
            balance_fen=int(account["balance_fen"]), frozen_fen=sum(int(f["frozen_fen"]) for f in freezes),
            priority_held_fen=priority_held(conn, account), available_fen=available(conn, account),
            opened_on=date.fromisoformat(account["opened_on"]),
            closed_on=date.fromisoformat(account["closed_on"]) if account["closed_on"] else None,
            branch_name=account["branch_name"], phone=account["phone"],
            priority_review_pending=any(c["review_pending"] for c in claims),
            freeze_ids=tuple(f["freeze_id"] for f in freezes),
        )

    def accounts_of(self, id_number: str) -> list[AccountView]:
        """The accounts of one holder (closed ones too), oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM accounts WHERE holder_id = ? ORDER BY opened_on, account_number",
                                      (id_number.strip().upper(),)).fetchall()
            return [self._view(row) for row in rows]

    def accounts(self) -> list[AccountView]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM accounts ORDER BY account_number").fetchall()
            return [self._view(row) for row in rows]

    def account(self, account_number: str) -> AccountView | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM accounts WHERE account_number = ?", (account_number,)).fetchone()
            return None if row is None else self._view(row)

    def freezes(self, account_number: str | None = None) -> list[FreezeView]:
        """Every freeze (any state), by account and order."""
        with self._lock:
            if account_number is None:
                rows = self._conn.execute("SELECT * FROM freezes ORDER BY account_number, seq").fetchall()
            else:
                rows = self._conn.execute("SELECT * FROM freezes WHERE account_number = ? ORDER BY seq",
                                          (account_number,)).fetchall()
            return [freeze_view(row) for row in rows]

    def effects(self) -> list[Effect]:
        """Every applied effect, in the order applied."""
        with self._lock:
            return [effect_view(row) for row in self._conn.execute("SELECT * FROM effects ORDER BY id")]

    def totals(self) -> LedgerTotals:
        """Reconciliation sums (fen; the by-court sums add fen of all currencies, see the currency variant)."""
        with self._lock:
            conn = self._conn
            by_court_currency: dict[tuple[str, str], int] = {}
            for row in conn.execute(
                    "SELECT f.court_code, a.currency, SUM(f.frozen_fen) AS fen FROM freezes f JOIN accounts a "
                    "USING (account_number) WHERE f.state = ? AND f.court_code IS NOT NULL "
                    "GROUP BY f.court_code, a.currency", (ACTIVE,)):
                by_court_currency[(row["court_code"], row["currency"])] = int(row["fen"])
            by_court: dict[str, int] = {}
            for (court, _), fen in by_court_currency.items():
                by_court[court] = by_court.get(court, 0) + fen
            effects = self.effects()
            deducted_by_court: dict[str, int] = {}
            by_request: dict[str, list[Effect]] = {}
            for effect in effects:
                if effect.kind == "DEDUCT":
                    court = effect.court_code or ""
                    deducted_by_court[court] = deducted_by_court.get(court, 0) + effect.amount_fen
                if effect.request_id is not None:
                    by_request.setdefault(effect.request_id, []).append(effect)
            sums = conn.execute("SELECT COALESCE(SUM(balance_fen), 0), COALESCE(SUM(initial_fen), 0) "
                                "FROM accounts").fetchone()
            return LedgerTotals(
                frozen_fen_by_court=by_court, frozen_fen_by_court_currency=by_court_currency,
                deducted_fen=sum(e.amount_fen for e in effects if e.kind == "DEDUCT"),
                deducted_fen_by_court=deducted_by_court,
                credited_fen=sum(e.amount_fen for e in effects if e.kind == "CREDIT"),
                balance_fen=int(sums[0]), initial_fen=int(sums[1]),
                effects_by_request={key: tuple(value) for key, value in by_request.items()},
            )
