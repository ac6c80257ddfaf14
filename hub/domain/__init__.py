"""Domain primitives: validated identifiers, money and masks.

Pure functions and small frozen value types, used on the validation hot path.
Every rejection is a :class:`hub.errors.ValidationError` subclass that names the
offending field and says exactly what is wrong.
"""

from __future__ import annotations

from hub.domain.case import (
    ENFORCEMENT_CASE_TYPES,
    LEGACY_CASE_TYPES,
    PROVINCE_ABBREVIATIONS,
    CaseNumber,
    parse_case_number,
)
from hub.domain.identity import (
    ADULT_AGE,
    MIN_BIRTH_DATE,
    CreditCode,
    ResidentId,
    parse_credit_code,
    parse_resident_id,
)
from hub.domain.misc import (
    mask_account,
    mask_phone,
    mask_resident_id,
    mask_value,
    parse_account_number,
    parse_phone,
    parse_sha256_hex,
)
from hub.domain.money import (
    ISO_4217_ACTIVE,
    MAX_AMOUNT_FEN,
    Money,
    format_fen,
    parse_amount_fen,
    parse_currency,
    parse_yuan,
)

__all__ = [
    "ADULT_AGE",
    "ENFORCEMENT_CASE_TYPES",
    "ISO_4217_ACTIVE",
    "LEGACY_CASE_TYPES",
    "MAX_AMOUNT_FEN",
    "MIN_BIRTH_DATE",
    "PROVINCE_ABBREVIATIONS",
    "CaseNumber",
    "CreditCode",
    "Money",
    "ResidentId",
    "format_fen",
    "mask_account",
    "mask_phone",
    "mask_resident_id",
    "mask_value",
    "parse_account_number",
    "parse_amount_fen",
    "parse_case_number",
    "parse_credit_code",
    "parse_currency",
    "parse_phone",
    "parse_resident_id",
    "parse_sha256_hex",
    "parse_yuan",
]
