"""The main job (`python -m demo`, what `./dev up` runs) end to end on the real broker."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from hub.broker.server import LocalBroker
from hub.process import settings_env
from hub.settings import HubSettings
from support.ports import free_ports
from tests.conftest import SettingsFactory, stop_at_exit

ROOT = Path(__file__).resolve().parents[2]  # demo/ is not installed: it runs from the checkout


def _run_demo(settings: HubSettings, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "demo", "--json", "--cases", "3", *args],
                         cwd=ROOT, env={**os.environ, **settings_env(settings)}, capture_output=True,
                         text=True, timeout=420, check=False)
    assert out.returncode == 0, f"{out.stderr[-3000:]}\nsummary (which check failed): {out.stdout[-4000:]}"
    summary: dict[str, Any] = json.loads(out.stdout)
    return summary


def test_the_main_job_runs_secure_by_default(new_broker_settings: SettingsFactory) -> None:
    """`./dev up` on a fresh machine: its own broker, SASL/SCRAM on every listener, a login per principal,
    the catalog's ACLs; every flow of the scenario still completes."""
    (web_port,) = free_ports(1)
    settings = new_broker_settings(web_port=web_port, app_id=f"demo-{secrets.token_hex(3)}")
    broker = LocalBroker(settings.model_copy(update={"security_protocol": "SASL_PLAINTEXT"}), secure=True)
    stop_at_exit(broker)
    try:
        summary = _run_demo(settings)
        assert broker.status().secure and broker.status().up
        assert summary["totals"]["open"] == 0 and summary["audit_chain_verified"]
        assert summary["totals"]["answered"] >= 10
        # an operator can trust an ERROR line: a whole main job (outage included) writes none
        log = (settings.data_dir / "logs" / "worker.log").read_text(encoding="utf-8", errors="replace")
        errors = [line for line in log.splitlines() if "[ERROR]" in line or " ERROR " in line or "[CRITICAL]" in line]
        assert not errors, errors[:10]
    finally:
        broker.stop()


def test_demo_json_summary_counts_add_up(broker_settings: HubSettings) -> None:
    """A fresh deployment on the session's (plain) broker: own topic prefix, app id and web port."""
    (web_port,) = free_ports(1)
    settings = broker_settings.model_copy(update={
        "topic_prefix": f"demo{secrets.token_hex(3)}.", "app_id": f"demo-{secrets.token_hex(3)}",
        "web_port": web_port,
    })
    summary = _run_demo(settings, "--plain")
    totals = summary["totals"]
    assert totals["sent"] == sum(f["sent"] for f in summary["flows"].values()) > 10
    outcomes = ("answered", "late", "rejected", "failed", "open")
    assert totals["sent"] == sum(totals[k] for k in outcomes)
    # rejected: the invalid freeze and the listing of a minor (失信规定 art. 4); late: the outage
    assert totals["open"] == 0 and totals["rejected"] == 2 and totals["late"] == 1
    assert summary["flows"]["list decision"] == {"sent": 4, "answered": 3, "late": 0, "rejected": 1, "failed": 0,
                                                 "open": 0}
    assert summary["list_deletion_due"] and summary["list_digest_matches"]
    assert summary["flows"]["limited freeze"]["answered"] == 1  # 限额冻结 (000 §10)
    assert summary["deadlines_met"] + summary["deadlines_missed"] >= totals["answered"]
    assert summary["anomalies"] >= 1 and summary["anomalies_resolved"] == summary["anomalies"]
    assert summary["notices_overdue"] == 0
    assert summary["audit_chain_verified"] and summary["audit_records"] > totals["sent"]
    assert summary["topics_created"] == summary["topics_total"]
    # seed 001 §(二): a terminated case swept through its intensive set finds the debtor's property; the down
    # bank's unit is NO_RESPONSE at its deadline; a standing watch's hit reaches the court
    assert summary["flows"]["sweep"] == {"sent": 1, "answered": 1, "late": 0, "rejected": 0, "failed": 0, "open": 0}
    assert summary["sweep_outcome"] == "FOUND" and "icbc" in summary["sweep_found_at"] and summary["sweep_viewed"]
    assert summary["sweep_no_response"] == ["cgb"] and summary["sweep_units"] >= 25
    assert summary["watch_hits"] == 1 and summary["watch_hit"] == "NEW_ACCOUNT at icbc"
