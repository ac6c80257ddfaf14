"""Deterministic opening state of one bank, drawn from the shared population.

``random.Random(f"{bank_code}:{seed}")`` decides which subjects bank here and
everything about their accounts, so two runs (or a restarted simulator that lost
its database) build the same bank, and different banks hold different customers.
"""

from __future__ import annotations

import random
import sqlite3
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from agents.bank.ledger_model import ACTIVE, add_years, to_ms
from agents.bank.ledger_store import next_id, reallocate
from agents.population import REGIONS_BY_CODE, Organisation, Person, Population, Region, Subject
from hub.domain import parse_account_number

#: Default "today" of the seeded bank: opening dates, claims and other authorities' freezes lie before it,
#: and those freezes end within a year after it.  Pass ``as_of`` to seed relative to the simulation's clock.
SEED_AS_OF = date(2024, 6, 1)

BANK_NAMES = {
    "ICBC": ("中国工商银行", "工银理财有限责任公司"), "CCB": ("中国建设银行", "建信理财有限责任公司"),
    "ABC": ("中国农业银行", "农银理财有限责任公司"), "BOC": ("中国银行", "中银理财有限责任公司"),
    "PSBC": ("中国邮政储蓄银行", "中邮理财有限责任公司"), "BOCOM": ("交通银行", "交银理财有限责任公司"),
    "CMB": ("招商银行", "招银理财有限责任公司"), "CITIC": ("中信银行", "信银理财有限责任公司"),
    "CEB": ("中国光大银行", "光大理财有限责任公司"), "CIB": ("兴业银行", "兴银理财有限责任公司"),
    "SPDB": ("上海浦东发展银行", "浦银理财有限责任公司"), "PAB": ("平安银行", "平安理财有限责任公司"),
    "BOB": ("北京银行", "北银理财有限责任公司"), "CMBC": ("中国民生银行", "民生理财有限责任公司"),
}
_FUNDS = (
    ("华夏成长混合", "华夏基金管理有限公司"), ("易方达蓝筹精选混合", "易方达基金管理有限公司"),
    ("南方中证500ETF联接A", "南方基金管理股份有限公司"), ("嘉实增长混合", "嘉实基金管理有限公司"),
)


def bank_name(bank_code: str) -> str:
    return BANK_NAMES.get(bank_code, (bank_code, ""))[0]


def _branch(bank_code: str, region: Region | None) -> tuple[str, str]:
    if region is None:
        return f"{bank_name(bank_code)}营业部", f"{zlib.crc32(bank_code.encode()) % 1000:03d}000000000"
    code = f"{zlib.crc32(bank_code.encode()) % 1000:03d}{region.code}{zlib.crc32(region.code.encode()) % 1000:03d}"
    return f"{bank_name(bank_code)}{region.city.removesuffix('市')}{region.district}支行", code


def new_account_number(conn: sqlite3.Connection, bank_code: str) -> str:
    """19 digits: 6, a 3-digit bank prefix, and a serial kept in the ledger."""
    serial = next_id(conn, bank_code, "A").rsplit("A", 1)[1]
    return parse_account_number(f"6{zlib.crc32(bank_code.encode()) % 1000:03d}{int(serial):015d}")


def insert_account(
    conn: sqlite3.Connection, bank_code: str, holder: Subject, *, nature: str, currency: str, balance_fen: int,
    opened_on: date, closed_on: date | None = None, account_number: str | None = None,
) -> str:
    number = parse_account_number(account_number) if account_number else new_account_number(conn, bank_code)
    branch_name, branch_code = _branch(bank_code, REGIONS_BY_CODE.get(holder.region_code))
    card = f"62{number[-17:]}" if nature in ("PERSONAL_CLASS_I", "PERSONAL_CLASS_II") else None
    conn.execute(
        "INSERT INTO accounts (account_number, holder_id, holder_name, holder_kind, nature, currency, balance_fen, "
        "initial_fen, closed_on, opened_on, branch_name, branch_code, card_number, phone) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (number, holder.id_number, holder.name, holder.kind, nature, currency, balance_fen, balance_fen,
         closed_on.isoformat() if closed_on else None, opened_on.isoformat(), branch_name, branch_code, card,
         holder.phone),
    )
    return number


