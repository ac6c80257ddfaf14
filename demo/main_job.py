"""``python -m demo``: the main job (what ``./dev up`` runs).

Starts the broker if needed (secure unless ``--plain``), applies the topic catalog, generates the
agencies' sealing keys, runs the hub worker, the simulated banks, police, credit platform and a
joint-punishment unit as their own processes and a real Prometheus beside them, drives the scenario of
:mod:`demo.bank_police_scenario` through the topics only (progress on stderr), verifies the audit chain, prints
a summary (:mod:`demo.summary`) and keeps ``/metrics`` and Prometheus up while it runs
(``--duration``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from agents.court.adapter import CourtClient
from agents.process import AgencyProcess
from demo.bank_police_scenario import OUTAGE_BANK, STEPS, Scenario
from demo.prometheus import DemoPrometheus
from demo.summary import Summary, render, summarise
from hub.audit_io import verify_deployment_log
from hub.broker.server import BrokerStatus, LocalBroker
from hub.cli import program_parser, run
from hub.codec import default_codec
from hub.console import echo
from hub.metrics import sample_sum
from hub.process import WorkerProcess, http_text
from hub.seal import KeyStore
from hub.security.apply import apply_security
from hub.security.users import admin_settings, as_principal
from hub.settings import HubSettings
from hub.topic_admin import ApplyReport, apply_catalog
from topics.catalog import COURT_GATEWAY, DEFAULT_CATALOG, HUB


async def _drive(worker: WorkerProcess, args: argparse.Namespace, spawn: Any,
                 on_step: Callable[[str], None]) -> Scenario:
    async with CourtClient(as_principal(worker.settings, COURT_GATEWAY), "京0105") as court:
        scenario = Scenario(worker, court, args.rate, args.cases, spawn)
        await scenario.run(on_step)
        return scenario


@contextmanager
def _progress(plain: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar of the scenario's steps on a terminal; one plain line per step otherwise."""
    if plain or not sys.stderr.isatty():
        done = [0]

        def line(label: str) -> None:
            done[0] += 1
            echo(f"[{done[0]}/{len(STEPS)}] {label}", err=True)

        yield line
        return
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scenario", total=len(STEPS))

        def advance(label: str) -> None:
            progress.update(task, advance=1, description=label)

        yield advance


async def _audit(settings: HubSettings) -> tuple[bool, int]:
    """Every chain of the audit log and every tree head the hub signed: intact?  And how many entries."""
    report = await verify_deployment_log(settings, default_codec())
    return report.ok and bool(report.heads), report.entries


def _bring_up(settings: HubSettings, plain: bool) -> tuple[BrokerStatus, ApplyReport, HubSettings, str]:
    """Start the broker and apply the catalog; secure unless ``plain``: SASL/SCRAM on every listener, a
    generated credential per principal and the catalog's ACLs.  Returns the hub principal's settings."""
    if plain:
        status = LocalBroker(settings, secure=False).start()
        return status, asyncio.run(apply_catalog(settings.catalog, settings)), settings, "plain (no login)"
    secure = settings.model_copy(update={"security_protocol": "SASL_PLAINTEXT", "sasl_username": None,
                                         "sasl_password": None})
    broker = LocalBroker(secure, secure=True)
    status = broker.start()
    report = asyncio.run(apply_catalog(secure.catalog, admin_settings(secure, broker.admin_password() or "")))
    security = apply_security(secure, secure.catalog, broker=broker)
    mode = f"secure: SASL/SCRAM, a login for each of {security.users} principals, {security.rules} ACL rules"
    return status, report, as_principal(secure, HUB), mode


def _main_job(args: argparse.Namespace, settings: HubSettings) -> int:
    started = time.monotonic()
    # the main job runs one broker node: every record on it alone (a replicated cluster: see the README)
    settings = settings.model_copy(update={"replication_factor": 1, "min_insync_replicas": 1})
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
    agencies = [AgencyProcess(demo, logs / "banks.log", bank_args),
                AgencyProcess(demo, logs / "police.log", ["simulate", "police"]),
                AgencyProcess(demo, logs / "credit.log", ["simulate", "credit"]),
                AgencyProcess(demo, logs / "joint.log", ["simulate", "joint", "--unit", "caac"])]
    prometheus = DemoPrometheus(settings.data_dir, demo.web_port, host=demo.web_host, port=demo.prometheus_port)
    spawned: list[AgencyProcess] = []

    def spawn_bank(code: str) -> AgencyProcess:
        proc = AgencyProcess(demo, logs / f"{code}.log", ["simulate", "banks", "--agency", code])
        proc.spawn()
        spawned.append(proc)
        return proc

    summary = Summary(broker=status.bootstrap, security=mode.split(":")[0], topics_created=len(report.created),
                      topics_total=len(DEFAULT_CATALOG))
    try:
        worker.start()
        for proc in agencies:
            proc.spawn()
        summary.metrics_url = f"{worker.base_url}/metrics"
        if prometheus.start() and prometheus.wait_for_scrape():
            summary.prometheus_url = prometheus.url
        say(f"hub ready; metrics at {summary.metrics_url}; prometheus at {summary.prometheus_url or '-'}; "
            "running the scenario")
        scenario_started = time.monotonic()
        with _progress(args.json) as on_step:
            scenario = asyncio.run(_drive(worker, args, spawn_bank, on_step))
        summary.scenario_seconds = round(time.monotonic() - scenario_started, 1)
        summarise(scenario, summary)
        metrics = http_text(summary.metrics_url)
        summary.dead_letters = sample_sum(metrics, "interop_hub_dead_letters_total")
        summary.notices_overdue = sample_sum(metrics, "interop_hub_notices_overdue_total")
        summary.audit_chain_verified, summary.audit_records = asyncio.run(_audit(demo))
        if summary.prometheus_url:
            time.sleep(2)  # a rule evaluation after the last scrape
            summary.alerts = [f"{a.name} {a.state}" + (f" ({a.labels})" if a.labels else "")
                              for a in prometheus.alerts()]
        remaining = args.duration - (time.monotonic() - started)
        if remaining > 0:
            say(f"serving {summary.metrics_url} and {summary.prometheus_url or 'no prometheus'} for "
                f"{remaining:.0f} more seconds")
            time.sleep(remaining)
    finally:
        prometheus.stop()
        for proc in [*spawned, *agencies]:
            proc.stop()
        worker.stop()
    summary.seconds = round(time.monotonic() - started, 1)
    if args.json:
        echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        render(summary)
    return 0 if summary.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = program_parser("python -m demo",
                            "Run the main job: broker, topics, hub, agencies, scenario, summary.")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="keep /metrics and Prometheus served until N seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="court requests per second")
    parser.add_argument("--cases", type=int, default=6, help="bank cases in the scenario")
    parser.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    parser.add_argument("--plain", action="store_true",
                        help="run the broker without logins or ACLs (default: secure, SASL/SCRAM + ACLs)")
    parser.set_defaults(func=_main_job)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m demo [...]``: parsing, logging and exit codes as every command of the hub (:func:`hub.cli.run`)."""
    return run(build_parser(), argv)
