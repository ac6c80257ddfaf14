"""HUB_LOG_FORMAT=json: one JSON object per line, with the request's fields, and no personal data."""

from __future__ import annotations

import io
import json
import logging
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from hub.log_format import JsonFormatter, log_fields, worker_logging_config
from hub.settings import HubSettings
from tests.unit.offline_cli import run_offline

RESIDENT_ID = "11010519900307001X"
MASKED_ID = "110***********001X"


def _logged(*calls: tuple[int, str, tuple[object, ...], dict[str, object]]) -> list[str]:
    """The lines a logger with a JsonFormatter handler writes for ``calls`` (level, msg, args, kwargs)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.log_format.{id(out)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        for level, msg, args, kwargs in calls:
            logger.log(level, msg, *args, **kwargs)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
    return out.getvalue().splitlines()


def test_each_record_is_one_json_object_with_time_level_logger_message_and_the_extras() -> None:
    lines = _logged(
        (logging.WARNING, "dead-lettered %s: [%s] %s", ("court.requests/0/7", "bad_marker", "x"),
         {"extra": log_fields("req-1", "（2025）京0105执1号", "icbc")}),
        (logging.INFO, "no extras here", (), {}),
    )
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"].startswith("test.log_format.")
    assert first["message"] == "dead-lettered court.requests/0/7: [bad_marker] x"
    assert (first["request_id"], first["case_number"], first["agency"]) == ("req-1", "（2025）京0105执1号", "icbc")
    when = datetime.fromisoformat(first["time"])
    assert when.utcoffset() == timedelta(0) and first["time"].endswith("Z")
    assert abs((datetime.now(when.tzinfo) - when).total_seconds()) < 60
    assert set(second) == {"time", "level", "logger", "message"}, "absent extras are left out"


def test_a_resident_id_is_masked_in_the_message_the_extras_and_the_traceback() -> None:
    try:
        raise ValueError(f"subject {RESIDENT_ID} not found")
    except ValueError:
        lines = _logged(
            (logging.ERROR, "lookup of %s failed\nsecond line\u2028third", (RESIDENT_ID,),
             {"exc_info": True,
              "extra": {"request_id": f"req-{RESIDENT_ID}", "case_number": f"case {RESIDENT_ID}",
                        "agency": RESIDENT_ID}}),
        )
    assert len(lines) == 1, "a multi-line message and a traceback stay on one line"
    [line] = lines
    assert RESIDENT_ID not in line
    entry = json.loads(line)
    assert entry["message"] == f"lookup of {MASKED_ID} failed\nsecond line\u2028third"
    assert entry["request_id"] == f"req-{MASKED_ID}"
    assert entry["case_number"] == f"case {MASKED_ID}"
    assert entry["agency"] == MASKED_ID
    assert "ValueError" in entry["exception"] and MASKED_ID in entry["exception"]


def test_account_and_phone_numbers_in_extras_are_masked_too() -> None:
    [line] = _logged((logging.INFO, "moved", (), {"extra": {"agency": "card 6222021234567890123 tel 13800138000"}}))
    assert json.loads(line)["agency"] == "card 622************0123 tel 138****8000"


def test_log_fields_leaves_out_what_is_not_known() -> None:
    assert log_fields("r", None, "") == {"request_id": "r"}
    assert log_fields(case_number=42) == {"case_number": "42"}


def test_faust_keeps_its_root_logger_and_uses_the_json_formatter() -> None:
    assert worker_logging_config("text") is None  # faust's own text set-up
    config = worker_logging_config("json")
    assert config is not None and config["merge"] is True
    assert config["handlers"]["default"]["formatter"] == "hub_json"
    assert config["formatters"]["hub_json"]["()"] == "hub.log_format.JsonFormatter"
    assert "root" not in config, "the root logger (level from --loglevel) stays faust's"


def _hub(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_offline(tmp_path, *args, **{"HUB_LOG_FORMAT": "json", **env})


def _json_lines(stderr: str) -> list[dict[str, object]]:
    lines = stderr.splitlines()
    assert lines, "the command logged nothing"
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line, or this fails
        assert isinstance(entry, dict) and {"time", "level", "logger", "message"} <= set(entry), line
        entries.append(entry)
    return entries


def test_a_command_logs_only_json_lines_on_stderr(tmp_path: Path) -> None:
    """``-v``: asyncio's and aiokafka's debug records, aiokafka's connection error, the CLI's error line
    and the error's traceback, all from a command that cannot reach its broker."""
    out = _hub(tmp_path, "-v", "audit", "verify")
    assert out.returncode == 1
    entries = _json_lines(out.stderr)
    loggers = {str(e["logger"]) for e in entries}
    assert "hub.cli" in loggers and any(name.startswith("aiokafka") for name in loggers), loggers
    [error] = [e for e in entries if str(e["message"]).startswith("error [")]
    assert error["level"] == "ERROR" and "cannot reach the Kafka broker" in str(error["message"])
    assert any("Traceback" in str(e.get("exception", "")) for e in entries)


def test_even_invalid_settings_are_reported_as_a_masked_json_line(tmp_path: Path) -> None:
    out = _hub(tmp_path, "broker", "status", HUB_WEB_PORT=RESIDENT_ID)
    assert out.returncode == 2
    [entry] = _json_lines(out.stderr)
    assert entry["level"] == "ERROR" and "HUB_WEB_PORT" in str(entry["message"])
    assert RESIDENT_ID not in out.stderr and MASKED_ID in str(entry["message"])


def test_the_setting_defaults_to_text() -> None:
    assert HubSettings.model_fields["log_format"].default == "text"
