"""The sweep benchmark's load (bench.sweep_bench): registrations the hub accepts, each due for a sweep at once."""

from __future__ import annotations

import math
from datetime import date

import pytest

from bench.commands import NAMES, OPT_IN, build_parser
from bench.sweep_bench import FOUND_EVERY, Window, registrations, sweep_topics, sweep_units
from hub.codec import default_codec
from hub.flows.sweeps.messages import validate_registration
from hub.flows.sweeps.rows import new_case
from hub.settings import HubSettings

TODAY = date(2026, 11, 25)


def test_every_registration_is_valid_and_its_first_sweep_is_due_today_seed_001_s2_1() -> None:
    settings = HubSettings()
    reqs = registrations(settings, 3 * FOUND_EVERY, TODAY)
    codec = default_codec()
    numbers, subjects = set(), set()
    for req in reqs:
        msg = codec.decode(req.value)
        assert msg.schema.endswith("TerminatedCaseRegistered")
        validate_registration(msg.body, str(msg.envelope["sender"]), TODAY)
        case = new_case(msg.body, registration_id=msg.request_id, units={}, partition=0, now_ms=0, today=TODAY,
                        interval_days=settings.sweep_interval_days)
        assert case.next_due_ordinal == TODAY.toordinal()
        assert req.key.decode() == msg.body["case"]["case_number"]
        numbers.add(req.key)
        subjects.add(msg.body["subject"]["id_number"])
    assert len(numbers) == len(reqs)  # a case is registered once
    assert len(subjects) > len(reqs) // 2


def test_a_sweep_reaches_every_unit_of_a_beijing_debtors_intensive_set() -> None:
    units = sweep_units(HubSettings())
    assert len(units) == 26 and {"icbc", "cgb", "csdc", "alipay", "bob"} <= set(units)


def test_sweep_lanes_are_counted_from_the_end_offsets_of_the_agencies_sweep_topics_only() -> None:
    settings = HubSettings(topic_prefix="b1.")
    offsets = {"b1.agency.icbc.sweeps": 40, "b1.agency.cgb.sweeps": 2, "b1.agency.icbc.inbox": 900,
               "b2.agency.icbc.sweeps": 7, "b1.court.requests": 5}
    assert sweep_topics(settings, offsets) == 42


def test_a_windows_sweep_rate_and_the_hubs_cpu() -> None:
    w = Window(rate=100, seconds=60.0, sent=6000, answered=6000, p50_ms=30, p99_ms=90, sweep_requests=4680,
               worker_cpu_s=30.0)
    assert w.sweep_per_s == pytest.approx(78.0) and w.worker_core_share == pytest.approx(0.5)
    alone = Window(rate=0, seconds=60.0, sent=0, answered=0, p50_ms=math.nan, p99_ms=math.nan, sweep_requests=4000,
                   worker_cpu_s=20.0)
    assert alone.worker_cpu_ms_per_sweep_request == pytest.approx(5.0)


def test_the_sweep_benchmark_is_opt_in_and_sized_by_flags() -> None:
    assert "sweep" in OPT_IN and "sweep" not in NAMES
    args = build_parser().parse_args(["--only", "sweep", "--sweep-cases", "500", "--sweep-ceiling", "2.5",
                                      "--sweep-live-rate", "150", "--sweep-seconds", "30"])
    assert args.only == ["sweep"] and args.sweep_cases == 500 and args.sweep_ceiling == 2.5
    assert args.sweep_live_rate == 150 and args.sweep_seconds == 30
