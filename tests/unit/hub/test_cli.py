"""The CLI reports errors as one line and an exit code, never a traceback.

Exit codes: 0 ok, 1 failure (a check that failed, a service unreachable), 2 usage or configuration
error, the same for ``interop-hub`` and ``interop-agency`` (one :func:`hub.cli.run`).  Each case runs
``python -m hub`` (or ``python -m agents``) as a subprocess with ``HUB_*`` pointing at ports nothing
listens on and an empty data dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from hub.cli import EXIT_FAILURE, EXIT_USAGE, explain
from hub.errors import BrokerNotRunning, CalendarFileError, InvalidSeal, TopicApplyError
from hub.settings import HubSettings
from tests.unit.offline_cli import ROOT, run_offline


def _error_lines(out: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in out.stderr, out.stderr
    assert "Traceback" not in out.stdout, out.stdout
    return [line for line in out.stderr.splitlines() if line.startswith("error")]


def test_an_invalid_setting_is_a_configuration_error_exit_2(tmp_path: Path) -> None:
    out = run_offline(tmp_path, "broker", "status", HUB_WEB_PORT="x")
    assert out.returncode == EXIT_USAGE
    [line] = _error_lines(out)
    assert "HUB_WEB_PORT" in line and "integer" in line
    assert out.stderr.strip() == line, "one line"


def test_a_missing_receipt_file_is_a_usage_error_exit_2(tmp_path: Path) -> None:
    out = run_offline(tmp_path, "court", "verify-receipt", str(tmp_path / "nonexistent"), program="agents")
    assert out.returncode == EXIT_USAGE
    assert "Traceback" not in out.stderr and "no such file" in out.stderr


def test_a_receipt_that_is_not_one_fails_the_check_exit_1(tmp_path: Path) -> None:
    garbage = tmp_path / "reply.bin"
    garbage.write_bytes(b"not a reply")
    out = run_offline(tmp_path, "court", "verify-receipt", str(garbage), program="agents")
    assert out.returncode == EXIT_FAILURE
    assert len(_error_lines(out)) == 1


@pytest.mark.parametrize(("program", "args"), [
    ("agents", ("credit", "digest")),
    ("bench", ("--only", "codec")),
    ("demo", ("--plain",)),
])
def test_every_program_reports_an_invalid_setting_as_a_configuration_error_exit_2(
        tmp_path: Path, program: str, args: tuple[str, ...]) -> None:
    """``interop-agency``, ``python -m bench`` and ``python -m demo`` run through the hub CLI's one runner."""
    out = run_offline(tmp_path, *args, program=program, HUB_WEB_PORT="x")
    assert out.returncode == EXIT_USAGE
    [line] = _error_lines(out)
    assert "HUB_WEB_PORT" in line and out.stderr.strip() == line


def test_audit_verify_without_a_broker_is_unreachable_exit_1(tmp_path: Path) -> None:
    out = run_offline(tmp_path, "audit", "verify")
    assert out.returncode == EXIT_FAILURE
    [line] = _error_lines(out)
    assert "cannot reach the Kafka broker at 127.0.0.1:" in line
    assert "Unclosed" not in out.stderr, "the consumer that could not start is closed"


def test_requests_list_without_a_worker_is_unreachable_exit_1(tmp_path: Path) -> None:
    out = run_offline(tmp_path, "requests", "list")
    assert out.returncode == EXIT_FAILURE
    [line] = _error_lines(out)
    assert "cannot reach the hub worker at http://127.0.0.1:" in line
    assert out.stderr.strip() == line, "one line"


def test_requests_list_with_an_unknown_state_is_a_usage_error_exit_2(tmp_path: Path) -> None:
    out = run_offline(tmp_path, "requests", "list", "--state", "bogus")
    assert out.returncode == EXIT_USAGE
    assert "Traceback" not in out.stderr and "invalid choice: 'bogus'" in out.stderr
    assert "answered_late" in out.stderr, "the valid states come from hub.lifecycle.State"


@pytest.mark.parametrize(("exc", "code"), [
    (CalendarFileError("bad holiday file"), EXIT_USAGE),
    (BrokerNotRunning("the broker is not running"), EXIT_FAILURE),
    (TopicApplyError("broker timed out"), EXIT_FAILURE),
    (InvalidSeal("seal does not verify"), EXIT_FAILURE),
    (KafkaConnectionError("Unable to bootstrap"), EXIT_FAILURE),
    (FileNotFoundError(2, "No such file or directory", "/x"), EXIT_FAILURE),
    (RuntimeError("boom\nsecond line"), EXIT_FAILURE),
])
def test_every_error_maps_to_an_exit_code_and_one_line(exc: Exception, code: int) -> None:
    got, label, message = explain(exc, HubSettings())
    assert got == code and label
    if not isinstance(exc, CalendarFileError | BrokerNotRunning | TopicApplyError | InvalidSeal):
        assert "\n" not in message


def test_an_unexpected_error_is_one_line_unless_verbose(tmp_path: Path) -> None:
    """A bug still exits 1 with one line; ``-v`` shows the traceback for debugging."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\nfrom hub import cli\nfrom hub.broker import commands\n"
        "def boom(args, settings):\n    raise ZeroDivisionError('division by zero')\n"
        "commands._status = boom\nsys.exit(cli.main(sys.argv[1:]))\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(PYTHONPATH=str(ROOT), HUB_DATA_DIR=str(tmp_path), HUB_EVENT_LOOP="asyncio")
    quiet = subprocess.run([sys.executable, str(probe), "broker", "status"], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert quiet.returncode == EXIT_FAILURE and "Traceback" not in quiet.stderr
    assert "unexpected ZeroDivisionError: division by zero" in quiet.stderr
    verbose = subprocess.run([sys.executable, str(probe), "-v", "broker", "status"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert verbose.returncode == EXIT_FAILURE and "Traceback" in verbose.stderr
