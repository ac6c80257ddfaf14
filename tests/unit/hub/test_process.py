"""Child processes the hub's tools start (``hub.process``): stopped by their own pid, at the priority asked for."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hub.process import ChildProcess
from hub.settings import HubSettings


def _niceness(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of proc(5), counted after the command's name


def _serving(tmp_path: Path, niceness: int) -> int:
    child = ChildProcess(HubSettings(data_dir=tmp_path), tmp_path / "child.log",
                         ["0", "--bind", "127.0.0.1"], module="http.server")
    child.niceness = niceness
    child.spawn()
    try:
        assert child.pid is not None
        time.sleep(0.5)
        assert child.running(), (tmp_path / "child.log").read_text()
        return _niceness(child.pid)
    finally:
        child.stop()
        assert not child.running()


def test_a_child_runs_at_the_niceness_asked_for(tmp_path: Path) -> None:
    assert _serving(tmp_path, 10) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)  # nice adds to the parent's


def test_a_child_runs_at_its_parents_priority_by_default(tmp_path: Path) -> None:
    assert _serving(tmp_path, 0) == os.getpriority(os.PRIO_PROCESS, 0)
