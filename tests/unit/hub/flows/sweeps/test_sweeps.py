"""The sweep flow in process (seed 001 §(二); 失信规定 art. 10(四)): the real intake, bank flow and deadline tracker,
simulated banks answering what the hub put on their sweep lanes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from agents.bank import court_api as bank_api
from agents.bank.ledger import BankLedger
from agents.bank.simulator import SimulatedBank
from agents.court.adapter import CourtClient, document, officer
from agents.population import Person
from hub.clock import ManualClock
from hub.codec import AvroMessage, default_codec
from hub.envelope import envelope, message
from hub.flows.bank.messages import INTENSIVE_RESULT
from hub.flows.sweeps.lane import SweepLane
from hub.flows.sweeps.messages import GROUND_MET, WATCH_HIT
from hub.lifecycle import State
from hub.memory_backend import MemoryHub
from hub.runtime import HubRuntime
from hub.seal import KeyStore
from hub.settings import HubSettings
from tests.unit.conftest import START
from topics.catalog import inbox_name, outbox_name, sweeps_name

CODEC = default_codec()
CASE = "（2023）京0105执77号"
DEBTOR = Person(name="张三", id_number="11010519491231002X", gender="FEMALE", birth_date=date(1949, 12, 31),
                region_code="110105", phone=None, address="北京市朝阳区")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
NOTICE = document("ASSISTANCE_NOTICE", "（2023）京0105执77号协助查询通知书")


class Setup:
    def __init__(self, hub: MemoryHub) -> None:
        self.hub = hub
        self.court = CourtClient(hub.ctx.settings, "京0105", clock=hub.ctx.clock)
        self.keys = KeyStore(hub.ctx.settings.data_dir)
        self.banks: dict[str, SimulatedBank] = {}

    @property
    def clock(self) -> ManualClock:
        clock = self.hub.ctx.clock
        assert isinstance(clock, ManualClock)
        return clock

    def case(self) -> dict[str, Any]:
        return self.court.case(CASE, date(2023, 3, 1))

    async def send(self, msg: AvroMessage) -> None:
        await self.hub.send("court.requests", CASE, msg)

    async def register(self, listing_id: str | None = "L-77") -> AvroMessage:
        msg = bank_api.terminated_case(self.court, case=self.case(), subject=DEBTOR.subject_record(), officer=OFFICER,
                                       assistance_notice=NOTICE, termination_date=date(2024, 12, 1),
                                       listing_id=listing_id)
        await self.send(msg)
        return msg

    def bank(self, code: str) -> SimulatedBank:
        if code not in self.banks:
            self.keys.generate([code])
            key_id, key = self.keys.signer(code)
            self.banks[code] = SimulatedBank(code, BankLedger(code), key_id, key, CODEC)
        return self.banks[code]

    async def tick(self) -> None:
        for p in range(self.hub.ctx.runtime.catalog.hub_partitions):
            await self.hub.intake.tick(p, self.clock.now_ms())
        await self.hub.settle()

    def lane_requests(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for s in self.hub.sender.sent:
            if s.topic.endswith(".sweeps"):
                out.setdefault(s.topic.split(".")[-2], []).append(s)
        return out

    def to_court(self, topic: str) -> list[AvroMessage]:
        return [CODEC.decode(s.value or b"") for s in self.hub.sender.on(self.hub.ctx.settings.topic(topic))]


def sweep_hub(data_dir: Path, **settings: Any) -> MemoryHub:
    """Every flow in process; ceilings high enough that the lane's wall-clock tokens never hold a test back."""
    base = HubSettings(data_dir=data_dir, clock="manual", clock_start=START, max_message_bytes=16 * 1024,
                       sweep_ceiling_per_s=1_000_000.0)
    return MemoryHub(HubRuntime.build(base.model_copy(update=settings), registry=CollectorRegistry()))


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(sweep_hub(tmp_path))


