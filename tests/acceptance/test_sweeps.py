"""Terminated-case sweeps, creditor clue checks and standing watches on the real broker (seed 001 §(二);
失信规定 art. 10(四)), through the topics only.

A worker of its own (manual clock from ``HUB_START``, sweeps every day, ceilings that never hold the test back),
every simulated bank reading its inbox and its sweep lane, and the simulated police.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric

from agents.bank import court_api as bank_api
from agents.bank.ledger import AccountView, BankLedger
from agents.court.adapter import CourtClient, document, officer, person
from agents.process import AgencyProcess
from agents.watchbook import WatchBook, book_path, record_event
from hub.clock import CHINA_TZ
from hub.codec import AvroMessage, default_codec
from hub.envelope import envelope, message
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from hub.working_calendar import WorkingCalendar
from support.ports import free_ports
from tests.acceptance.conftest import financial_codes
from tests.acceptance.hub_http import advance_to, hub_now, wait_row
from tests.integration.kafka_io import produce
from topics.catalog import outbox_name

HUB_START = datetime(2025, 3, 3, 10, tzinfo=CHINA_TZ)  # a Monday
CODEC = default_codec()
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
NOTICE = document("ASSISTANCE_NOTICE", "终本统查协助查询通知书")
RESULT = "cn.court.interop.bank.IntensiveQueryResult"
GROUND = "cn.court.interop.sweep.SweepGroundMet"
HIT = "cn.court.interop.sweep.WatchHit"
NOBODY = "11010519800404003"
NOBODY_ID = NOBODY + ric.calc_check_digit(NOBODY + "?")  # holds no account anywhere


@pytest.fixture(scope="module")
def sweep_hub(applied_settings: HubSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    (web_port,) = free_ports(1)
    settings = applied_settings.model_copy(update={
        "topic_prefix": f"t{secrets.token_hex(4)}.", "app_id": f"hub-{secrets.token_hex(4)}", "web_port": web_port,
        "data_dir": tmp_path_factory.mktemp("sweep-hub"), "clock": "manual", "clock_start": HUB_START.isoformat(),
        "sweep_interval_days": 1, "sweep_ceiling_per_s": 10_000.0,
    })
    asyncio.run(apply_catalog(settings.catalog, settings))
    worker = WorkerProcess(settings, tmp_path_factory.mktemp("sweep-worker") / "worker.log")
    worker.start(timeout=120)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def agencies(sweep_hub: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    settings = sweep_hub.settings
    KeyStore(settings.data_dir).generate(financial_codes())
    args = ["simulate", "banks"]
    for code in financial_codes():
        args += ["--agency", code]
    logs = tmp_path_factory.mktemp("sweep-agencies")
    with AgencyProcess(settings, logs / "banks.log", args), \
            AgencyProcess(settings, logs / "police.log", ["simulate", "police"]):
        yield


@pytest.fixture
async def court(sweep_hub: WorkerProcess, agencies: None) -> Any:
    async with CourtClient(sweep_hub.settings, "京0105", clock=_HubClock(sweep_hub)) as client:
        yield client


class _HubClock:
    """The court builds its requests on the hub's (manual) clock."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker

    def now(self) -> datetime:
        return hub_now(self.worker)

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)


def rich_account(ledgers: dict[str, BankLedger]) -> tuple[str, AccountView]:
    for code, ledger in ledgers.items():
        for acc in ledger.accounts():
            if (acc.status == "NORMAL" and acc.currency == "CNY" and acc.available_fen >= 1_000_000
                    and not acc.freeze_ids and acc.priority_held_fen == 0 and len(acc.holder_id) == 18
                    and acc.holder_id[6:8] in ("19", "20")):
                return code, acc
    raise LookupError("no seeded account fits")


async def wait_msg(court: CourtClient, pred: Any, timeout: float = 90) -> AvroMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in court.received if pred(m)]
        if found:
            return found[-1]
        await court.poll()
    raise TimeoutError("no such message")


def register(court: CourtClient, number: str, subject: dict[str, Any], listing: str | None = None) -> AvroMessage:
    return bank_api.terminated_case(court, case=court.case(number, date(2024, 5, 6)), subject=subject,
                                    officer=OFFICER, assistance_notice=NOTICE, termination_date=date(2025, 2, 28),
                                    listing_id=listing)


async def test_a_sweep_finds_property_the_court_freezes_it_and_resumption_ends_the_sweeps_seed_001_s2_1(
        court: CourtClient, sweep_hub: WorkerProcess, reference_ledgers: dict[str, BankLedger]) -> None:
    """Seed 001 §(二)1: the terminated case is swept through the network; property found is frozen directly; the
    resumption (恢复执行) closes the case's sweeping."""
    code, acc = rich_account(reference_ledgers)
    number = "（2024）京0105执901号"
    reg = register(court, number, person(acc.holder_name, acc.holder_id))
    await court.send(reg)
    result = await wait_msg(court, lambda m: m.schema == RESULT and m.request_id == f"{reg.request_id}.sweep-1"
                            and m.body["complete"])
    assert result.body["property_found"]
    hit = {u["unit_code"]: u for u in result.body["units"]}[code]
    assert hit["state"] == "HIT"
    freeze = bank_api.freeze(court, bank=code, case=court.case(number, date(2024, 5, 6)),
                             subject=person(acc.holder_name, acc.holder_id), officer=OFFICER,
                             account_number=acc.account_number, amount_fen=500_000, end_date=date(2026, 3, 1),
                             ruling=document("RULING", "恢复执行冻结裁定"),
                             assistance_notice=document("ASSISTANCE_NOTICE", "冻结通知"))
    await court.send(freeze)
    (reply,) = await court.wait_for(freeze.request_id, timeout_s=60)
    assert reply.body["status"] == "EXECUTED" and reply.body["frozen"]["amount_fen"] == 500_000
    await court.send(bank_api.case_closed(court, case_number=number, officer=OFFICER, reason="RESUMED"))
    await asyncio.sleep(3)
    advance_to(sweep_hub, hub_now(sweep_hub) + timedelta(days=2))
    await asyncio.sleep(5)
    await court.poll()
    assert not [m for m in court.received if m.request_id.startswith(f"{reg.request_id}.sweep-2")]


