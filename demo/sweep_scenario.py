"""A terminated-case sweep and a standing watch in the main job (seed 001 §(二); ``hub.flows.sweeps``), driven
through the topics as a court would.

The court registers a case terminated for lack of property (终结本次执行程序) whose debtor holds accounts at the
simulated banks, terminated long enough ago for its first sweep to be due at once; the hub sweeps the debtor's
intensive set on the agencies' sweep lanes and the court gets the merged result when property is first found
(the officer views it in time, seed 001 §(一)2).  The bank that is down in the main job never answers, so the
sweep completes when the scenario moves the hub clock past the units' deadline (its unit is ``NO_RESPONSE``).
A standing watch for new accounts of the same debtor goes to the banks of the set; icbc opens an account for the
debtor (the simulators' admin hook, :func:`agents.watchbook.record_event`) and the hit reaches the court.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agents.bank import court_api as bank_api
from agents.court.adapter import document, officer, person
from agents.watchbook import WatchBook, book_path, record_event
from hub.codec import AvroMessage

if TYPE_CHECKING:
    from demo.bank_police_scenario import Scenario

FLOW = "sweep"
RESULT = "cn.court.interop.bank.IntensiveQueryResult"
HIT = "cn.court.interop.sweep.WatchHit"
WATCH_BANK = "icbc"  # where the watched debtor opens a new account
WATCH_DAYS = 60
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")


@dataclass
class SweepOutcome:
    """What the court saw of the sweep and of the watch."""

    case_number: str = ""
    sweep_id: str = ""
    units: int = 0
    found_at: list[str] = field(default_factory=list)  # units that reported property
    no_response: list[str] = field(default_factory=list)  # units silent past their deadline
    complete: bool = False
    viewed: bool = False
    watch_id: str = ""
    watch_kept: bool = False  # the bank had the watch in its book (WatchSubject ADD applied) in time
    watch_hits: int = 0
    hit: str = ""  # the hit's kind and reporting agency

    @property
    def outcome(self) -> str | None:
        """The sweep as the hub counts it (失信规定 art. 10(四)): FOUND, EMPTY or INCONCLUSIVE; None until
        complete."""
        if not self.complete:
            return None
        if self.found_at:
            return "FOUND"
        return "INCONCLUSIVE" if self.no_response else "EMPTY"


def read_result(outcome: SweepOutcome, result: AvroMessage) -> None:
    """The merged IntensiveQueryResult of the sweep, as the court got it."""
    units = result.body["units"]
    outcome.units = len(units)
    outcome.found_at = sorted(u["unit_code"] for u in units if u["state"] == "HIT")
    outcome.no_response = sorted(u["unit_code"] for u in units if u["state"] == "NO_RESPONSE")
    outcome.complete = bool(result.body["complete"])


async def sweep_and_watch(sc: Scenario) -> SweepOutcome:
    """Register the case, wait for the sweep's property feedback and view it, then the watch and its hit."""
    out = SweepOutcome()
    acc = sc.account(WATCH_BANK)
    subject, case = person(acc.holder_name, acc.holder_id), sc.new_case()
    out.case_number = str(case["case_number"])
    terminated = sc.today - timedelta(days=sc.worker.settings.sweep_interval_days + 30)  # due at once
    reg = bank_api.terminated_case(sc.court, case=case, subject=subject, officer=OFFICER,
                                   assistance_notice=document("ASSISTANCE_NOTICE", "终本统查协助查询通知书"),
                                   termination_date=terminated)
    await sc.court.send(reg)
    out.sweep_id = f"{reg.request_id}.sweep-1"
    sc.track.sent[FLOW].append(out.sweep_id)  # the hub's request for the court: it has a row like the court's
    found = await sc.wait_message(lambda m: m.schema == RESULT and m.request_id == out.sweep_id
                           and bool(m.body["property_found"]), 60)
    if found:
        read_result(out, found[-1])
        await sc.court.send(bank_api.property_viewed(sc.court, case_number=out.case_number, officer=OFFICER))
        out.viewed = True
    until = sc.hub_now().date() + timedelta(days=WATCH_DAYS)
    watch = bank_api.watch(sc.court, case=case, subject=subject, officer=OFFICER, until=until, kinds=["NEW_ACCOUNT"])
    await sc.court.send(watch)
    out.watch_id = watch.request_id
    settings = sc.worker.settings
    out.watch_kept = await _watched(book_path(settings, "banks", WATCH_BANK), acc.holder_id)
    if out.watch_kept:
        record_event(settings, "banks", WATCH_BANK, acc.holder_id, "NEW_ACCOUNT", "新开户 朝阳支行", sc.hub_now(),
                     account_number="6222020200099990001", amount={"amount_fen": 10_000, "currency": "CNY"})
        hits = await sc.wait_message(lambda m: m.schema == HIT and m.request_id == out.watch_id, 60)
        out.watch_hits = len(hits)
        if hits:
            out.hit = f"{hits[0].body['kind']} at {hits[0].envelope['sender']}"
    return out


async def sweep_complete(sc: Scenario, out: SweepOutcome) -> None:
    """Once the hub clock passed the units' deadline: the complete result (the down bank NO_RESPONSE)."""
    done = await sc.wait_message(lambda m: m.schema == RESULT and m.request_id == out.sweep_id
                          and bool(m.body["complete"]), 60)
    if done:
        read_result(out, done[0])


def _in_book(path: Path, id_number: str) -> bool:
    if not path.exists():
        return False
    book = WatchBook(path)
    try:
        return id_number in book.watched()
    finally:
        book.close()


async def _watched(path: Path, id_number: str, timeout_s: float = 60.0) -> bool:
    """Whether the bank keeps the watch (WatchSubject ADD applied) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(_in_book, path, id_number):
            return True
        await asyncio.sleep(0.3)
    return False
