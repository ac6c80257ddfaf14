"""`topics apply` / `topics list --live` and the replication settings on the session's single-node broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hub.broker.server import LocalBroker
from hub.process import settings_env
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG


def _cli(settings: HubSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], env={**os.environ, **settings_env(settings)},
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_production_replication_on_one_node_is_refused_naming_the_development_setting(
        local_broker: LocalBroker) -> None:
    """The defaults (3 replicas, min ISR 2) need three brokers: one node says which settings to change, and
    creates nothing."""
    settings = local_broker.settings.model_copy(update={"topic_prefix": "rf3.", "replication_factor": 3,
                                                        "min_insync_replicas": 2})
    out = _cli(settings, "topics", "apply")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "1 live broker" in out.stderr and "HUB_REPLICATION_FACTOR=1 HUB_MIN_INSYNC_REPLICAS=1" in out.stderr
    listed = _cli(settings, "topics", "list", "--live", "--json")
    assert listed.returncode == 0, listed.stderr
    assert all(t["live"] is None for t in json.loads(listed.stdout)), "nothing was created"


def test_live_list_shows_each_topics_replicas_isr_and_leader(local_broker: LocalBroker) -> None:
    settings = local_broker.settings.model_copy(update={"topic_prefix": "rf1."})
    assert settings.replication_factor == 1 and settings.min_insync_replicas == 1  # the session's single node
    applied = _cli(settings, "topics", "apply")
    assert applied.returncode == 0, applied.stderr
    listed = _cli(settings, "topics", "list", "--live")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("rf1.court.requests "))
    assert row.split() == ["rf1.court.requests", "4", "1", "1", "1", "1", "1:4"]
    assert "live: 0 missing, 0 under-replicated partitions" in listed.stdout
    described = json.loads(_cli(settings, "topics", "list", "--live", "--json").stdout)
    assert len(described) == len(DEFAULT_CATALOG)
    assert all(p["replicas"] == [1] and p["isr"] == [1] for t in described for p in t["live"])