async def sweep_once(setup: Setup, answered: set[int]) -> None:
    """Move to the next due day, tick (the sweep goes out), every bank answers, tick (it completes)."""
    setup.clock.advance(timedelta(days=setup.hub.ctx.settings.sweep_interval_days))
    await setup.tick()
    for i, rec in enumerate(setup.hub.sender.sent):
        if rec.topic.endswith(".sweeps") and i not in answered:
            answered.add(i)
            code = rec.topic.split(".")[-2]
            reply = setup.bank(code).handle_bytes(rec.value or b"", rec.headers)
            assert reply is not None
            await setup.hub.receive(outbox_name(code), rec.key, reply)
    await setup.tick()


async def test_a_sweep_goes_on_the_sweep_lanes_and_finding_property_notifies_the_court_seed_001_s2_1(
        setup: Setup) -> None:
    """Seed 001 §(二)1: the terminated case is re-queried through its intensive set; property found is fed back."""
    await setup.register()
    await setup.tick()
    assert not setup.lane_requests(), "not due before the sweep interval"
    setup.bank("icbc").ledger.open_account(DEBTOR, nature="PERSONAL_CLASS_I", opened_on=date(2025, 1, 1),
                                           balance_fen=880_000)
    await sweep_once(setup, set())
    lanes = setup.lane_requests()
    assert len(lanes) >= 25 and "icbc" in lanes
    assert not any(s.topic.endswith(".inbox") and CODEC.decode(s.value or b"").message_type == "QueryRequest"
                   for s in setup.hub.sender.sent), "sweep queries never use the live inbox"
    query = CODEC.decode(lanes["icbc"][0].value or b"")
    assert query.body["purpose"] == "TERMINATED_CASE_SWEEP"
    results = [m for m in setup.to_court("court.replies") if m.schema == INTENSIVE_RESULT]
    assert results and results[-1].body["complete"] and results[-1].body["property_found"]
    assert results[-1].request_id.endswith(".sweep-1")
    assert len(results) <= 2, "a sweep's result goes when property is first found and when complete only"
    case = setup.hub.table("terminated_cases")[CASE]
    assert case["outcomes"][-1][1] == "FOUND" and case["empty"] == 0


async def test_two_empty_sweeps_of_a_listed_debtor_send_the_ground_notice_with_3_working_days_art_10_4(
        setup: Setup) -> None:
    """失信规定 art. 10(四): two network queries after termination found nothing, no clue: delete in 3 working days."""
    reg = await setup.register()
    answered: set[int] = set()
    await sweep_once(setup, answered)
    assert not [m for m in setup.to_court("court.notices") if m.schema == GROUND_MET]
    await sweep_once(setup, answered)
    [notice] = [m for m in setup.to_court("court.notices") if m.schema == GROUND_MET]
    assert notice.body["empty_sweeps"] == 2 and notice.body["listing_id"] == "L-77"
    assert notice.body["sweep_ids"] == [f"{reg.request_id}.sweep-1", f"{reg.request_id}.sweep-2"]
    row = setup.hub.ctx.requests.get(f"{reg.request_id}.art10-4")
    assert row is not None and row.state is State.DELIVERED and row.rule_id == "sweep.art10-4.delete.3wd"
    due = setup.hub.ctx.runtime.calendar.current.add_working_days(setup.clock.now().date(), 3)
    assert row.due_ms == due.end_ms
    # past the deadline without the deletion: overdue, and the court is told (like any list deadline)
    setup.clock.advance(timedelta(days=10))
    await setup.tick()
    await setup.tick()
    row = setup.hub.ctx.requests.get(f"{reg.request_id}.art10-4")
    assert row is not None and row.state is State.OVERDUE
    events = [m for m in setup.to_court("court.replies") if m.message_type == "DeadlineEvent"
              and m.request_id == row.request_id]
    assert events and events[0].body["rule_source"].startswith("003 失信规定 art. 10(四)")


