"""The main job's scenario, driven only through topics as the courts would (``python -m demo``).

The dishonest-debtor list (:mod:`demo.list_scenario`); a terminated-case sweep and a standing watch
(:mod:`demo.sweep_scenario`); cases with intensive queries, freezes and deductions at the simulated
banks; police measures and their sightings and releases; and one bank outage that produces an anomaly
notice, an overdue request, a late answer and a resolution.
The hub runs on a manual clock that the scenario moves forward to make deadlines come due.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from agents.bank import court_api as bank_api
from agents.bank.ledger import AccountView, BankLedger
from agents.court.adapter import CourtClient, document, officer, person
from agents.police import court_api as police
from agents.police.world import PoliceWorld
from agents.population import Population
from agents.process import AgencyProcess
from demo.list_scenario import ListOutcome, list_cases
from demo.sweep_scenario import SweepOutcome, sweep_and_watch, sweep_complete
from hub.clock import CHINA_TZ
from hub.codec import AvroMessage
from hub.process import WorkerProcess

OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
OUTAGE_BANK = "cgb"
HOUR = 3600
NOTICE = "cn.court.interop.ops.AnomalyNotice"


@dataclass
class Tracker:
    """Every request the demo sent, by flow, with what came back."""

    sent: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    anomaly_ids: set[str] = field(default_factory=set)
    resolved_ids: set[str] = field(default_factory=set)
    sightings: int = 0

    def add(self, flow: str, msg: AvroMessage) -> AvroMessage:
        self.sent[flow].append(msg.request_id)
        return msg


class Scenario:
    def __init__(self, worker: WorkerProcess, court: CourtClient, rate: float, cases: int,
                 spawn_bank: Callable[[str], AgencyProcess]) -> None:
        self.worker, self.court, self.cases = worker, court, cases
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.spawn_bank = spawn_bank
        self.track = Tracker()
        self.case_numbers = itertools.count(1001)
        self.today = self.hub_now().astimezone(CHINA_TZ).date()
        population = Population.generate(2024)
        self.ledgers: dict[str, BankLedger] = {}
        for code in ("icbc", "ccb", "abc", "boc", "cmb", OUTAGE_BANK):
            ledger = BankLedger(code)
            ledger.seed(population, as_of=self.today)
            self.ledgers[code] = ledger
        self.world = PoliceWorld.generate(2024)
        self.used: set[str] = set()
        self.release_later: tuple[str, dict[str, Any], dict[str, Any]] | None = None
        self.list_outcome = ListOutcome()
        self.sweep = SweepOutcome()

    def hub_now(self) -> datetime:
        _, body = self.worker.http("/clock")
        return datetime.fromisoformat(body["now"])

    def advance(self, seconds: int) -> None:
        self.worker.http("/clock", data={"advance_seconds": seconds})

    def new_case(self) -> dict[str, Any]:
        return self.court.case(f"（{self.today.year - 1}）京0105执{next(self.case_numbers)}号",
                               date(self.today.year - 1, 3, 1))

    def account(self, bank: str) -> AccountView:
        for acc in self.ledgers[bank].accounts():
            if (acc.account_number not in self.used and acc.status == "NORMAL" and acc.currency == "CNY"
                    and acc.available_fen >= 500_000 and not acc.freeze_ids and not acc.priority_review_pending
                    and acc.priority_held_fen == 0 and acc.holder_id[6:8] in ("19", "20")):
                self.used.add(acc.account_number)
                return acc
        raise LookupError(f"no free account at {bank}")

    async def send(self, flow: str, msg: AvroMessage) -> str:
        self.track.add(flow, msg)
        await self.court.send(msg)
        if self.interval:
            await asyncio.sleep(self.interval)
        return msg.request_id

    async def answer(self, request_id: str, schema: str | None = None, timeout_s: float = 60.0) -> AvroMessage:
        return (await self.court.wait_for(request_id, schema=schema, timeout_s=timeout_s))[0]

    # --- flows ------------------------------------------------------------------------------------------
    async def bank_cases(self) -> None:
        banks = ["icbc", "ccb", "abc", "boc", "cmb"]
        ruling, notice = document("RULING", "执行裁定书"), document("ASSISTANCE_NOTICE", "协助通知")
        cases = []
        for i in range(self.cases):
            bank = banks[i % len(banks)]
            acc = self.account(bank)
            subj, case = person(acc.holder_name, acc.holder_id), self.new_case()
            iq = bank_api.intensive_query(self.court, case=case, subject=subj, officer=OFFICER,
                                          assistance_notice=document("ASSISTANCE_NOTICE", "集约查询"))
            await self.send("intensive query", iq)
            # the first case asks for more than the account holds: a limited freeze (限额冻结, 000 §10)
            limited = i == 0
            freeze = bank_api.freeze(self.court, bank=bank, case=case, subject=subj, officer=OFFICER,
                                     account_number=acc.account_number,
                                     amount_fen=acc.available_fen + 123_456 if limited else 300_000,
                                     end_date=self.today + timedelta(days=300), ruling=ruling,
                                     assistance_notice=notice)
            await self.send("limited freeze" if limited else "freeze", freeze)
            reply = await self.answer(freeze.request_id)
            fid = reply.body.get("freeze_id")
            if fid:
                deduct = bank_api.deduct(
                    self.court, bank=bank, case=case, subject=subj, officer=OFFICER, account_number=acc.account_number,
                    amount_fen=100_000, freeze_id=fid, ruling=ruling, assistance_notice=notice)
                await self.send("deduct", deduct)
                await self.answer(deduct.request_id)
            cases.append((iq.request_id, case, subj, banks[(i + 1) % len(banks)]))
        # every unit but the one that is down answers; the officer views the property feedback in time
        for rid, case, _subj, _bank in cases:
            await self.wait_message(lambda m, rid=rid: m.request_id == rid  # type: ignore[misc]
                             and m.schema.endswith("IntensiveQueryResult")
                             and {u["unit_code"] for u in m.body["units"] if u["state"] == "PENDING"} <= {OUTAGE_BANK},
                             60)
            await self.court.send(bank_api.property_viewed(self.court, case_number=case["case_number"],
                                                           officer=OFFICER))
        # the down bank's units reach their deadline (5 working days, 004 §13): NO_RESPONSE, the results complete
        due = max(int(self.row(rid).get("due") or 0) for rid, *_ in cases)
        self.advance(max(int(due / 1000 - self.hub_now().timestamp()), 0) + 60)
        for rid, case, subj, bank in cases:
            await self.wait_message(lambda m, rid=rid: m.request_id == rid  # type: ignore[misc]
                             and m.schema.endswith("IntensiveQueryResult") and bool(m.body["complete"]), 60)
            # seed 001: the court queries units of the intensive set itself only once the result is complete
            await self.send("query", bank_api.query(self.court, bank=bank, case=case, subject=subj, officer=OFFICER,
                                                    assistance_notice=document("ASSISTANCE_NOTICE", "查询")))
        # one invalid request: the court is told exactly what is wrong
        acc = self.account("icbc")
        bad = bank_api.freeze(self.court, bank="icbc", case=self.new_case(),
                              subject=person(acc.holder_name, acc.holder_id),
                              officer=OFFICER, account_number=acc.account_number, amount_fen=1,
                              end_date=self.today + timedelta(days=30), ruling=ruling, assistance_notice=notice)
        bad.body["amount"]["amount_fen"] = -100
        await self.send("freeze", bad)

    async def police_cases(self) -> None:
        residents = sorted((r for r in self.world.residents.values() if not r.person.is_minor_on(self.today)),
                           key=lambda r: r.person.id_number)
        for i, r in enumerate(residents[: max(2, self.cases // 2)]):
            subj, case = person(r.person.name, r.person.id_number, r.person.gender), self.new_case()
            await self.send("police look-up", police.identity_lookup(self.court, case=case, subject=subj,
                                                                     officer=OFFICER))
            restriction = police.exit_restriction(
                self.court, case=case, subject=subj, officer=OFFICER,
                decision=document("EXIT_RESTRICTION_DECISION", f"限制出境决定书{i}"),
                control_from=self.today, control_to=self.today + timedelta(days=30))
            await self.send("police measure", restriction)
            placed = await self.answer(restriction.request_id, "cn.court.interop.police.MeasureReply")
            if i == 0 and placed.body.get("measure_id"):
                self.release_later = (placed.body["measure_id"], case, subj)
        owner_vehicle = next(v for v in self.world.vehicles if self.world.resident(v.owner_id) and not v.mortgagee)
        owner = self.world.resident(owner_vehicle.owner_id)
        assert owner is not None  # noqa: S101 - chosen by the filter above
        seizure = police.vehicle_seizure(
            self.court, case=self.new_case(), subject=person(owner.person.name, owner.person.id_number),
            officer=OFFICER, plate_number=owner_vehicle.plate_number, vin=owner_vehicle.vin,
            ruling=document("RULING", "查封裁定书"), assistance_notice=document("ASSISTANCE_NOTICE", "协助查封"))
        await self.send("police measure", seizure)

    async def outage(self) -> None:
        """002 §4(五): a bank goes silent; notice, deadline, recovery, resolution."""
        bank = self.spawn_bank(OUTAGE_BANK)
        bank.stop()  # the bank is down from now on
        acc = self.account(OUTAGE_BANK)
        freeze = bank_api.freeze(
            self.court, bank=OUTAGE_BANK, case=self.new_case(), subject=person(acc.holder_name, acc.holder_id),
            officer=OFFICER, account_number=acc.account_number, amount_fen=50_000,
            end_date=self.today + timedelta(days=300), ruling=document("RULING", "冻结裁定"),
            assistance_notice=document("ASSISTANCE_NOTICE", "协助冻结"))
        await self.send("freeze (outage bank)", freeze)
        await self.until_state(freeze.request_id, {"delivered"})  # in the bank's inbox, unanswered
        self.advance(37 * HOUR)  # past the warning of the 48-hour control deadline
        await self.wait_message(lambda m: m.schema == NOTICE and m.body["agency"] == OUTAGE_BANK, 60)
        self.advance(12 * HOUR)  # past the deadline: "no answer in time"
        await self.until_state(freeze.request_id, {"overdue"})
        restarted = self.spawn_bank(OUTAGE_BANK)
        try:
            await self.answer(freeze.request_id, "cn.court.interop.bank.FreezeReply", timeout_s=90)
            await self.wait_message(lambda m: m.schema == NOTICE and m.body["agency"] == OUTAGE_BANK
                             and m.body["state"] == "RESOLVED", 60)
        finally:
            restarted.stop()

    async def release_and_sightings(self) -> None:
        if self.release_later is not None:
            measure_id, case, subj = self.release_later
            await self.send("police release", police.release(self.court, measure_id=measure_id,
                                                             measure_kind="EXIT_RESTRICTION", case=case,
                                                             subject=subj, officer=OFFICER,
                                                             reason="被执行人已履行义务"))
        await self.court.poll(2.0)

    async def wait_message(self, pred: Callable[[AvroMessage], bool], timeout_s: float) -> list[AvroMessage]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [m for m in self.court.received if pred(m)]
            if found:
                return found
            await self.court.poll()
        return []

    async def settle(self, timeout_s: float = 60.0) -> None:
        """Wait until every request the demo sent is in a terminal state (or the timeout)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.state(r) in TERMINAL for ids in self.track.sent.values() for r in ids):
                return
            await self.court.poll(0.5)

    async def until_state(self, request_id: str, states: set[str], timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        state = self.state(request_id)
        while state not in states and time.monotonic() < deadline:
            await self.court.poll(0.3)
            state = self.state(request_id)
        return state

    def row(self, request_id: str) -> dict[str, Any]:
        status, row = self.worker.http(f"/requests/{request_id}")
        return dict(row) if status == 200 else {}

    def state(self, request_id: str) -> str:
        return str(self.row(request_id).get("state") or "unknown")

    async def run(self, on_step: Callable[[str], None] = lambda label: None) -> None:
        """Every step of :data:`STEPS`, telling ``on_step`` as each one is done."""
        self.list_outcome = await list_cases(self)
        on_step(STEPS[0])
        self.sweep = await sweep_and_watch(self)
        on_step(STEPS[1])
        await self.bank_cases()
        await sweep_complete(self, self.sweep)  # bank_cases moved the clock past the units' deadline
        on_step(STEPS[2])
        await self.police_cases()
        on_step(STEPS[3])
        self.advance(2 * HOUR)  # police sightings come over time
        await self.release_and_sightings()
        on_step(STEPS[4])
        await self.outage()
        on_step(STEPS[5])
        await self.settle()
        on_step(STEPS[6])
        self.track.sightings = len([m for m in self.court.received if m.schema.endswith("Sighting")])
        self.track.anomaly_ids = {m.body["anomaly_id"] for m in self.court.received if m.schema == NOTICE}
        self.track.resolved_ids = {m.body["anomaly_id"] for m in self.court.received
                                   if m.schema == NOTICE and m.body["state"] == "RESOLVED"}


TERMINAL = frozenset({"answered", "answered_late", "failed", "rejected", "cancelled"})
STEPS = ("dishonest list: listing, minor refused, correction, deletion, a late unit's replay",
         "terminated-case sweep finding property, a standing watch and its hit",
         "bank cases: intensive queries, freezes, deductions, the court's own queries",
         "police: look-ups, exit restriction, vehicle seizure",
         "police: sightings and a release",
         "a bank outage: anomaly notice, overdue freeze, late answer, resolution",
         "every request answered")
