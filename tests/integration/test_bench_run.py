"""``python -m bench`` end to end on the session's broker, at a CI size: every figure is measured.

The full run (``python -m bench``, minutes) is a command, not a test; this one proves the harness
starts the hub, the simulated bank, both baselines, the replay and the recovering workers, and
reports a number for each figure with its baseline ratio.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[2]
EVERY_FIGURE = (
    "codec_us_ours", "codec_us_avro", "relay_events_per_s", "faust_events_per_s", "round_trips_per_s",
    "hub_events_per_s", "hub_events_per_s_vs_relay", "events_per_round_trip", "latency_p50_ms",
    "latency_p95_ms", "latency_p99_ms", "latency_quarter_p50_ms", "latency_quarter_p95_ms",
    "latency_quarter_p99_ms", "replay_events_per_s", "raw_consume_events_per_s", "rss_worker_mb",
    "rss_plain_dict_mb", "recovery_restart_s", "recovery_cold_s", "rss_worker_restarted_mb",
    "round_trips_per_s_2_workers", "forwarder_cpu_ms_per_message_pair", "hub_cpu_ms_per_round_trip_batched",
    "hub_cpu_ms_per_round_trip_open_loop", "bootstrap_s", "bootstrap_replay_s",
)
RATIOS = ("codec_us_ours", "faust_events_per_s", "hub_events_per_s", "replay_events_per_s", "recovery_restart_s",
          "round_trips_per_s_2_workers")


def test_a_ci_sized_bench_reports_every_figure_with_its_ratio(broker_settings: HubSettings) -> None:
    args = ["--json", "--quick", "--repeat", "1", "--bootstrap", broker_settings.bootstrap_servers,
            "--requests", "400", "--peak-seconds", "2", "--latency-seconds", "2", "--events", "500",
            "--outstanding", "2000"]
    one_node = {"HUB_REPLICATION_FACTOR": "1", "HUB_MIN_INSYNC_REPLICAS": "1"}  # the session broker
    proc = subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **one_node}, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout)["figures"]
    missing = [name for name in EVERY_FIGURE if name not in figures]
    assert not missing, missing
    for name in EVERY_FIGURE:
        value = figures[name]["value"]
        assert value is not None and math.isfinite(value) and value > 0, (name, value)
    for name in RATIOS:
        assert figures[name]["ratio"] is not None and figures[name]["ratio"] > 0, name
    assert figures["events_per_round_trip"]["value"] >= 6  # at least request, reply, forwards, audit