async def test_an_open_clue_check_blocks_the_ground_notice_until_answered_art_10_4_seed_001_s2_2(
        setup: Setup) -> None:
    """Art. 10(四) needs 'no valid clue': a clue being checked holds the notice back; checked empty, it goes."""
    await setup.register()
    clue = bank_api.clue_check(setup.court, case=setup.case(), subject=DEBTOR.subject_record(), officer=OFFICER,
                               assistance_notice=NOTICE, bank="ccb", provided_by="申请执行人")
    await setup.send(clue)
    [live] = [s for s in setup.hub.sender.on(setup.hub.ctx.settings.topic(inbox_name("ccb")))]
    checked = CODEC.decode(live.value or b"")
    assert checked.request_id == f"{clue.request_id}.ccb" and checked.body["purpose"] == "CLUE_VERIFICATION"
    answered: set[int] = set()
    await sweep_once(setup, answered)
    await sweep_once(setup, answered)
    assert not [m for m in setup.to_court("court.notices") if m.schema == GROUND_MET], "a clue is open"
    reply = setup.bank("ccb").handle_bytes(live.value or b"", live.headers)
    assert reply is not None
    await setup.hub.receive(outbox_name("ccb"), live.key, reply)
    assert [m for m in setup.to_court("court.notices") if m.schema == GROUND_MET]


async def test_a_sweep_reply_is_paced_traffic_and_a_clue_check_reply_is_live(setup: Setup) -> None:
    """Live work first: the sweeps are steered by live records' waits, of which a sweep's replies are not one (they
    wait behind each other, at the sweep's own pace); a clue check goes on the live path and is live."""
    await setup.register()
    clue = bank_api.clue_check(setup.court, case=setup.case(), subject=DEBTOR.subject_record(), officer=OFFICER,
                               assistance_notice=NOTICE, bank="ccb", provided_by="申请执行人")
    await setup.send(clue)
    [checked] = setup.hub.sender.on(setup.hub.ctx.settings.topic(inbox_name("ccb")))
    setup.clock.advance(timedelta(days=setup.hub.ctx.settings.sweep_interval_days))
    await setup.tick()
    swept = setup.lane_requests()["ccb"][0]
    paced = setup.hub.ctx.hooks.paced

    def reply(rec: Any) -> AvroMessage:
        return CODEC.decode(setup.bank("ccb").handle_bytes(rec.value or b"", rec.headers) or b"")

    assert any(is_paced(reply(swept)) for is_paced in paced)
    assert not any(is_paced(reply(checked)) for is_paced in paced)


async def test_resumption_stops_the_sweeps_seed_001_s2_1(setup: Setup) -> None:
    await setup.register()
    await setup.send(bank_api.case_closed(setup.court, case_number=CASE, officer=OFFICER, reason="RESUMED"))
    setup.clock.advance(timedelta(days=400))
    await setup.tick()
    assert not setup.lane_requests()


def test_the_lane_keeps_each_agency_under_its_ceiling_and_window() -> None:
    """A partition's share: ceiling / partitions tokens a second, window / partitions outstanding."""
    now = [0.0]
    lane = SweepLane(lambda code: 8.0 if code == "icbc" else 100.0, window=8, partitions=4,
                     monotonic=lambda: now[0])
    assert lane.rate("icbc") == 2.0 and lane.window() == 2

    def burst(partition: int) -> int:
        sent = 0
        for _ in range(10):
            if lane.admits(partition, ["icbc"], {}):
                lane.take(partition, ["icbc"])
                sent += 1
        return sent

    assert burst(0) == 1, "partition 0 takes the first turn"
    now[0] += 3.0
    assert burst(0) == 4, "an idle partition saves at most BURST_S seconds' worth"
    now[0] += 1.0
    assert lane.admits(0, ["icbc"], {})
    assert not lane.admits(0, ["icbc"], {"icbc": 2}), "the window is full: back-pressure"
    assert not lane.admits(1, ["icbc"], {}), "partition 1's turn comes a quarter period later"
    now[0] += 0.125
    assert lane.admits(1, ["icbc"], {}), "each partition has its own share"


async def test_a_sweeps_unit_queries_leave_spaced_so_their_replies_do_not_come_back_at_once(setup: Setup) -> None:
    """Live work first: one sweep's 26 unit queries go out UNIT_SPACING_S apart (their replies come back spread over
    that time, not as one burst a live reply waits out behind them in the hub's outbox stream)."""
    import itertools
    import time

    from hub.flows.sweeps.lane import UNIT_SPACING_S

    sender = setup.hub.sender
    stamps: list[float] = []
    send = sender.send

    async def stamped(topic: str, key: bytes | None, value: bytes | None, **kw: Any) -> Any:
        if topic.endswith(".sweeps"):
            stamps.append(time.monotonic())
        return await send(topic, key, value, **kw)

    sender.send = stamped  # type: ignore[method-assign]
    await setup.register()
    setup.clock.advance(timedelta(days=setup.hub.ctx.settings.sweep_interval_days))
    await setup.tick()
    assert len(stamps) >= 25
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= UNIT_SPACING_S * 0.9, "every unit query a spacing after the one before"