def insert_claim(
    conn: sqlite3.Connection, bank_code: str, account_number: str, *, kind: str, holder_name: str, amount_fen: int,
    registered_at: datetime | None, review_pending: bool = False, holder_contact: str | None = None,
    reference: str | None = None, asset_id: str | None = None,
) -> str:
    claim_id = next_id(conn, bank_code, "C")
    conn.execute(
        "INSERT INTO claims (claim_id, account_number, asset_id, kind, holder_name, holder_contact, amount_fen, "
        "registered_at, reference, review_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (claim_id, account_number, asset_id, kind, holder_name, holder_contact, amount_fen,
         None if registered_at is None else to_ms(registered_at), reference or claim_id, int(review_pending)),
    )
    return claim_id


def insert_authority_freeze(
    conn: sqlite3.Connection, bank_code: str, account_number: str, *, authority_kind: str, authority_name: str,
    amount_fen: int, start_at: datetime, end_date: date, document_number: str | None = None,
) -> str:
    """A freeze placed by another authority (police, procuratorate, tax ...) outside the hub."""
    freeze_id = next_id(conn, bank_code, "F")
    seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM freezes WHERE account_number = ?",
                           (account_number,)).fetchone()[0])
    conn.execute(
        "INSERT INTO freezes (freeze_id, account_number, seq, authority_name, authority_kind, document_number, "
        "kind, requested_fen, start_at, end_date, state) VALUES (?, ?, ?, ?, ?, ?, 'NORMAL', ?, ?, ?, ?)",
        (freeze_id, account_number, seq, authority_name, authority_kind, document_number, amount_fen,
         to_ms(start_at), end_date.isoformat(), ACTIVE),
    )
    reallocate(conn, account_number)
    kind = "NORMAL" if conn.execute("SELECT frozen_fen FROM freezes WHERE freeze_id = ?",
                                    (freeze_id,)).fetchone()[0] == amount_fen else "LIMITED"
    conn.execute("UPDATE freezes SET kind = ? WHERE freeze_id = ?", (kind, freeze_id))
    return freeze_id


def _balance(rng: random.Random, organisation: bool) -> int:
    tier = rng.choice((0, 1, 1, 2, 2, 3) if organisation else (0, 0, 1, 1, 1, 2))
    low, high = ((0, 1_000_00), (1_000_00, 50_000_00), (50_000_00, 500_000_00), (500_000_00, 5_000_000_00))[tier]
    return rng.randint(low, high)


def _natures(rng: random.Random, subject: Subject, as_of: date) -> list[str]:
    if isinstance(subject, Organisation):
        natures = ["CORPORATE_BASIC"]
        natures += [n for n, p in (("CORPORATE_GENERAL", 0.3), ("MARGIN", 0.25)) if rng.random() < p]
        return natures
    if subject.is_minor_on(as_of):
        return ["PERSONAL_SAVINGS"]
    count = 1 if rng.random() < 0.7 else 2
    return [rng.choices(("PERSONAL_CLASS_I", "PERSONAL_CLASS_II", "PERSONAL_SAVINGS"), (6, 2, 2))[0]
            for _ in range(count)]


def _authority(rng: random.Random, region: Region | None, as_of: date) -> tuple[str, str, str]:
    city, district = (region.city, region.district) if region else ("北京市", "东城区")
    kind, name = rng.choice((
        ("PUBLIC_SECURITY", f"{city}公安局{district}分局"), ("PROCURATORATE", f"{city}{district}人民检察院"),
        ("TAX", f"国家税务总局{city}{district}税务局"), ("SUPERVISORY_COMMISSION", f"{city}{district}监察委员会"),
        ("CUSTOMS", f"{city.removesuffix('市')}海关"),
    ))
    return kind, name, f"{district}冻字〔{as_of.year}〕{rng.randint(1, 999)}号"


