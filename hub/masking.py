"""Personal data never reaches a log line: resident IDs, account numbers and phone numbers are masked.

:class:`MaskingFilter` rewrites a log record's message (and its formatted traceback) with the
:mod:`hub.domain` ``mask_*`` functions wherever a recognisable pattern appears.  A filter on the
root *logger* would only see records logged on the root logger itself (records of child loggers
reach the root's handlers, not its filters), so :func:`install_masking` wraps the log-record
factory: every record of every logger of the process is masked when it is created, whatever
handlers faust or the CLI install later.  It also puts the filter on the root logger and its
current handlers, for handlers that format records created elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from hub.domain import mask_account, mask_phone, mask_resident_id

#: 18-character resident ID (17 digits + check digit or X), not part of a longer digit run
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MMDD = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
#: an 18-character resident ID written in groups, "110105 19900307 001X" or "110105 1990 0307 0012"
#: (spaces or hyphens); the birth date must look like one, so other grouped numbers stay readable
SPACED_RESIDENT_ID = re.compile(
    rf"(?<![0-9A-Za-z])[1-8]\d{{5}}[ -]?(?:18|19|20)\d{{2}}[ -]?{_MMDD}[ -]?\d{{3}}[\dXx](?![0-9A-Za-z])"
)
#: 15-digit first-generation resident ID: region (6), birth date YYMMDD (6), sequence (3), all
#: digits; optionally grouped 6-6-3 by one kind of separator.  The date part keeps a random 15-digit
#: number readable; epoch milliseconds (13 digits) and offsets are shorter anyway.
RESIDENT_ID_15 = re.compile(rf"(?<![0-9A-Za-z])[1-8]\d{{5}}([ -]?)\d{{2}}{_MMDD}\1\d{{3}}(?![0-9A-Za-z])")
#: mainland mobile number, optionally +86 / 0086 and split by spaces or hyphens
MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
#: landline with area code: 010-12345678, 0571-8888888
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-[2-9]\d{6,7}(?!\d)")
#: bank account / card number: 16-32 digits, or groups of four separated by spaces or by hyphens
#: ("6222 0212 3456 7890", "6222-0200-1234-5678-901")
ACCOUNT = re.compile(r"(?<!\d)(?:\d{16,32}|\d{4}([ -])\d{4}(?:\1\d{4}){2,6}(?:\1\d{1,4})?)(?!\d)")
#: a shorter account number (8-15 digits) is only recognisable by its label
LABELLED_ACCOUNT = re.compile(
    r"(?i)((?:account|acct|card)[_ ]?(?:number|no)?\W{1,4}|账号\W{0,3}|卡号\W{0,3})(\d{8,15})"
)

_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[object], str]], ...] = (
    (RESIDENT_ID, mask_resident_id),
    (SPACED_RESIDENT_ID, mask_resident_id),
    (RESIDENT_ID_15, mask_resident_id),
    (ACCOUNT, mask_account),
    (MOBILE, mask_phone),
    (LANDLINE, mask_phone),
)


def mask_text(text: str) -> str:
    """``text`` with every recognisable resident ID, account number and phone number masked."""
    if not any(ch.isdigit() for ch in text):
        return text
    for pattern, mask in _PATTERNS:
        text = pattern.sub(lambda m, mask=mask: mask(m.group(0)), text)  # type: ignore[misc]
    return LABELLED_ACCOUNT.sub(lambda m: m.group(1) + mask_account(m.group(2)), text)


class MaskingFilter(logging.Filter):
    """Masks the record in place; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_hub_masked", False):
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a broken %-format: keep what can be shown, masked
        message = f"{record.msg} {record.args}"
    record.msg = mask_text(message)
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    record._hub_masked = True
    return record


_installed = False


def install_masking() -> None:
    """Mask every log record of this process from now on (idempotent)."""
    global _installed
    root = logging.getLogger()
    masking = MaskingFilter()
    if not any(isinstance(f, MaskingFilter) for f in root.filters):
        root.addFilter(masking)
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(masking)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