async def test_a_watch_registered_while_its_cases_sweep_goes_out_is_kept(setup: Setup) -> None:
    """A sweep's fan-out takes time (its units spaced); a WatchRequest of the same case handled meanwhile, by
    another agent of the worker, stays on the case row: the sweep's start writes onto the row as it is then,
    not onto the copy it read before sending."""
    import asyncio

    await setup.register()
    setup.clock.advance(timedelta(days=setup.hub.ctx.settings.sweep_interval_days))
    until = setup.clock.now().date() + timedelta(days=30)
    w = bank_api.watch(setup.court, case=setup.case(), subject=DEBTOR.subject_record(), officer=OFFICER,
                       until=until, kinds=["NEW_ACCOUNT"])

    async def watch_meanwhile() -> None:
        await asyncio.sleep(0.03)  # the fan-out (26 units, 5 ms apart) is under way
        await setup.send(w)

    await asyncio.gather(setup.tick(), watch_meanwhile())
    case = setup.hub.table("terminated_cases")[CASE]
    assert case["current"] and case["current"].endswith(".sweep-1"), "the sweep started"
    assert w.request_id in case["watches"], "and the watch registered meanwhile is kept"


def test_the_partitions_take_their_turns_out_of_step() -> None:
    """Started in step, every partition's sweep left at the same tick and their replies came back as one burst
    that held live records up to a second: partition p of P begins 1 - p/P of a token short of the others."""
    now = [0.0]
    lane = SweepLane(lambda code: 4.0, window=100, partitions=4, monotonic=lambda: now[0])  # 1 a second each
    first: dict[int, float] = {}
    while len(first) < 4:
        for p in range(4):
            if p not in first and lane.admits(p, ["icbc", "ccb"], {}):
                lane.take(p, ["icbc", "ccb"])
                first[p] = now[0]
        now[0] += 0.05
    assert [round(first[p], 2) for p in range(4)] == [0.0, 0.25, 0.5, 0.75]


async def test_back_pressure_keeps_due_sweeps_in_the_hub_not_in_the_agencies_topics(tmp_path: Path) -> None:
    """Beyond an agency's window due sweeps wait in the hub's schedule, not in the agency's topic."""
    hub = sweep_hub(tmp_path, partitions=1, sweep_window=3)
    settings = hub.ctx.settings
    s = Setup(hub)
    for n in range(10):
        number = f"（2023）京0105执{500 + n}号"
        msg = bank_api.terminated_case(s.court, case=s.court.case(number, date(2023, 3, 1)),
                                       subject=DEBTOR.subject_record(), officer=OFFICER, assistance_notice=NOTICE,
                                       termination_date=date(2024, 12, 1))
        await hub.send("court.requests", number, msg)
    s.clock.advance(timedelta(days=settings.sweep_interval_days))
    for _ in range(3):
        await s.tick()
    icbc = s.lane_requests()["icbc"]
    assert len(icbc) == 3, "no more than the window is outstanding at an agency"
    assert hub.ctx.settings.topic(sweeps_name("icbc")) == icbc[0].topic


