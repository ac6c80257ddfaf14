"""A benchmark run's children (bench.env): each a ``python -m`` child with its log under the run, stopped at the end."""

from __future__ import annotations

import time
from pathlib import Path

from agents.process import AgencyProcess
from bench.env import BenchEnv
from hub.process import ChildProcess
from hub.settings import HubSettings


def _wait_exited(child: ChildProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while child.running() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_children_run_their_module_log_under_the_run_and_close_removes_everything(tmp_path: Path) -> None:
    env = BenchEnv(HubSettings(data_dir=tmp_path), bootstrap="127.0.0.1:9")  # a broker given: none started
    try:
        assert env.broker is None
        agency = env.agency(env.fresh("bank"), "bank", ["simulate", "banks", "--agency", "icbc"])
        assert isinstance(agency, AgencyProcess) and agency.log_path == env.log("bank")
        baseline = env.python("agents", ["court", "--help"], "baseline", env.fresh("baseline"))
        baseline.spawn()
        _wait_exited(baseline)
        assert baseline.stop() == 0
        assert "usage: interop-agency court" in env.log("baseline").read_text(encoding="utf-8")
    finally:
        env.close()
    assert not env.tmp.exists(), "without --keep a run leaves nothing behind"
