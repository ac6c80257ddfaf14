"""Acceptance fixtures: the hub worker plus simulated agencies as real processes on the real broker."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime

import pytest

from agents.bank.ledger import BankLedger
from agents.court.adapter import CourtClient
from agents.population import Population
from agents.process import AgencyProcess
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from support.ports import free_ports
from topics.catalog import DEFAULT_CATALOG

HUB_TODAY = date(2025, 1, 2)  # the hub worker fixture's manual clock starts on this day (China time)
LATE_BANK = "hfb"  # started late by the intensive-query test, to keep one unit pending


def financial_codes() -> list[str]:
    return [a.code for a in DEFAULT_CATALOG.agencies if a.is_financial]


@pytest.fixture(scope="session")
def banks(hub_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyProcess]:
    """Every simulated bank but one, as one process reading only each bank's own inbox."""
    settings = hub_worker.settings
    KeyStore(settings.data_dir).generate(financial_codes())
    args = ["simulate", "banks"]
    for code in financial_codes():
        if code != LATE_BANK:
            args += ["--agency", code]
    with AgencyProcess(settings, tmp_path_factory.mktemp("banks") / "banks.log", args) as proc:
        yield proc


@pytest.fixture(scope="session")
def reference_ledgers() -> dict[str, BankLedger]:
    """In-memory twins of the simulated ledgers (same seed): the test reads accounts from them."""
    population = Population.generate(2024)
    ledgers = {}
    for code in financial_codes():
        ledger = BankLedger(code)
        ledger.seed(population, as_of=HUB_TODAY)
        ledgers[code] = ledger
    return ledgers


def _own_worker(applied: HubSettings, tmp_path_factory: pytest.TempPathFactory, clock_start: datetime) -> WorkerProcess:
    (web_port,) = free_ports(1)
    settings = applied.model_copy(update={
        "topic_prefix": f"t{secrets.token_hex(4)}.", "app_id": f"hub-{secrets.token_hex(4)}",
        "web_port": web_port, "data_dir": tmp_path_factory.mktemp("own-hub"), "clock": "manual",
        "clock_start": clock_start.isoformat(),
    })
    asyncio.run(apply_catalog(settings.catalog, settings))
    worker = WorkerProcess(settings, tmp_path_factory.mktemp("own-worker") / "worker.log")
    worker.start(timeout=120)
    return worker


@pytest.fixture(scope="module")
def own_hub(request: pytest.FixtureRequest, applied_settings: HubSettings,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """A worker of the test module's own on the shared broker (own topics, app id, data dir and a manual
    clock starting at the module's ``HUB_START``), for tests that move the clock where the session's worker
    must not go."""
    worker = _own_worker(applied_settings, tmp_path_factory, request.module.HUB_START)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
async def own_court(own_hub: WorkerProcess) -> AsyncIterator[CourtClient]:
    """Court 京0105 through the gateway, talking to :func:`own_hub`."""
    async with CourtClient(own_hub.settings, "京0105") as client:
        yield client


#: faust reads these from the worker process's environment: with its default 60 s session timeout every
#: restarted worker would wait a minute for the killed member to be dropped from the group
FAUST_ENV = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "2", "BROKER_REBALANCE_TIMEOUT": "20"}


@pytest.fixture(scope="module")
def fast_rebalance() -> Iterator[None]:
    """Workers started while it is in use notice a killed member within 10 s (modules that SIGKILL workers)."""
    patch = pytest.MonkeyPatch()
    for name, value in FAUST_ENV.items():
        patch.setenv(name, value)
    try:
        yield
    finally:
        patch.undo()
