"""The main job (`interop-hub demo`, the README's first command) end to end on the real broker."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

from hub.process import settings_env
from tests.conftest import free_ports


def test_demo_json_summary_counts_add_up(broker_settings) -> None:
    """A fresh deployment on the session's broker (own topic prefix, app id and web port)."""
    (web_port,) = free_ports(1)
    settings = broker_settings.model_copy(update={
        "topic_prefix": f"demo{secrets.token_hex(3)}.", "app_id": f"demo-{secrets.token_hex(3)}",
        "web_port": web_port,
    })
    out = subprocess.run([sys.executable, "-m", "hub", "demo", "--json", "--cases", "3"],
                         env={**os.environ, **settings_env(settings)}, capture_output=True, text=True,
                         timeout=420, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    totals = summary["totals"]
    assert totals["sent"] == sum(f["sent"] for f in summary["flows"].values()) > 10
    outcomes = ("answered", "late", "rejected", "failed", "open")
    assert totals["sent"] == sum(totals[k] for k in outcomes)
    assert totals["open"] == 0 and totals["rejected"] == 1 and totals["late"] == 1  # the invalid and the outage
    assert summary["deadlines_met"] + summary["deadlines_missed"] >= totals["answered"]
    assert summary["anomalies"] >= 1 and summary["anomalies_resolved"] == summary["anomalies"]
    assert summary["notices_overdue"] == 0
    assert summary["audit_chain_verified"] and summary["audit_records"] > totals["sent"]
    assert summary["topics_created"] == summary["topics_total"]
