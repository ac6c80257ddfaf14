"""Money as an integer number of fen, never a float.

``amount_fen`` is always 1/100 of the currency's major unit, whatever the
currency: 1 yuan = 100, 1 US dollar = 100 (cents).  Currencies whose minor unit is
not 1/100 (JPY, KWD, ...) use the same scale: 5 yen is 500.  This keeps every
amount field of every message on one scale; the hub never converts currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from hub.errors import InvalidAmount, InvalidCurrency

__all__ = [
    "ISO_4217_ACTIVE",
    "MAX_AMOUNT_FEN",
    "Money",
    "format_fen",
    "parse_amount_fen",
    "parse_currency",
    "parse_yuan",
]

#: Larger amounts are refused as absurd: 10^15 fen is ten trillion yuan.
MAX_AMOUNT_FEN = 10**15

#: ISO 4217 List One alphabetic codes in use (currencies, funds, precious metals,
#: special codes) as published in 2025, i.e. including ZWG (2024) and XCG (2025).
#: Codes still in their withdrawal period (ANG until XCG fully replaces it, CUC,
#: SLL, ZWL) are kept so that records written during the change-over still parse;
#: HRK (replaced by EUR on 2023-01-01) is gone.  Data, not logic: update it when
#: the ISO 4217 maintenance agency publishes an amendment.
_ISO_4217_LIST_ONE = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG
    XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL
"""
ISO_4217_ACTIVE: frozenset[str] = frozenset(_ISO_4217_LIST_ONE.split())

_CURRENCY_SIGNS = {"CNY": "¥"}


def _check_range(amount: int, field: str, allow_zero: bool) -> int:
    if amount < 0:
        raise InvalidAmount(f"negative amount {amount}", field=field)
    if amount == 0 and not allow_zero:
        raise InvalidAmount("amount must be positive, got 0", field=field)
    if amount > MAX_AMOUNT_FEN:
        raise InvalidAmount(f"amount {amount} fen exceeds the limit of {MAX_AMOUNT_FEN} fen", field=field)
    return amount


def parse_amount_fen(value: object, field: str = "amount_fen", allow_zero: bool = False) -> int:
    """An amount in fen: an ``int`` (not ``bool``) or an integral ``Decimal``.

    Refuses floats (binary fractions cannot hold fen exactly), fractional fen,
    NaN and infinities, strings, negatives, zero unless ``allow_zero``, and
    amounts above :data:`MAX_AMOUNT_FEN`.
    """
    if isinstance(value, bool):
        raise InvalidAmount(f"expected an integer number of fen, got bool {value}", field=field)
    if isinstance(value, int):
        return _check_range(value, field, allow_zero)
    if isinstance(value, float):
        raise InvalidAmount(f"expected an integer number of fen, got float {value!r}", field=field)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount(f"amount {value} is not a finite number", field=field)
        if value != value.to_integral_value():
            raise InvalidAmount(f"amount {value} has a fraction of a fen", field=field)
        return _check_range(int(value), field, allow_zero)
    raise InvalidAmount(f"expected an integer number of fen, got {type(value).__name__}", field=field)


def parse_yuan(value: str | Decimal, field: str = "amount", allow_zero: bool = False) -> int:
    """Convert a yuan amount such as ``"12345.67"`` (at most 2 decimals) to fen."""
    try:
        yuan = value if isinstance(value, Decimal) else Decimal(value.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise InvalidAmount(f"{value!r} is not a decimal number of yuan", field=field) from None
    if not yuan.is_finite():
        raise InvalidAmount(f"amount {yuan} is not a finite number", field=field)
    return parse_amount_fen(yuan * 100, field, allow_zero)


def parse_currency(code: object, field: str = "currency") -> str:
    """An active ISO 4217 alphabetic code, upper-cased (``"cny"`` -> ``"CNY"``)."""
    if not isinstance(code, str):
        raise InvalidCurrency(f"expected a string, got {type(code).__name__}", field=field)
    normalised = code.strip().upper()
    if len(normalised) != 3 or not normalised.isascii() or not normalised.isalpha():
        raise InvalidCurrency(f"{code!r} is not a 3-letter currency code", field=field)
    if normalised not in ISO_4217_ACTIVE:
        raise InvalidCurrency(f"{normalised} is not an active ISO 4217 currency code", field=field)
    return normalised


def format_fen(fen: int, currency: str = "CNY") -> str:
    """Human-readable amount: ``"¥12,345.67"`` for CNY, ``"USD 1.00"`` otherwise."""
    sign = "-" if fen < 0 else ""
    major, minor = divmod(abs(fen), 100)
    number = f"{major:,}.{minor:02d}"
    symbol = _CURRENCY_SIGNS.get(currency)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{currency} {number}"


@dataclass(frozen=True, slots=True)
class Money:
    """A non-negative amount of fen in one currency; arithmetic refuses mixed currencies."""

    amount_fen: int
    currency: str = "CNY"

    def __post_init__(self) -> None:
        parse_amount_fen(self.amount_fen, "amount_fen", allow_zero=True)
        if parse_currency(self.currency) != self.currency:
            raise InvalidCurrency(f"{self.currency!r} must be upper case", field="currency")

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidCurrency(f"cannot combine {self.currency} with {other.currency}", field="currency")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_fen + other.amount_fen, self.currency)

    def __sub__(self, other: object) -> Money:
        """Difference; a negative result raises :class:`InvalidAmount`."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_fen - other.amount_fen, self.currency)

    def __str__(self) -> str:
        return format_fen(self.amount_fen, self.currency)
