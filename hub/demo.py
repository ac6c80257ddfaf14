"""``interop-hub demo``: the main job.

Starts the broker if needed, applies the topic catalog, generates the agencies' sealing keys, runs
the hub worker and the simulated banks and police as their own processes, drives the scenario of
:mod:`hub.demo_scenario` through the topics only, verifies the audit chain, prints a summary and
keeps ``/metrics`` served while it runs (``--duration``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.court.adapter import CourtClient
from hub.audit import verify
from hub.audit_io import read_topic
from hub.broker.server import BrokerStatus, LocalBroker
from hub.codec import default_codec
from hub.console import echo
from hub.demo_scenario import OUTAGE_BANK, TERMINAL, Scenario
from hub.process import ChildProcess, WorkerProcess, http_text
from hub.seal import KeyStore
from hub.security.apply import apply_security
from hub.security.users import admin_settings, as_principal
from hub.settings import HubSettings
from topics.admin import ApplyReport, apply_catalog
from topics.catalog import COURT_GATEWAY, DEFAULT_CATALOG, HUB, Role


@dataclass
class FlowSummary:
    sent: int = 0
    answered: int = 0
    late: int = 0
    rejected: int = 0
    failed: int = 0
    open: int = 0


@dataclass
class Summary:
    broker: str = ""
    topics_created: int = 0
    topics_total: int = 0
    flows: dict[str, FlowSummary] = field(default_factory=dict)
    deadlines_met: int = 0
    deadlines_missed: int = 0
    anomalies: int = 0
    anomalies_resolved: int = 0
    notices_to_courts: int = 0
    notices_overdue: float = 0.0
    sightings: int = 0
    dead_letters: float = 0.0
    audit_records: int = 0
    audit_chain_verified: bool = False
    metrics_url: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["totals"] = asdict(self.total())
        return data

    def total(self) -> FlowSummary:
        t = FlowSummary()
        for f in self.flows.values():
            for k in asdict(t):
                setattr(t, k, getattr(t, k) + getattr(f, k))
        return t


def _metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _summarise(scenario: Scenario, summary: Summary) -> None:
    states: Counter[str] = Counter()
    for flow, ids in scenario.track.sent.items():
        fs = FlowSummary(sent=len(ids))
        for rid in ids:
            row = scenario.worker.http(f"/requests/{rid}")[1]
            state = str(row.get("state", "unknown"))
            states[state] += 1
            if state == "answered":
                fs.answered += 1
            elif state == "answered_late":
                fs.late += 1
            elif state == "rejected":
                fs.rejected += 1
            elif state == "failed":
                fs.failed += 1
            else:
                fs.open += 1
            if row.get("due") is not None and state in TERMINAL:
                if state == "answered":
                    summary.deadlines_met += 1
                elif state == "answered_late":
                    summary.deadlines_missed += 1
            elif row.get("due") is not None and state == "overdue":
                summary.deadlines_missed += 1
        summary.flows[flow] = fs
    summary.anomalies = len(scenario.track.anomaly_ids)
    summary.anomalies_resolved = len(scenario.track.resolved_ids)
    summary.notices_to_courts = len([m for m in scenario.court.received
                                     if m.schema.endswith("AnomalyNotice")])
    summary.sightings = scenario.track.sightings


async def _drive(worker: WorkerProcess, args: argparse.Namespace, spawn: Any) -> Scenario:
    async with CourtClient(as_principal(worker.settings, COURT_GATEWAY), "京0105") as court:
        scenario = Scenario(worker, court, args.rate, args.cases, spawn)
        await scenario.run()
        return scenario


async def _audit(settings: HubSettings) -> tuple[bool, int]:
    report = await verify(default_codec(), read_topic(settings, settings.topic(DEFAULT_CATALOG.one(Role.AUDIT).name)))
    return report.ok, report.records


def _bring_up(settings: HubSettings, plain: bool) -> tuple[BrokerStatus, ApplyReport, HubSettings, str]:
    """Start the broker and apply the catalog; secure unless ``plain``: SASL/SCRAM on every listener, a
    generated credential per principal and the catalog's ACLs.  Returns the hub principal's settings."""
    if plain:
        status = LocalBroker(settings, secure=False).start()
        return status, asyncio.run(apply_catalog(DEFAULT_CATALOG, settings)), settings, "plain (no login)"
    secure = settings.model_copy(update={"security_protocol": "SASL_PLAINTEXT", "sasl_username": None,
                                         "sasl_password": None})
    broker = LocalBroker(secure, secure=True)
    status = broker.start()
    report = asyncio.run(apply_catalog(DEFAULT_CATALOG, admin_settings(secure, broker.admin_password() or "")))
    security = apply_security(secure, DEFAULT_CATALOG, broker=broker)
    mode = f"secure: SASL/SCRAM, a login for each of {security.users} principals, {security.rules} ACL rules"
    return status, report, as_principal(secure, HUB), mode


def _demo(args: argparse.Namespace, settings: HubSettings) -> int:
    started = time.monotonic()
    logs = Path(settings.data_dir) / "logs"
    status, report, hub_settings, mode = _bring_up(settings, args.plain)
    # The demo runs the hub on a manual clock starting now, so that deadlines can be made to come due.
    demo = hub_settings.model_copy(update={"clock": "manual", "clock_start": datetime.now(UTC).isoformat()})
    KeyStore(settings.data_dir).generate([a.code for a in DEFAULT_CATALOG.agencies if a.has_mailbox])
    say = (lambda text: echo(text, err=True)) if args.json else echo
    say(f"broker up at {status.bootstrap} ({mode}); {len(report.created)} topics created; "
        "starting the hub and agencies")
    worker = WorkerProcess(demo, logs / "worker.log")
    financial = [a.code for a in DEFAULT_CATALOG.agencies if a.is_financial and a.code != OUTAGE_BANK]
    bank_args = ["simulate", "banks", *(arg for code in financial for arg in ("--agency", code))]
    agencies = [ChildProcess(demo, logs / "banks.log", bank_args),
                ChildProcess(demo, logs / "police.log", ["simulate", "police"])]
    spawned: list[ChildProcess] = []

    def spawn_bank(code: str) -> ChildProcess:
        proc = ChildProcess(demo, logs / f"{code}.log", ["simulate", "banks", "--agency", code])
        proc.spawn()
        spawned.append(proc)
        return proc

    summary = Summary(broker=status.bootstrap, topics_created=len(report.created), topics_total=len(DEFAULT_CATALOG))
    try:
        worker.start()
        for proc in agencies:
            proc.spawn()
        summary.metrics_url = f"{worker.base_url}/metrics"
        say(f"hub ready; metrics at {summary.metrics_url}; running the scenario")
        scenario = asyncio.run(_drive(worker, args, spawn_bank))
        _summarise(scenario, summary)
        metrics = http_text(summary.metrics_url)
        summary.dead_letters = _metric(metrics, "interop_hub_dead_letters_total")
        summary.notices_overdue = _metric(metrics, "interop_hub_notices_overdue_total")
        summary.audit_chain_verified, summary.audit_records = asyncio.run(_audit(demo))
        remaining = args.duration - (time.monotonic() - started)
        if remaining > 0:
            say(f"serving {summary.metrics_url} for {remaining:.0f} more seconds")
            time.sleep(remaining)
    finally:
        for proc in [*spawned, *agencies]:
            proc.stop()
        worker.stop()
    summary.seconds = round(time.monotonic() - started, 1)
    if args.json:
        echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print(summary)
    total = summary.total()
    ok = summary.audit_chain_verified and total.open == 0 and summary.anomalies_resolved == summary.anomalies
    return 0 if ok else 1


def _print(s: Summary) -> None:
    echo("")
    echo("interop-hub demo summary")
    echo("=" * 72)
    echo(f"{'flow':<24}{'sent':>7}{'answered':>10}{'late':>6}{'rejected':>10}{'failed':>8}{'open':>6}")
    for flow, f in [*s.flows.items(), ("total", s.total())]:
        echo(f"{flow:<24}{f.sent:>7}{f.answered:>10}{f.late:>6}{f.rejected:>10}{f.failed:>8}{f.open:>6}")
    echo("-" * 72)
    echo(f"deadlines met / missed       {s.deadlines_met} / {s.deadlines_missed}")
    echo(f"anomalies (resolved)         {s.anomalies} ({s.anomalies_resolved}); "
         f"notices to courts {s.notices_to_courts}; notices late (24 h) {s.notices_overdue:.0f}")
    echo(f"police sightings delivered   {s.sightings}")
    echo(f"dead letters                 {s.dead_letters:.0f}")
    echo(f"audit chain                  {'verified' if s.audit_chain_verified else 'BROKEN'} "
         f"({s.audit_records} records)")
    echo(f"broker / topics              {s.broker} / {s.topics_total} ({s.topics_created} created this run)")
    echo(f"elapsed                      {s.seconds}s")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("demo", help="run the main job: broker, topics, hub, agencies, scenario, summary")
    parser.add_argument("--duration", type=float, default=0.0, help="keep /metrics served until N seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="court requests per second")
    parser.add_argument("--cases", type=int, default=6, help="bank cases in the scenario")
    parser.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    parser.add_argument("--plain", action="store_true",
                        help="run the broker without logins or ACLs (default: secure, SASL/SCRAM + ACLs)")
    parser.set_defaults(func=_demo)
