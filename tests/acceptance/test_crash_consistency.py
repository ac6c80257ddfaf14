"""Crash consistency: freezes and deductions keep flowing while the hub worker is SIGKILLed and the broker restarts.

A broker of this module's own (the shared session broker is not disturbed), a hub worker and three
simulated banks.  A court sends freezes and deductions against seeded accounts while a chaos task
kills the worker with SIGKILL several times (restarting it each time) and restarts the broker once.
The court resends whatever it has no answer for (the at-least-once contract; the hub and the banks
deduplicate by request id).  Afterwards every request is answered, none is lost, and each bank's
ledger reconciles exactly: one FREEZE effect per freeze request, one DEDUCT per deduction, totals
equal to the accepted requests — no duplicate side effect.  The worker's /metrics and every log
carry no resident ID, account number or phone number.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.bank import court_api as bank_api
from agents.bank.ledger import AccountView, BankLedger
from agents.bank.simulator import ledger_path
from agents.court.adapter import CourtClient, document, officer, person
from agents.population import Population
from agents.process import AgencyProcess
from hub.audit_io import verify_deployment_log
from hub.broker.server import LocalBroker
from hub.clock import SystemClock, china_today
from hub.codec import AvroMessage, default_codec
from hub.process import WorkerProcess, http_text
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from support.ports import free_ports
from tests.conftest import SettingsFactory, stop_at_exit

BANKS = ("icbc", "ccb", "abc")
OFFICER = officer("王执行", "13912345678", "京法执证0105-0077")
FREEZE_FEN, DEDUCT_FEN = 1_000, 700


@dataclass
class Chaos:
    kills: int = 0
    worker_restarts: int = 0
    broker_restarts: int = 0
    events: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def stack(new_broker_settings: SettingsFactory, tmp_path_factory: pytest.TempPathFactory,
          fast_rebalance: None) -> Iterator[
        tuple[HubSettings, LocalBroker, WorkerProcess, AgencyProcess]]:
    (web_port,) = free_ports(1)
    settings = new_broker_settings(app_id=f"crash-{secrets.token_hex(3)}", web_port=web_port)
    broker = LocalBroker(settings)
    stop_at_exit(broker)
    logs = tmp_path_factory.mktemp("crash")
    broker.start()
    worker = WorkerProcess(settings, logs / "worker.log")
    args = ["simulate", "banks", *[a for b in BANKS for a in ("--agency", b)], "--heartbeat-interval", "2"]
    banks = AgencyProcess(settings, logs / "banks.log", args)
    try:
        asyncio.run(apply_catalog(settings.catalog, settings))
        KeyStore(settings.data_dir).generate(list(BANKS))
        worker.start(timeout=120)
        banks.spawn()
        yield settings, broker, worker, banks
    finally:
        banks.stop()
        worker.stop()
        broker.stop()


def _accounts(settings: HubSettings) -> dict[str, list[AccountView]]:
    """Seeded accounts (same seed and day as the simulators) with money to freeze and deduct."""
    population = Population.generate(2024)
    out = {}
    for code in BANKS:
        ledger = BankLedger(code)
        ledger.seed(population, as_of=china_today(SystemClock()))
        out[code] = [a for a in ledger.accounts()
                     if a.status == "NORMAL" and a.currency == "CNY" and a.available_fen >= 10 * FREEZE_FEN
                     and not a.freeze_ids and a.priority_held_fen == 0 and not a.priority_review_pending
                     and len(a.holder_id) == 18 and a.holder_id[6:8] in ("19", "20")]
        ledger.close()
    return out


def _load(court: CourtClient, accounts: dict[str, list[AccountView]], per_bank: int) -> list[AvroMessage]:
    """Alternate freezes and deductions, each on an account of its own."""
    end = china_today(SystemClock()) + timedelta(days=180)
    msgs: list[AvroMessage] = []
    for code in BANKS:
        for i, acc in enumerate(accounts[code][:per_bank]):
            case = court.case(f"（2024）京0105执{9000 + len(msgs)}号", date(2024, 3, 1))
            kwargs: dict[str, Any] = dict(bank=code, case=case, subject=person(acc.holder_name, acc.holder_id),
                                          officer=OFFICER, account_number=acc.account_number,
                                          ruling=document("RULING", f"C{len(msgs)}"),
                                          assistance_notice=document("ASSISTANCE_NOTICE", f"N{len(msgs)}"))
            if i % 2 == 0:
                msgs.append(bank_api.freeze(court, amount_fen=FREEZE_FEN, end_date=end, **kwargs))
            else:
                msgs.append(bank_api.deduct(court, amount_fen=DEDUCT_FEN, **kwargs))
    return msgs


def _answered(court: CourtClient) -> dict[str, AvroMessage]:
    return {m.request_id: m for m in court.received}


async def _chaos(worker: WorkerProcess, broker: LocalBroker, chaos: Chaos, kills: int) -> None:
    t0 = time.monotonic()
    for n in range(kills):
        await asyncio.sleep(3)
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(worker.proc.wait, 30)
        chaos.kills += 1
        chaos.events.append(f"SIGKILL worker pid {worker.pid}")
        if n == 1:  # the broker goes down while the worker is down, and comes back
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)
            chaos.broker_restarts += 1
            chaos.events.append("broker restarted")
        worker.spawn()
        await asyncio.to_thread(worker.wait_healthy, 120)
        chaos.worker_restarts += 1
        chaos.events.append(f"worker healthy again at {time.monotonic() - t0:.0f} s")


async def _drive(settings: HubSettings, worker: WorkerProcess, broker: LocalBroker, per_bank: int, kills: int,
                 deadline_s: float) -> tuple[list[AvroMessage], dict[str, AvroMessage], Chaos, int]:
    chaos = Chaos()
    resends = 0
    async with CourtClient(settings, "京0105") as court:
        msgs = _load(court, _accounts(settings), per_bank)
        chaos_task = asyncio.create_task(_chaos(worker, broker, chaos, kills))
        for i, msg in enumerate(msgs):  # the load is spread over the chaos
            await _send(court, msg)
            if i % 4 == 3:  # and the court resends some requests anyway: dedup by request id must hold
                await _send(court, msgs[i - 2])
                resends += 1
            await _poll(court, 0.4)
        started = time.monotonic()
        last_resend = time.monotonic()
        while time.monotonic() - started < deadline_s:
            await _poll(court)
            missing = [m for m in msgs if m.request_id not in _answered(court)]
            if not missing and chaos_task.done():
                break
            if missing and time.monotonic() - last_resend > 12 and worker.running():
                for m in missing:  # no answer yet: the court sends the same request again
                    await _send(court, m)
                resends += len(missing)
                last_resend = time.monotonic()
        await chaos_task
        return msgs, _answered(court), chaos, resends


async def _send(court: CourtClient, msg: AvroMessage) -> None:
    for _ in range(60):  # the broker may be restarting
        try:
            await court.send(msg)
            return
        except Exception:  # noqa: BLE001 - aiokafka raises several kinds while the broker is away
            await asyncio.sleep(1)
    raise TimeoutError(f"could not send {msg.request_id}")


async def _poll(court: CourtClient, timeout_s: float = 1.0) -> None:
    try:
        await court.poll(timeout_s)
    except Exception:  # noqa: BLE001 - as above, while the broker restarts
        await asyncio.sleep(1)


PERSONAL = re.compile(r"(?<!\d)(\d{17}[\dX]|\d{16,32}|1[3-9]\d{9})(?!\d)")


def _reconcile(settings: HubSettings, msgs: list[AvroMessage], answers: dict[str, AvroMessage]) -> dict[str, int]:
    figures = {"effects": 0, "duplicates": 0, "frozen_fen": 0, "deducted_fen": 0}
    for code in BANKS:
        ledger = BankLedger(code, ledger_path(settings, code))
        try:
            effects = [e for e in ledger.effects() if e.request_id]
            totals = ledger.totals()
        finally:
            ledger.close()
        ours = [m for m in msgs if m.envelope["recipient"] == code]
        by_request: dict[str, list[Any]] = {}
        for e in effects:
            by_request.setdefault(str(e.request_id), []).append(e)
        assert set(by_request) <= {m.request_id for m in ours}, "no effect without a request"
        for m in ours:
            reply = answers[m.request_id]
            kind = "FREEZE" if m.schema.endswith("FreezeRequest") else "DEDUCT"
            got = by_request.get(m.request_id, [])
            figures["duplicates"] += max(0, len(got) - 1)
            assert reply.body.get("status") == "EXECUTED", (m.request_id, reply.schema, reply.body)
            assert [(e.kind, e.amount_fen) for e in got] == [(kind, FREEZE_FEN if kind == "FREEZE" else DEDUCT_FEN)]
        figures["effects"] += len(effects)
        n_freeze = sum(m.schema.endswith("FreezeRequest") for m in ours)
        n_deduct = len(ours) - n_freeze
        assert totals.deducted_fen == n_deduct * DEDUCT_FEN
        assert sum(totals.frozen_fen_by_court.values()) == n_freeze * FREEZE_FEN
        figures["frozen_fen"] += n_freeze * FREEZE_FEN
        figures["deducted_fen"] += totals.deducted_fen
    return figures


def _run(stack: Any, per_bank: int, kills: int, deadline_s: float) -> None:
    settings, broker, worker, banks = stack
    t0 = time.monotonic()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the court's client complains while the broker is away
    msgs, answers, chaos, resends = asyncio.run(_drive(settings, worker, broker, per_bank, kills, deadline_s))
    lost = [m.request_id for m in msgs if m.request_id not in answers]
    assert not lost, f"{len(lost)} requests never answered"
    figures = _reconcile(settings, msgs, answers)
    print(f"\nrequests: {len(msgs)}; worker SIGKILLs: {chaos.kills}; worker restarts: {chaos.worker_restarts}; "
          f"broker restarts: {chaos.broker_restarts}; court resends: {resends}; lost: {len(lost)}; "
          f"duplicate effects: {figures['duplicates']}; effects: {figures['effects']}; "
          f"frozen {figures['frozen_fen']} fen, deducted {figures['deducted_fen']} fen; {time.monotonic() - t0:.0f} s\n"
          f"chaos: {'; '.join(chaos.events)}")
    assert chaos.kills >= 3 and chaos.broker_restarts == 1 and figures["duplicates"] == 0
    # every audit chain continued exactly after each SIGKILL (no fork, no gap) and matches the signed heads
    report = asyncio.run(verify_deployment_log(settings, default_codec()))
    assert report.ok and report.heads, [str(f) for f in report.broken]
    print(f"audit: {len(report.chains)} chains, {report.entries} entries, {len(report.heads)} signed heads, intact")
    # no personal data in metric labels or in any log line
    metrics = http_text(worker.base_url + "/metrics")
    labels = " ".join(re.findall(r"\{([^}]*)\}", metrics))
    assert not PERSONAL.findall(labels), PERSONAL.findall(labels)[:5]
    secrets_used = {m.body["subject"]["id_number"] for m in msgs} | {m.body["account_number"] for m in msgs}
    secrets_used.add(OFFICER["phone"])
    for log in (worker.log_path, banks.log_path):
        text = Path(log).read_text(encoding="utf-8", errors="replace")
        assert not [s for s in secrets_used if s in text], f"personal data in {log}"


def test_no_request_is_lost_and_no_bank_effect_is_duplicated_across_kills_and_a_broker_restart(stack) -> None:
    """SIGKILL the worker 3 times and restart the broker once under load: all answered, ledgers reconcile."""
    _run(stack, per_bank=16, kills=3, deadline_s=240)  # ends as soon as all are answered


@pytest.mark.bench
def test_soak_crash_consistency(stack) -> None:
    """The same, longer: more requests and more kills (run with --bench)."""
    _run(stack, per_bank=60, kills=8, deadline_s=400)