async def test_two_empty_sweeps_send_the_art_10_4_notice_with_its_working_day_deadline(
        court: CourtClient, sweep_hub: WorkerProcess) -> None:
    """失信规定 art. 10(四): two network queries after termination found nothing, no clue open: the court is told,
    and the deletion is due within 3 working days (tracked like a list deadline)."""
    number = "（2024）京0105执902号"
    reg = register(court, number, person("王无产", NOBODY_ID), listing="L-902")
    await court.send(reg)
    first = await wait_msg(court, lambda m: m.schema == RESULT and m.request_id == f"{reg.request_id}.sweep-1"
                           and m.body["complete"])
    assert not first.body["property_found"]
    await asyncio.sleep(3)  # the hub counts a complete sweep at its partition's next tick (every second)
    advance_to(sweep_hub, hub_now(sweep_hub) + timedelta(days=1))
    notice = await wait_msg(court, lambda m: m.schema == GROUND and m.request_id == f"{reg.request_id}.art10-4")
    assert notice.body["empty_sweeps"] == 2 and notice.body["listing_id"] == "L-902"
    emitted = notice.body["emitted_at"].astimezone(CHINA_TZ).date()
    due = WorkingCalendar().add_working_days(emitted, 3)
    assert int(notice.body["due_at"].timestamp() * 1000) == due.end_ms
    row = wait_row(sweep_hub, f"{reg.request_id}.art10-4", lambda r: r["state"] == "delivered")
    assert row["due"] == due.end_ms and row["rule"] == "sweep.art10-4.delete.3wd"


async def test_a_creditor_clue_is_checked_through_the_network_at_once_seed_001_s2_2(
        court: CourtClient, reference_ledgers: dict[str, BankLedger]) -> None:
    """Seed 001 §(二)2: the clue's bank is queried on the live path; the reply reaches the court."""
    code, acc = rich_account(reference_ledgers)
    number = "（2024）京0105执903号"
    subject = person(acc.holder_name, acc.holder_id)
    await court.send(register(court, number, subject))
    clue = bank_api.clue_check(court, case=court.case(number, date(2024, 5, 6)), subject=subject, officer=OFFICER,
                               assistance_notice=NOTICE, bank=code, account_number=acc.account_number,
                               provided_by="申请执行人")
    await court.send(clue)
    (reply,) = await court.wait_for(f"{clue.request_id}.{code}", timeout_s=60)
    assert reply.schema.endswith("QueryReply")
    assert acc.account_number in {a["account_number"] for a in reply.body["accounts"]}


def _watched(path: Path, id_number: str) -> bool | None:
    if not path.exists():
        return None
    book = WatchBook(path)
    try:
        return id_number in book.watched()
    finally:
        book.close()


async def wait_watched(path: Path, id_number: str, present: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(_watched, path, id_number) == present:
            return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"watch of {id_number} present={present} not seen at {path}")


async def test_a_watch_hit_reaches_the_court_and_case_and_an_ended_watch_produces_nothing(
        court: CourtClient, sweep_hub: WorkerProcess) -> None:
    """Standing watches: the bank learns of a new account of the watched debtor and reports it at once; the hub
    routes it to the court and case; after the watch ended nothing reaches the court, a late hit is refused."""
    settings = sweep_hub.settings
    number = "（2024）京0105执904号"
    subject = person("王无产", NOBODY_ID)
    await court.send(register(court, number, subject))
    until = hub_now(sweep_hub).date() + timedelta(days=60)
    w = bank_api.watch(court, case=court.case(number, date(2024, 5, 6)), subject=subject, officer=OFFICER,
                       until=until, kinds=["NEW_ACCOUNT"])
    await court.send(w)
    icbc = book_path(settings, "banks", "icbc")
    await wait_watched(icbc, NOBODY_ID, True)
    assert not _watched(book_path(settings, "police", "mps"), NOBODY_ID), "an account watch is not the police's"
    record_event(settings, "banks", "icbc", NOBODY_ID, "NEW_ACCOUNT", "新开户 朝阳支行", hub_now(sweep_hub),
                 account_number="6222020200099990001", amount={"amount_fen": 10_000, "currency": "CNY"})
    (hit,) = await court.wait_for(w.request_id, schema=HIT, timeout_s=60)
    assert hit.body["case_number"] == number and hit.envelope["sender"] == "icbc"
    await court.send(bank_api.watch_ended(court, case_number=number, watch_id=w.request_id, reason="test"))
    await wait_watched(icbc, NOBODY_ID, False)
    record_event(settings, "banks", "icbc", NOBODY_ID, "DEPOSIT", "入账", hub_now(sweep_hub))
    late = message(HIT, envelope(_HubClock(sweep_hub), request_id=w.request_id, sender="icbc", recipient="京0105"), {
        "watch_id": w.request_id, "case_number": number, "id_number": NOBODY_ID, "kind": "DEPOSIT",
        "occurred_at": hub_now(sweep_hub), "detail": "late", "account_number": None, "amount": None,
        "plate_number": None})
    await produce(settings, outbox_name("icbc"), CODEC.encode_message(late), number.encode())
    await asyncio.sleep(5)
    await court.poll()
    assert len([m for m in court.received if m.schema == HIT and m.request_id == w.request_id]) == 1
