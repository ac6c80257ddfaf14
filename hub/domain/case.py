"""Enforcement case numbers (案号).

Current format (SPC《关于人民法院案件案号的若干规定》, 2016, amended 2018)::

    （收案年度）法院代字[专门审判代字]类型代字案件编号号      e.g. （2024）京0105执1234号

* 法院代字 (court code): ``最高法`` for the Supreme People's Court; a province
  abbreviation alone for a high court (``京``); plus two digits for an
  intermediate or specialised court (``京01``, ``京73``, ``沪72``); plus four
  digits for a basic court (``京0105``, ``京0491``).  ``兵`` (Xinjiang Production
  and Construction Corps branch) and ``军`` (military courts) follow the same shape.
* 专门审判代字 (2018 amendment): one character, ``知`` for intellectual property.
* 类型代字: one of :data:`ENFORCEMENT_CASE_TYPES`; the hub only carries enforcement cases.
* 案件编号: "顺位自然数" (art. 10), so a positive integer without leading zeros.

Numbers filed before the 2016 rules look like ``（2014）朝执字第01234号``: a free
abbreviation of the court, ``执字``-style type, ``第`` and a serial that is often
zero-padded.  They are still live in terminated-case sweeps (终本统查), so they are
accepted with ``legacy=True`` and printed back exactly (padding kept).

ASCII and full-width parentheses and digits are accepted; the canonical form
uses full-width parentheses and ASCII digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from hub.errors import InvalidCaseNumber

__all__ = [
    "COURT_PREFIXES",
    "ENFORCEMENT_CASE_TYPES",
    "LEGACY_CASE_TYPES",
    "MAX_CASE_YEAR",
    "MIN_CASE_YEAR",
    "PROVINCE_ABBREVIATIONS",
    "SPECIAL_TRIAL_MARKERS",
    "CaseNumber",
    "parse_case_number",
]

MIN_CASE_YEAR = 1990
MAX_CASE_YEAR = 2100
#: The 2016 rules took effect on 1 January 2016; older numbers use the legacy format.
LAST_LEGACY_YEAR = 2016
SUPREME_COURT = "最高法"

#: One-character abbreviations of the 31 provincial-level divisions of the mainland.
PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
#: First character of a lower-court code: provinces plus 兵 (XPCC) and 军 (military).
COURT_PREFIXES = PROVINCE_ABBREVIATIONS + "兵军"

#: Enforcement type codes (执行类, 案件类型代字标准 2016): first enforcement,
#: resumed enforcement, preservation, objection, reconsideration, supervision,
#: coordination, other.
ENFORCEMENT_CASE_TYPES: tuple[str, ...] = ("执", "执恢", "执保", "执异", "执复", "执监", "执协", "执他")
#: Type codes of pre-2016 numbers (``执字`` etc.).
LEGACY_CASE_TYPES: tuple[str, ...] = tuple(t + "字" for t in ENFORCEMENT_CASE_TYPES)
#: 专门审判代字 (2018 amendment).
SPECIAL_TRIAL_MARKERS: tuple[str, ...] = ("知",)

_MAX_SERIAL = 99_999_999  # criminal review numbers are the longest, 8 digits (art. 10)
_HEAD = re.compile(r"\(([0-9]+)\)(.*)\Z", re.DOTALL)
_NEW_BODY = re.compile(r"(最高法|[^\W\d_])([0-9]*)([^\W\d_]+?)([0-9]+)号\Z")
_LEGACY_BODY = re.compile(r"([^\W\d_]{1,12}?)(执[^\W\d_]?字)第([0-9]+)号\Z")


@dataclass(frozen=True, slots=True)
class CaseNumber:
    """A validated enforcement case number; ``str()`` gives the canonical form."""

    year: int
    court_code: str
    case_type: str
    serial: int
    special_marker: str = ""
    legacy: bool = False
    serial_width: int = 0  # zero padding of legacy serials, kept so the number prints back unchanged

    def __str__(self) -> str:
        serial = f"{self.serial:0{self.serial_width}d}"
        if self.legacy:
            return f"（{self.year}）{self.court_code}{self.case_type}第{serial}号"
        return f"（{self.year}）{self.court_code}{self.special_marker}{self.case_type}{serial}号"


def _parse_serial(digits: str, field: str, *, legacy: bool) -> int:
    serial = int(digits)
    if serial == 0:
        raise InvalidCaseNumber("serial number must be positive, got 0", field=field)
    if not legacy and digits.startswith("0"):
        raise InvalidCaseNumber(f"serial number {digits} has a leading zero", field=field)
    if serial > _MAX_SERIAL:
        raise InvalidCaseNumber(f"serial number {serial} is longer than 8 digits", field=field)
    return serial


def _parse_legacy(year: int, body: str, field: str) -> CaseNumber:
    match = _LEGACY_BODY.match(body)
    if match is None:
        raise InvalidCaseNumber(
            "pre-2016 number must look like （2014）朝执字第123号: court, 执字-type, 第, serial, 号",
            field=field,
        )
    court, case_type, digits = match.groups()
    if case_type not in LEGACY_CASE_TYPES:
        raise InvalidCaseNumber(
            f"case type {case_type!r} is not an enforcement case type; expected one of "
            f"{', '.join(LEGACY_CASE_TYPES)}",
            field=field,
        )
    if year > LAST_LEGACY_YEAR:
        raise InvalidCaseNumber(
            f"year {year} uses the pre-2016 format (字第), which no court uses after {LAST_LEGACY_YEAR}",
            field=field,
        )
    serial = _parse_serial(digits, field, legacy=True)
    return CaseNumber(year, court, case_type, serial, legacy=True, serial_width=len(digits))


def _parse_court(prefix: str, digits: str, field: str) -> str:
    if prefix == SUPREME_COURT:
        if digits:
            raise InvalidCaseNumber(f"court code {SUPREME_COURT} takes no digits, got {digits}", field=field)
        return prefix
    if prefix not in COURT_PREFIXES:
        raise InvalidCaseNumber(
            f"court code must start with {SUPREME_COURT} or a province abbreviation (京, 沪, ...), "
            f"got {prefix!r}",
            field=field,
        )
    if len(digits) not in (0, 2, 4):
        raise InvalidCaseNumber(
            f"court code {prefix}{digits}: digits must be none (high court), 2 (intermediate) "
            f"or 4 (basic court), got {len(digits)}",
            field=field,
        )
    return prefix + digits


def _split_type(letters: str, field: str) -> tuple[str, str]:
    if letters in ENFORCEMENT_CASE_TYPES:
        return "", letters
    marker, rest = letters[:1], letters[1:]
    if marker in SPECIAL_TRIAL_MARKERS and rest in ENFORCEMENT_CASE_TYPES:
        return marker, rest
    raise InvalidCaseNumber(
        f"case type {letters!r} is not an enforcement case type; expected one of "
        f"{', '.join(ENFORCEMENT_CASE_TYPES)}",
        field=field,
    )


def parse_case_number(value: object, field: str = "case_number", *, today: date | None = None) -> CaseNumber:
    """Validate an enforcement case number and return its parts.

    The filing year must lie in ``MIN_CASE_YEAR..MAX_CASE_YEAR`` and, when
    ``today`` is given, not after ``today.year``.
    """
    if not isinstance(value, str):
        raise InvalidCaseNumber(f"expected a string, got {type(value).__name__}", field=field)
    text = unicodedata.normalize("NFKC", value).strip()  # full-width （） and digits -> ASCII
    if not text:
        raise InvalidCaseNumber("is empty", field=field)
    if any(char.isspace() for char in text):
        raise InvalidCaseNumber("contains whitespace", field=field)
    head = _HEAD.match(text)
    if head is None:
        raise InvalidCaseNumber("must start with the filing year in parentheses, e.g. （2024）", field=field)
    year_digits, body = head.groups()
    if len(year_digits) != 4:
        raise InvalidCaseNumber(f"year {year_digits} must have 4 digits", field=field)
    year = int(year_digits)
    if not MIN_CASE_YEAR <= year <= MAX_CASE_YEAR:
        raise InvalidCaseNumber(f"year {year} is outside {MIN_CASE_YEAR}..{MAX_CASE_YEAR}", field=field)
    if today is not None and year > today.year:
        raise InvalidCaseNumber(f"year {year} is in the future (today is {today.isoformat()})", field=field)
    if not body.endswith("号"):
        raise InvalidCaseNumber("must end with 号", field=field)
    if "字第" in body:
        return _parse_legacy(year, body, field)
    match = _NEW_BODY.match(body)
    if match is None:
        raise InvalidCaseNumber(
            "after the year expected court code, case type, serial number and 号, e.g. 京0105执1234号",
            field=field,
        )
    prefix, court_digits, letters, digits = match.groups()
    court = _parse_court(prefix, court_digits, field)
    marker, case_type = _split_type(letters, field)
    serial = _parse_serial(digits, field, legacy=False)
    return CaseNumber(year, court, case_type, serial, special_marker=marker)
