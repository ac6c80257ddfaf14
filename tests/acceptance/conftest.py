"""Acceptance fixtures: the hub worker plus simulated agencies as real processes on the real broker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from agents.bank.ledger import BankLedger
from agents.population import Population
from hub.process import ChildProcess, WorkerProcess
from hub.seal import KeyStore
from topics.catalog import DEFAULT_CATALOG

HUB_TODAY = date(2025, 1, 2)  # the hub worker fixture's manual clock starts on this day (China time)
LATE_BANK = "hfb"  # started late by the intensive-query test, to keep one unit pending


def financial_codes() -> list[str]:
    return [a.code for a in DEFAULT_CATALOG.agencies if a.is_financial]


@pytest.fixture(scope="session")
def banks(hub_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildProcess]:
    """Every simulated bank but one, as one process reading only each bank's own inbox."""
    settings = hub_worker.settings
    KeyStore(settings.data_dir).generate(financial_codes())
    args = ["simulate", "banks"]
    for code in financial_codes():
        if code != LATE_BANK:
            args += ["--agency", code]
    proc = ChildProcess(settings, tmp_path_factory.mktemp("banks") / "banks.log", args)
    proc.spawn()
    try:
        yield proc
    finally:
        proc.stop()


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
