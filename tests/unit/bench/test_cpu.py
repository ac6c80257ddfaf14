"""CPU time of a bench child (bench.cpu): /proc/<pid>/stat parsed to seconds, CPU per unit of work."""

from __future__ import annotations

import math
import os

import pytest

from bench.cpu import CpuMeter, ms_per_unit, process_cpu_seconds, stat_cpu_seconds

# proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
STAT = "4242 (python) S 1 4242 4242 0 -1 4194560 9001 0 12 0 250 50 7 3 20 0 9 0 1000 200000000 5000"


def test_utime_plus_stime_in_seconds_children_not_counted() -> None:
    assert stat_cpu_seconds(STAT, ticks_per_s=100) == pytest.approx(3.0)  # (250 + 50) / 100
    assert stat_cpu_seconds(STAT, ticks_per_s=1000) == pytest.approx(0.3)


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    tricky = STAT.replace("(python)", "(faust) worker (2))")
    assert stat_cpu_seconds(tricky, ticks_per_s=100) == pytest.approx(3.0)


def test_ms_per_unit() -> None:
    assert ms_per_unit(2.4, 1000) == pytest.approx(2.4)  # 2.4 s over 1,000 round trips: 2.4 ms each
    assert ms_per_unit(0.5, 2500 / 2) == pytest.approx(0.4)  # 2,500 messages forwarded = 1,250 pairs
    assert math.isnan(ms_per_unit(1.0, 0))
    assert math.isnan(ms_per_unit(math.nan, 10))


def test_this_process_is_measured_and_a_missing_one_is_nan() -> None:
    with CpuMeter(os.getpid()) as cpu:
        sum(i * i for i in range(300_000))
    assert cpu.seconds >= 0.0
    assert process_cpu_seconds(os.getpid()) > 0.0
    assert math.isnan(process_cpu_seconds(None))
    with CpuMeter(None) as gone:
        pass
    assert math.isnan(gone.seconds)
