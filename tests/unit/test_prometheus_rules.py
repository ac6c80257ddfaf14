"""Alert rules: promtool checks their syntax and runs their unit tests (prometheus/alerts_test.yml)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client import generate_latest

from hub.metrics import build_metrics

PROM = Path(__file__).resolve().parents[2] / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: install Debian's `prometheus` package (./dev test installs it)"
    return path


def test_alert_rules_are_valid() -> None:
    out = subprocess.run([_promtool(), "check", "rules", str(PROM / "alerts.yml")], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_alert_rule_unit_tests_pass() -> None:
    out = subprocess.run([_promtool(), "test", "rules", "alerts_test.yml"], cwd=PROM, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_every_hub_metric_used_by_a_rule_exists() -> None:
    exposed = generate_latest(build_metrics().registry).decode()
    rules = (PROM / "alerts.yml").read_text(encoding="utf-8")
    for name in set(re.findall(r"interop_hub_[a-z_]+", rules)):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        assert base in exposed, f"{name} is used by an alert rule but the hub does not export it"
    assert "process_start_time_seconds" in exposed