def seed_bank(conn: sqlite3.Connection, bank_code: str, population: Population, seed: int, as_of: date) -> None:
    rng = random.Random(f"{bank_code}:{seed}")  # noqa: S311 - synthetic data, not security
    midnight = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    claims: list[str] = []
    cny_accounts: dict[str, list[str]] = {}
    for subject in population.subjects:
        organisation = isinstance(subject, Organisation)
        if rng.random() >= (0.45 if organisation else 0.35):
            continue
        region = REGIONS_BY_CODE.get(subject.region_code)
        for nature in _natures(rng, subject, as_of):
            earliest = subject.birth_date + timedelta(days=30) if isinstance(subject, Person) else date(2000, 1, 1)
            opened = max(earliest, as_of - timedelta(days=rng.randint(30, 6000)))
            currency = "USD" if nature != "MARGIN" and rng.random() < 0.07 else "CNY"
            closed_after = timedelta(days=rng.randint(1, max(1, (as_of - opened).days)))
            closed = opened + closed_after if rng.random() < 0.06 else None
            balance = 0 if closed else _balance(rng, organisation)
            number = insert_account(conn, bank_code, subject, nature=nature, currency=currency,
                                    balance_fen=balance, opened_on=opened, closed_on=closed)
            if closed or balance == 0:
                continue
            if currency == "CNY":
                cny_accounts.setdefault(subject.id_number, []).append(number)
            registered = midnight - timedelta(days=rng.randint(10, 400))
            if nature == "MARGIN":
                claims.append(insert_claim(conn, bank_code, number, kind="MARGIN", holder_name=bank_name(bank_code),
                                           amount_fen=balance, registered_at=registered, reference="保证金协议"))
            elif rng.random() < 0.08:
                pledgee = rng.choice(population.organisations).name if population.organisations else "出质权人"
                claims.append(insert_claim(conn, bank_code, number, kind="PLEDGE", holder_name=pledgee,
                                           amount_fen=rng.randint(balance // 5, balance), registered_at=registered,
                                           reference="存单质押合同"))
            if rng.random() < 0.08:
                kind, name, document = _authority(rng, region, as_of)
                start = midnight - timedelta(days=rng.randint(1, 150))
                term = 182 if kind == "PUBLIC_SECURITY" else 365
                insert_authority_freeze(
                    conn, bank_code, number, authority_kind=kind, authority_name=name, document_number=document,
                    amount_fen=max(1, balance * rng.randint(30, 150) // 100), start_at=start,
                    end_date=min(start.date() + timedelta(days=term), add_years(as_of, 1)))
        _seed_assets(conn, rng, bank_code, subject, cny_accounts.get(subject.id_number, []))
    if claims:  # one priority claim is under the court's review: no deduction from that account (000 §12)
        conn.execute("UPDATE claims SET review_pending = 1 WHERE claim_id = ?", (claims[0],))
    for (number,) in conn.execute("SELECT DISTINCT account_number FROM freezes").fetchall():
        reallocate(conn, number)


def _seed_assets(conn: sqlite3.Connection, rng: random.Random, bank_code: str, subject: Subject,
                 linked: list[str]) -> None:
    if not linked or rng.random() >= 0.3:
        return
    for index in range(rng.randint(1, 2)):
        asset_id = next_id(conn, bank_code, "P")
        units = Decimal(rng.randint(1_000_00, 2_000_000_00)) / 100
        if index == 0 and bank_code in BANK_NAMES:
            kind, product = "WEALTH_MANAGEMENT", f"{bank_name(bank_code)}稳利{rng.randint(1, 99)}号理财产品"
            custodian, nav = BANK_NAMES[bank_code][1], Decimal(rng.randint(9_800, 11_500)) / 10_000
        else:
            kind, (product, custodian) = "FUND", rng.choice(_FUNDS)
            nav = Decimal(rng.randint(5_000, 40_000)) / 10_000
        value = int((units * nav * 100).to_integral_value())
        conn.execute(
            "INSERT INTO assets (asset_id, holder_id, asset_type, product_name, quantity, value_fen, currency, "
            "linked_account, custodian) VALUES (?, ?, ?, ?, ?, ?, 'CNY', ?, ?)",
            (asset_id, subject.id_number, kind, product, f"{units:.2f}", value, rng.choice(linked), custodian),
        )
