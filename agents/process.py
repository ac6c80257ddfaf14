"""A simulated agency as a child process (the demo, the benchmarks and the acceptance tests run them)."""

from __future__ import annotations

from pathlib import Path

from hub.process import ChildProcess
from hub.settings import HubSettings


class AgencyProcess(ChildProcess):
    """An ``interop-agency <args>`` child process (``python -m agents``), e.g. ``["simulate", "banks"]``."""

    def __init__(self, settings: HubSettings, log_path: Path, args: list[str]) -> None:
        super().__init__(settings, log_path, args, module="agents")
