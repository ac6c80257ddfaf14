"""Document digests, phone numbers, bank account numbers, and masking for logs."""

from __future__ import annotations

import unicodedata

from hub.errors import InvalidAccountNumber, InvalidDigest, InvalidPhone, ValidationError

__all__ = [
    "mask_account",
    "mask_phone",
    "mask_resident_id",
    "mask_value",
    "parse_account_number",
    "parse_phone",
    "parse_sha256_hex",
]

_SHA256_HEX_LENGTH = 64
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_MOBILE_LENGTH = 11
_ACCOUNT_MIN, _ACCOUNT_MAX = 8, 32


def _text(value: object, field: str, error: type[ValidationError]) -> str:
    if not isinstance(value, str):
        raise error(f"expected a string, got {type(value).__name__}", field=field)
    return unicodedata.normalize("NFKC", value).strip()


def parse_sha256_hex(value: object, field: str = "sha256") -> str:
    """A SHA-256 digest as 64 hex digits, returned in lower case."""
    text = _text(value, field, InvalidDigest).lower()
    if len(text) != _SHA256_HEX_LENGTH:
        raise InvalidDigest(
            f"SHA-256 must have {_SHA256_HEX_LENGTH} hex digits, got {len(text)}", field=field
        )
    for position, char in enumerate(text, start=1):
        if char not in _HEX_DIGITS:
            raise InvalidDigest(f"character {position} is {char!r}, not a hex digit", field=field)
    return text


def _strip_country_code(text: str) -> str:
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            return text[len(prefix) :].lstrip(" -")
    return text


def _landline(digits: str, area_hint: int | None, field: str) -> str:
    # 010 (Beijing) and 02x are the only 3-digit area codes; all others have 4 digits.
    if len(digits) < 3:
        raise InvalidPhone(f"landline number {digits} is too short for an area code", field=field)
    area_length = 3 if digits.startswith(("010", "02")) else 4
    if area_hint is not None and area_hint != area_length:
        raise InvalidPhone(
            f"area code {digits[:area_hint]} must have {area_length} digits including the 0", field=field
        )
    if digits[1] == "0":
        raise InvalidPhone("area code must not start with 00 (an international prefix)", field=field)
    area, local = digits[:area_length], digits[area_length:]
    if len(local) not in (7, 8):
        raise InvalidPhone(
            f"local number after area code {area} must have 7 or 8 digits, got {len(local)}", field=field
        )
    if local[0] in "01":
        raise InvalidPhone(f"local number must not start with {local[0]}", field=field)
    return f"{area}-{local}"


def parse_phone(value: object, field: str = "phone") -> str:
    """A mainland phone number, normalised.

    Mobile: ``1[3-9]`` + 9 digits, optionally prefixed ``+86``/``0086`` and split by
    spaces or hyphens; returned as 11 digits.  Landline: area code with its
    leading 0 (``010``, ``02x`` or a 4-digit code) and a 7-8 digit local number,
    with or without a hyphen; returned as ``0xx-xxxxxxxx``.
    """
    text = _strip_country_code(_text(value, field, InvalidPhone))
    if not text:
        raise InvalidPhone("is empty", field=field)
    parts = text.replace(" ", "-").split("-")
    parts = [part for part in parts if part]
    digits = "".join(parts)
    for char in digits:
        if char not in _DIGITS:
            raise InvalidPhone(
                f"contains {char!r}; only digits, spaces, hyphens and +86 are allowed", field=field
            )
    if digits.startswith("861") and len(digits) == _MOBILE_LENGTH + 2:
        digits = digits[2:]  # country code written without + or 00
    if digits.startswith("1"):
        if len(digits) != _MOBILE_LENGTH:
            raise InvalidPhone(
                f"mobile number must have {_MOBILE_LENGTH} digits, got {len(digits)}", field=field
            )
        if digits[1] not in "3456789":
            raise InvalidPhone(f"mobile number must start with 13-19, got {digits[:2]}", field=field)
        return digits
    if digits.startswith("0"):
        area_hint = len(parts[0]) if len(parts) == 2 else None
        return _landline(digits, area_hint, field)
    raise InvalidPhone(
        "must be a mobile number (1[3-9] and 9 digits) or a landline with area code (0xx-xxxxxxxx)",
        field=field,
    )


def parse_account_number(value: object, field: str = "account_number") -> str:
    """A bank account or card number: 8-32 digits once spaces are removed."""
    text = _text(value, field, InvalidAccountNumber)
    number = "".join(text.split())
    for position, char in enumerate(number, start=1):
        if char not in _DIGITS:
            raise InvalidAccountNumber(
                f"character {position} is {char!r}; an account number is digits only", field=field
            )
    if not _ACCOUNT_MIN <= len(number) <= _ACCOUNT_MAX:
        raise InvalidAccountNumber(
            f"account number must have {_ACCOUNT_MIN}-{_ACCOUNT_MAX} digits, got {len(number)}", field=field
        )
    return number


# --- masking for logs ----------------------------------------------------------------


def mask_value(value: object, keep_start: int = 3, keep_end: int = 4) -> str:
    """Replace the middle of ``value`` with ``*``, keeping ``keep_start`` and ``keep_end`` characters.

    Never raises (it is used on values that failed validation too).  At least four
    characters are always hidden: a value too short for that keeps only its last
    third (at most ``keep_end``), so ``"12345678"`` becomes ``"******78"``.
    """
    text = "" if value is None else str(value)
    length = len(text)
    if length >= keep_start + keep_end + 4:
        return text[:keep_start] + "*" * (length - keep_start - keep_end) + text[length - keep_end :]
    tail = min(keep_end, length // 3)
    return "*" * (length - tail) + text[length - tail :]


def mask_resident_id(value: object) -> str:
    """``"110105199001011234"`` -> ``"110***********1234"``."""
    return mask_value(value)


def mask_account(value: object) -> str:
    """``"6222021234567890123"`` -> ``"622************0123"``."""
    return mask_value(value)


def mask_phone(value: object) -> str:
    """``"13800138000"`` -> ``"138****8000"``."""
    return mask_value(value)
