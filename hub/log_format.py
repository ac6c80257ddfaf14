"""Log output of every ``interop-hub`` process: text (the default) or one JSON object per line.

``HUB_LOG_FORMAT=json`` makes each record one line of JSON on stderr::

    {"time": "2025-01-02T01:00:00.123Z", "level": "WARNING", "logger": "hub.deadletter",
     "message": "dead-lettered ...", "request_id": "...", "case_number": "...", "agency": "icbc"}

``time`` is ISO-8601 in UTC; ``request_id``, ``case_number`` and ``agency`` are present when the
log call passed them (``log.warning(..., extra={"request_id": ...})``, see :func:`log_fields`), and
``exception`` / ``stack`` when the record has them.  Two places configure it:

* :func:`configure_logging`, called by :func:`hub.cli.run` for every command;
* :func:`worker_logging_config`, faust's ``logging_config`` setting (:func:`hub.worker_app.create_app`):
  faust's worker clears the root logger's handlers when it starts and applies this dictionary
  (``mode.utils.logging.setup_logging``, ``logging.root.handlers.clear()`` then
  ``logging.config.dictConfig``); with ``"merge": True`` it keeps faust's root logger (the level given
  by ``--loglevel``) and replaces only its ``default`` handler's formatter with :class:`JsonFormatter`.

Personal data: :mod:`hub.masking` masks a record's message when it is created, but ``extra`` fields
are set on the record after that (``Logger.makeRecord``), and a record may come from elsewhere
(``logging.makeLogRecord``); :class:`JsonFormatter` therefore masks the record again (a no-op when
already masked) and every string it writes from the extra fields.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from hub.masking import mask_record, mask_text

#: the record attributes written when a log call passes them as ``extra``
EXTRA_FIELDS = ("request_id", "case_number", "agency")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: line breaks other than \n and \r that json.dumps leaves unescaped with ensure_ascii=False
#: (str.splitlines and many log shippers split on them)
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def log_fields(request_id: object = None, case_number: object = None, agency: object = None) -> dict[str, str]:
    """``extra=`` of a log call about one request: the fields that are known (as text)."""
    given = {"request_id": request_id, "case_number": case_number, "agency": agency}
    return {k: str(v) for k, v in given.items() if v is not None and v != ""}


def _masked(value: object) -> object:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return mask_text(value if isinstance(value, str) else str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; every string in it masked."""

    def format(self, record: logging.LogRecord) -> str:
        mask_record(record)  # message, exception text and stack, masked (once) in place
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = _masked(value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        line = json.dumps(entry, ensure_ascii=False, default=str)
        for char, escaped in _LINE_BREAKS.items():
            if char in line:  # only inside strings: the escape keeps the JSON value and one line
                line = line.replace(char, escaped)
        return line


def configure_logging(level: int, log_format: Literal["text", "json"]) -> None:
    """The root logger of a command: text or JSON lines on stderr."""
    if log_format == "json":
        handler = logging.StreamHandler()  # stderr, like basicConfig's
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=TEXT_FORMAT)


def worker_logging_config(log_format: Literal["text", "json"]) -> dict[str, Any] | None:
    """faust's ``logging_config`` for the worker: None keeps faust's own (text) setup."""
    if log_format != "json":
        return None
    return {
        "merge": True,  # faust's root logger and level, our handler and formatter
        "formatters": {"hub_json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "hub_json", "stream": "ext://sys.stderr"},
        },
    }