async def test_a_watch_hit_reaches_the_court_and_an_ended_watch_is_refused(setup: Setup) -> None:
    """Standing watches: only the agencies concerned are told; a hit is routed to the case; after its end, refused."""
    await setup.register()
    until = setup.clock.now().date() + timedelta(days=30)
    w = bank_api.watch(setup.court, case=setup.case(), subject=DEBTOR.subject_record(), officer=OFFICER,
                       until=until, kinds=["VEHICLE_REGISTRATION"])
    await setup.send(w)
    told = [s for s in setup.hub.sender.sent if s.topic.endswith(".inbox")
            and CODEC.decode(s.value or b"").message_type == "WatchSubject"]
    assert [s.topic.split(".")[-2] for s in told] == ["mps"], "a vehicle watch concerns the police only"

    def hit() -> AvroMessage:
        return message(WATCH_HIT, envelope(setup.clock, request_id=w.request_id, sender="mps", recipient="hub"), {
            "watch_id": w.request_id, "case_number": CASE, "id_number": DEBTOR.id_number,
            "kind": "VEHICLE_REGISTRATION", "occurred_at": setup.clock.now(), "detail": "京A12345 registered",
            "account_number": None, "amount": None, "plate_number": "京A12345"})

    await setup.hub.send(outbox_name("mps"), CASE, hit())
    assert [m for m in setup.to_court("court.notices") if m.schema == WATCH_HIT]
    setup.clock.advance(timedelta(days=31))
    await setup.tick()
    mps_inbox = setup.hub.ctx.settings.topic(inbox_name("mps"))
    removed = [CODEC.decode(s.value or b"") for s in setup.hub.sender.on(mps_inbox)]
    assert removed[-1].body["action"] == "REMOVE"
    await setup.hub.send(outbox_name("mps"), CASE, hit())
    assert len([m for m in setup.to_court("court.notices") if m.schema == WATCH_HIT]) == 1
    dead = setup.to_court("ops.deadletter")
    assert dead and dead[-1].body["reason_code"] == "watch_not_active"


def test_sweeps_slow_down_while_input_waits_exceed_the_budget_and_recover_after() -> None:
    """Live work first (issue: a sweep never delays a live request): the pace halves each second the hub's input
    records wait longer than the budget, holds while they wait more than half of it, and grows back by a step a
    second once they wait less."""
    from hub.flows.sweeps.lane import MIN_PACE, PACE_STEP

    now = [0.0]
    waits: list[int | None] = [500]
    lane = SweepLane(lambda code: 8.0, window=100, partitions=4, monotonic=lambda: now[0],
                     input_wait_ms=lambda: waits[0], budget_ms=100)
    assert lane.rate("icbc") == 2.0
    lane.take(0, ["icbc"])  # a sweep in flight
    assert lane.steer() == 0.5 and lane.rate("icbc") == 1.0
    assert lane.steer() == 0.5, "at most one change a second"
    for _ in range(10):
        now[0] += 1.0
        lane.take(0, ["icbc"])
        lane.steer()
    assert lane.pace == MIN_PACE, "never stopped for good"
    waits[0] = 40
    now[0] += 1.0
    assert lane.steer() == MIN_PACE + PACE_STEP
    waits[0] = 80  # under the budget but above half of it: held
    now[0] += 1.0
    assert lane.steer() == MIN_PACE + PACE_STEP
    waits[0] = None  # nothing read: no live work to protect
    for _ in range(40):
        now[0] += 1.0
        lane.steer()
    assert lane.pace == 1.0 and lane.rate("icbc") == 2.0


def test_live_waits_with_no_sweep_in_flight_do_not_slow_the_sweeps() -> None:
    """A live burst the sweeps did not cause (no sweep sent in the last BLAME_S) holds the pace instead of halving
    it: the first sweep of a quiet worker is not held back by the live work before it."""
    from hub.flows.sweeps.lane import BLAME_S

    now = [0.0]
    lane = SweepLane(lambda code: 8.0, window=100, partitions=4, monotonic=lambda: now[0],
                     input_wait_ms=lambda: 500, budget_ms=100)
    for _ in range(5):
        now[0] += 1.0
        assert lane.steer() == 1.0
    lane.take(1, ["icbc"])
    now[0] += 1.0
    assert lane.steer() == 0.5, "a sweep just sent: its share of the wait"
    now[0] += BLAME_S + 1.0
    assert lane.steer() == 0.5, "no sweep since: held, neither halved nor grown"


def test_without_a_budget_the_ceilings_alone_pace_the_sweeps() -> None:
    lane = SweepLane(lambda code: 8.0, window=100, partitions=4, input_wait_ms=lambda: 10_000, budget_ms=None)
    assert lane.steer() == 1.0
