"""Who the subject is: resident identity numbers and unified social credit codes.

Checksums are never hand-written when python-stdnum implements them:

* resident ID (公民身份号码, GB 11643-1999): ``stdnum.cn.ric`` computes the check
  digit and the birth date and looks up the place of birth;
* unified social credit code (统一社会信用代码, GB 32100-2015): ``stdnum.cn.uscc``
  computes the check character.

python-stdnum 2.2 has no module for the older 9-character organisation code
(组织机构代码, GB 11714-1997), which the regulations still accept in place of a
credit code (seed 003: "统一社会信用代码（或组织机构代码）").  Its check
character is computed here in :func:`_org_code_check_char`.

Clock-free by design: whether a birth date lies in the future depends on today's
date, so :func:`parse_resident_id` takes an optional ``today``.  Callers on the
validation path pass the China-local date of the hub's :class:`~hub.clock.Clock`;
without ``today`` only clock-free checks run (a calendar date no earlier than
:data:`MIN_BIRTH_DATE`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

from hub.errors import InvalidCreditCode, InvalidResidentId, ValidationError

__all__ = [
    "ADULT_AGE",
    "MIN_BIRTH_DATE",
    "PROVINCE_CODES",
    "CreditCode",
    "ResidentId",
    "parse_credit_code",
    "parse_resident_id",
]

#: Earliest birth date accepted: nobody born earlier holds an 18-digit ID (issued from 1999).
MIN_BIRTH_DATE = date(1850, 1, 1)

#: Age of full civil capacity (民法典 art. 17); younger persons are minors.
ADULT_AGE = 18

#: First two digits of a GB/T 2260 region code: provinces, autonomous regions and
#: municipalities, plus 71 (Taiwan), 81 (Hong Kong), 82 (Macao) and 83 (the prefix of
#: residence permits for residents of Hong Kong, Macao and Taiwan, 830000).
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

_ID_LENGTH = 18
_FIRST_GEN_ID_LENGTH = 15


def _normalise(value: object, field: str, error: type[ValidationError]) -> str:
    if not isinstance(value, str):
        raise error(f"expected a string, got {type(value).__name__}", field=field)
    # NFKC folds full-width digits and letters (Chinese input methods) to ASCII.
    return unicodedata.normalize("NFKC", value).strip()


def _anniversary(born: date, year: int) -> date:
    """The birthday in ``year``; 29 February falls on 28 February in common years.

    Civil Code art. 202: when a period counted in years has no corresponding day in
    its last month, the last day of that month ends the period.
    """
    if born.month == 2 and born.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return born.replace(year=year)


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated 18-digit resident identity number."""

    number: str
    birth_date: date
    gender: Literal["M", "F"]
    region_code: str

    def age_on(self, day: date) -> int:
        """Completed years of age on ``day`` (周岁), the way Chinese law counts them.

        Periods exclude the day they start on and end at the end of the
        corresponding day (Civil Code arts. 201-202); the SPC's interpretation on
        juvenile criminal cases (法释〔2006〕1号 art. 2) states it for ages: a person
        reaches an age "from the day after the birthday".  Hence on the 18th
        birthday itself a person is still 17.  Someone born on 29 February turns a
        year older on 1 March in common years (the period ends on 28 February).
        """
        if day < self.birth_date:
            raise InvalidResidentId(
                f"date {day.isoformat()} is before the birth date {self.birth_date.isoformat()}",
                field="day",
            )
        years = day.year - self.birth_date.year
        if day <= _anniversary(self.birth_date, day.year):
            years -= 1
        return max(years, 0)

    def is_minor_on(self, day: date) -> bool:
        """Whether the person is under 18 on ``day`` (see :meth:`age_on`)."""
        return self.age_on(day) < ADULT_AGE

    def birth_place(self) -> dict[str, str] | None:
        """Province and county of the region code at the birth year, or ``None`` if unknown.

        Uses stdnum's GB/T 2260 table; not part of validation because the table
        lags behind new and renamed counties.
        """
        try:
            info = ric.get_birth_place(self.number)
        except StdnumValidationError:
            return None
        return {str(k): str(v) for k, v in info.items()}

    def __str__(self) -> str:
        return self.number


