"""``interop-agency`` (``python -m agents``): the agency side's own command, beside ``interop-hub``.

The simulated agencies, the court's receipt check and a list consumer's copy moved out of the hub's
command; both commands share one parser, logging and exit-code machinery (:func:`hub.cli.run`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.cli import build_parser as agency_parser
from agents.process import AgencyProcess
from hub.cli import EXIT_USAGE
from hub.cli import build_parser as hub_parser
from hub.settings import HubSettings


def test_the_agency_commands_keep_their_flags(tmp_path: Path) -> None:
    receipt = tmp_path / "reply.bin"
    receipt.write_bytes(b"")
    parser = agency_parser()
    for argv in (
        ["simulate", "banks", "--agency", "icbc", "--agency", "cgb", "--seed", "7", "--heartbeat-interval", "2"],
        ["simulate", "police", "--seed", "7"],
        ["simulate", "credit"],
        ["simulate", "joint", "--unit", "caac"],
        ["court", "verify-receipt", str(receipt), "--data-dir", str(tmp_path)],
        ["credit", "replay", "--consumer", "platform", "--wipe", "--quiet", "--from-publication", "3"],
        ["credit", "export", "--store", str(tmp_path / "copy.sqlite"), "--out", str(tmp_path / "out.jsonl")],
        ["credit", "lookup", "110105197505050011", "--include-removed"],
        ["credit", "digest", "--consumer", "caac"],
    ):
        assert callable(parser.parse_args(argv).func), argv
    banks = parser.parse_args(["-v", "simulate", "banks", "--agency", "icbc"])
    assert banks.verbose and banks.agency == ["icbc"] and banks.seed == 2024 and banks.heartbeat_interval == 5.0


@pytest.mark.parametrize("command", ["simulate", "court", "credit", "demo", "bench"])
def test_the_hub_command_has_no_agency_demo_or_bench_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        hub_parser().parse_args([command])
    assert exited.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_an_agency_process_runs_python_m_agents(tmp_path: Path) -> None:
    proc = AgencyProcess(HubSettings(data_dir=tmp_path), tmp_path / "logs" / "agency.log", ["simulate", "--help"])
    proc.spawn()
    deadline = time.monotonic() + 60
    while proc.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.stop() == 0
    assert "usage: interop-agency simulate" in (tmp_path / "logs" / "agency.log").read_text(encoding="utf-8")
