"""CPU time of a child process, for the bench's CPU-per-unit figures (the hub per round trip, the forwarder per pair).

CPU = user + system time of every thread of the process, from ``/proc/<pid>/stat`` (Linux), sampled
right before and right after a measured window.  Children of the process are not counted.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
UTIME, STIME = 14, 15  # 1-based field numbers of proc(5)'s /proc/<pid>/stat


def stat_cpu_seconds(stat: str, ticks_per_s: int = TICKS_PER_S) -> float:
    """utime + stime of a ``/proc/<pid>/stat`` line, in seconds.

    Field 2, the command name, is in parentheses and may itself hold spaces and parentheses, so
    the fields are counted from the last ``)``: the first field after it is field 3."""
    fields = stat[stat.rindex(")") + 1 :].split()
    return (int(fields[UTIME - 3]) + int(fields[STIME - 3])) / ticks_per_s


def process_cpu_seconds(pid: int | None) -> float:
    """CPU seconds ``pid`` has used so far (all threads); NaN when there is no such process."""
    if pid is None:
        return math.nan
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return math.nan
    return stat_cpu_seconds(text)


def ms_per_unit(cpu_s: float, units: float) -> float:
    """Milliseconds of CPU per unit of work done in the window (NaN when none was done)."""
    return cpu_s * 1000.0 / units if units > 0 else math.nan


class CpuMeter:
    """``with CpuMeter(pid) as cpu: ...`` then ``cpu.seconds``: CPU ``pid`` used inside the block."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.start = math.nan
        self.seconds = math.nan

    def __enter__(self) -> CpuMeter:
        self.start = process_cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = process_cpu_seconds(self.pid) - self.start