def parse_resident_id(value: object, field: str = "id_number", *, today: date | None = None) -> ResidentId:
    """Validate an 18-digit resident ID (GB 11643) and take it apart.

    Accepts full-width characters and a lower-case ``x`` (normalised).  Rejects,
    each with its own message naming ``field``: a non-string, a 15-digit
    first-generation number, any other wrong length, a non-digit among the first
    17 characters, a check character that is not a digit or X, an unknown
    province, a birth date that is not a calendar date or is before
    :data:`MIN_BIRTH_DATE`, a birth date after ``today`` (only when ``today`` is
    given), and a wrong check digit (naming the expected one).
    """
    number = _normalise(value, field, InvalidResidentId).upper()
    if len(number) == _FIRST_GEN_ID_LENGTH and number.isascii() and number.isdigit():
        raise InvalidResidentId(
            "15-digit first-generation ID numbers are not accepted; the 18-digit number is required",
            field=field,
        )
    if len(number) != _ID_LENGTH:
        raise InvalidResidentId(f"must have {_ID_LENGTH} characters, got {len(number)}", field=field)
    for position, char in enumerate(number[:-1], start=1):
        if not ("0" <= char <= "9"):
            raise InvalidResidentId(
                f"character {position} is {char!r}; the first 17 characters must be digits", field=field
            )
    check = number[-1]
    if not ("0" <= check <= "9" or check == "X"):
        raise InvalidResidentId(f"check character is {check!r}; it must be a digit or X", field=field)
    if number[:2] not in PROVINCE_CODES:
        raise InvalidResidentId(
            f"region code {number[:6]} starts with unknown province code {number[:2]}", field=field
        )
    try:
        born: date = ric.get_birth_date(number)
    except StdnumValidationError:
        raise InvalidResidentId(f"birth date {number[6:14]} is not a calendar date", field=field) from None
    if born < MIN_BIRTH_DATE:
        raise InvalidResidentId(
            f"birth date {born.isoformat()} is before {MIN_BIRTH_DATE.isoformat()}", field=field
        )
    if today is not None and born > today:
        raise InvalidResidentId(
            f"birth date {born.isoformat()} is in the future (today is {today.isoformat()})", field=field
        )
    expected = str(ric.calc_check_digit(number))
    if check != expected:
        raise InvalidResidentId(f"checksum digit is {check}, expected {expected}", field=field)
    return ResidentId(
        number=number,
        birth_date=born,
        gender="M" if int(number[16]) % 2 == 1 else "F",
        region_code=number[:6],
    )


# --- organisations ------------------------------------------------------------------

#: GB 32100 character set: digits and upper-case letters without I, O, Z, S, V.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_LENGTH = 18
_ORG_CODE_LENGTH = 9
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997


def _org_code_check_char(body: str) -> str:
    """GB 11714 check character for the 8-character organisation code body (not in stdnum)."""
    total = sum(int(char, 36) * weight for char, weight in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A validated unified social credit code (``kind="uscc"``) or organisation code (``kind="org"``)."""

    code: str
    kind: Literal["uscc", "org"]

    @property
    def organisation_code(self) -> str:
        """The 9-character organisation code (characters 9-17 of a credit code)."""
        return self.code[8:17] if self.kind == "uscc" else self.code

    @property
    def registration_authority(self) -> str | None:
        """GB 32100 registration authority character (e.g. 9 = market regulation), USCC only."""
        return self.code[0] if self.kind == "uscc" else None

    @property
    def region_code(self) -> str | None:
        """GB/T 2260 region code of the registering authority, USCC only."""
        return self.code[2:8] if self.kind == "uscc" else None

    @property
    def embedded_org_code_valid(self) -> bool:
        """Whether the organisation code inside a credit code passes GB 11714.

        Diagnostic only, not enforced: the credit code's own checksum already covers
        every character, and some registries assign body codes that do not follow
        GB 11714.
        """
        org = self.organisation_code
        return (
            all("0" <= c <= "9" or "A" <= c <= "Z" for c in org[:8])
            and _org_code_check_char(org[:8]) == org[8]
        )

    def __str__(self) -> str:
        return self.code


def _parse_uscc(code: str, field: str) -> CreditCode:
    for position, char in enumerate(code, start=1):
        if 3 <= position <= 8:
            if not ("0" <= char <= "9"):
                raise InvalidCreditCode(
                    f"character {position} is {char!r}; characters 3-8 (region code) must be digits",
                    field=field,
                )
        elif char not in _USCC_ALPHABET:
            raise InvalidCreditCode(
                f"character {position} is {char!r}; allowed are digits and letters other than I, O, Z, S, V",
                field=field,
            )
    if code[0] == "0" or code[1] == "0":
        raise InvalidCreditCode(
            "registration authority and entity type (characters 1-2) must not be 0", field=field
        )
    expected = str(uscc.calc_check_digit(code[:-1]))
    if code[-1] != expected:
        raise InvalidCreditCode(f"check character is {code[-1]}, expected {expected}", field=field)
    return CreditCode(code=code, kind="uscc")


def _parse_org_code(code: str, field: str) -> CreditCode:
    for position, char in enumerate(code[:-1], start=1):
        if not ("0" <= char <= "9" or "A" <= char <= "Z"):
            raise InvalidCreditCode(
                f"character {position} is {char!r}; an organisation code body is digits and letters",
                field=field,
            )
    expected = _org_code_check_char(code[:-1])
    if code[-1] != expected:
        raise InvalidCreditCode(f"check character is {code[-1]}, expected {expected}", field=field)
    return CreditCode(code=code, kind="org")


def parse_credit_code(value: object, field: str = "credit_code") -> CreditCode:
    """Validate an 18-character unified social credit code or a 9-character organisation code.

    Spaces and hyphens are removed and letters upper-cased (``12345678-9`` is the
    usual way of writing an organisation code).  The registration authority
    character may be a letter (e.g. ``N`` for rural collective economic
    organisations), which ``stdnum.cn.uscc.validate`` would refuse, so the format
    is checked here and only the check character comes from stdnum.
    """
    text = _normalise(value, field, InvalidCreditCode)
    code = str(uscc.compact(text))
    if len(code) == _USCC_LENGTH:
        return _parse_uscc(code, field)
    if len(code) == _ORG_CODE_LENGTH:
        return _parse_org_code(code, field)
    raise InvalidCreditCode(
        f"must have {_USCC_LENGTH} characters (credit code) or {_ORG_CODE_LENGTH} (organisation code), "
        f"got {len(code)}",
        field=field,
    )
