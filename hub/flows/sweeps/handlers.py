"""Hub side of terminated-case sweeps, creditor clue checks and standing watches (seed 001 §(二); 失信规定 art. 10(四)).

court → ``court.requests``: TerminatedCaseRegistered puts the case on the due schedule; on each partition's tick
the hub completes the sweeps that are out (outcome, count, next due day), ends watches past their last day, and
sends the due sweeps the lane admits (:mod:`hub.flows.sweeps.lane`) — each an intensive query through the
debtor's intensive set run for the court (:meth:`hub.flows.bank.handlers.BankFlow.fan_out`), its unit queries
on ``agency.<code>.sweeps``.  The banks' replies come back like any reply (sealed, forwarded to the court) and
the merged IntensiveQueryResult reaches the court when property is first found and when the sweep is complete;
property found is viewed within 3 days or escalated (seed 001 §(一)2) and may be frozen directly (an ordinary
FreezeRequest).  TerminatedCaseClosed ends the sweeps (RESUMED: enforcement resumed) and the case's watches.

At the second consecutive empty sweep of a listed debtor with no clue check open the court gets SweepGroundMet and
the 3-working-day deletion deadline (rule ``sweep.art10-4.delete.3wd``) is a request row the deadline tracker
warns about and escalates like a list deadline; the court's ListDecision deleting that listing answers it.

A ClueCheckRequest is verified at once on the live path: a bank clue as a QueryRequest to that bank, a vehicle
as a VehicleLookupRequest to the police (request id ``<clue>.<agency>``); until it is answered it blocks the
art. 10(四) notice, and property found through it starts the empty-sweep count again.

A WatchRequest sends WatchSubject(ADD) to the agencies it concerns only (the debtor's intensive set for new
accounts and deposits, the police for vehicle registrations and hotel stays); a WatchHit is routed to the court
and case on ``court.notices`` byte for byte (audited like every message).  A hit for a watch that ended (its last
day, WatchEnded, the case closed), or from an agency never told, is refused: a dead letter with the reason, and
nothing reaches the court.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from hub.clock import china_today, utc_datetime
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.deadlines import SWEEP_GROUND_RULE, deadline_for
from hub.envelope import envelope, message
from hub.errors import RequestRefused
from hub.flows.bank.handlers import BankFlow
from hub.flows.bank.messages import QUERY, household_place
from hub.flows.bank.rows import IntensiveQuery, unit_set
from hub.flows.correlation import mark_answered
from hub.flows.delivery import deliver
from hub.flows.police.messages import POLICE_CODE, VEHICLE
from hub.flows.sweeps.lane import UNIT_SPACING_S, SweepLane
from hub.flows.sweeps.messages import (
    BANK_KINDS,
    GROUND_MET,
    POLICE_KINDS,
    UnknownTerminatedCase,
    WatchNotActive,
    validate_clue,
    validate_registration,
    validate_watch,
)
from hub.flows.sweeps.rows import (
    GROUND_MARK,
    CaseStatus,
    CaseTable,
    Schedule,
    SweepOutcome,
    TerminatedCase,
    Watch,
    close_case,
    clue_answered,
    end_watch,
    finish_sweep,
    ground_met,
    is_sweep_id,
    new_case,
    next_sweep_id,
    query_body,
    start_sweep,
    sweep_outcome,
)
from hub.lifecycle import State, can_transition, new_record, transition
from topics.catalog import HUB, Role, inbox_name, sweeps_name

QUERY_REPLY = "cn.court.interop.bank.QueryReply"
VEHICLE_REPLY = "cn.court.interop.police.VehicleLookupReply"
LIST_DECISION = "cn.court.interop.credit.ListDecision"
WATCH_SUBJECT = "cn.court.interop.sweep.WatchSubject"
ALL_KINDS = ("NEW_ACCOUNT", "DEPOSIT", "VEHICLE_REGISTRATION", "HOTEL_STAY")


def clue_found(msg: AvroMessage) -> bool:
    """Whether a clue check's reply found property (accounts or assets; a registered vehicle)."""
    body = msg.body
    if msg.schema == VEHICLE_REPLY:
        return body["status"] == "FOUND" and bool(body.get("vehicles"))
    return body["status"] == "EXECUTED" and bool(body.get("accounts") or body.get("financial_assets"))


class SweepFlow:
    """The sweep flow's handlers over the context, the bank flow (intensive queries) and its two tables."""

    def __init__(self, ctx: HubContext, bank: BankFlow) -> None:
        self.ctx = ctx
        self.bank = bank
        # a row per terminated case (millions nationally, ~5 KB each as Python objects): RocksDB, not memory
        self.cases = CaseTable(ctx.table("terminated_cases", large=True))
        self.schedule = Schedule(ctx.table("sweep_schedule"))
        settings = ctx.settings
        self.interval_days = settings.sweep_interval_days
        self.lane = SweepLane(settings.sweep_ceiling, settings.sweep_window, ctx.runtime.catalog.hub_partitions,
                              input_wait_ms=ctx.input.steering_delay_ms, budget_ms=settings.sweep_input_wait_budget_ms)
        self.financial = frozenset(a.code for a in ctx.runtime.catalog.agencies if a.is_financial)
        # a sweep's merged result goes to the court when property is first found and when complete, not at every unit
        bank.every_result = lambda request_id: not is_sweep_id(request_id)

    def today(self) -> date:
        return china_today(self.ctx.clock)

    def update(self, case_number: str, change: Callable[[TerminatedCase], TerminatedCase]) -> None:
        """``change`` applied to the case's row as it is now: after a handler awaited (its sends), another agent
        of this worker — a tick, a court request of the same case — may have written the row meanwhile, and the
        copy the handler read before would undo that write."""
        case = self.cases.get(case_number)
        if case is not None:
            self.cases.put(change(case))

    def case_of(self, case_number: str, court: str) -> TerminatedCase:
        case = self.cases.get(case_number)
        if case is None:
            raise UnknownTerminatedCase(f"{case_number} is not registered as a terminated case", field="body.case")
        if case.court_code != court:
            raise RequestRefused(f"{case_number} belongs to {case.court_code}", field="envelope.sender")
        return case

    # --- court → hub ------------------------------------------------------------------------------------
    async def registered(self, msg: AvroMessage, record: RawRecord) -> None:
        """A terminated case onto the due schedule (a resend changes nothing)."""
        body, court, today = msg.body, str(msg.envelope["sender"]), self.today()
        validate_registration(body, court, today)
        case_number = body["case"]["case_number"]
        existing = self.cases.get(case_number)
        if existing is not None and existing.registration_id == msg.request_id:
            return
        if existing is not None and existing.status is not CaseStatus.CLOSED:
            raise RequestRefused(f"{case_number} is already registered ({existing.registration_id})",
                                 field="body.case.case_number")
        units = unit_set(self.ctx.runtime.catalog.agencies, household_place(body), body["court_place_code"])
        case = new_case(body, registration_id=msg.request_id, units=units, partition=record.partition,
                        now_ms=self.ctx.clock.now_ms(), today=today, interval_days=self.interval_days)
        self.cases.put(case)
        self.schedule.add_due(record.partition, case.next_due_ordinal or today.toordinal(), case_number,
                              today.toordinal())

    async def closed(self, msg: AvroMessage, record: RawRecord) -> None:
        """Resumption (恢复执行) or another end: no more sweeps, the watches end, an art. 10(四) deadline is moot."""
        body = msg.body
        case = self.case_of(body["case_number"], str(msg.envelope["sender"]))
        if case.status is CaseStatus.CLOSED:
            return
        now = self.ctx.clock.now_ms()
        told = await self.tell_ended(case, case.open_watches(), f"the case left the sweeps ({body['reason']})", now)
        self.update(case.case_number, lambda c: told(close_case(c, str(body["reason"]), now)))
        ground = self.ctx.requests.get(case.ground_id) if case.ground_id else None
        if ground is not None and can_transition(ground, State.CANCELLED):
            self.ctx.requests.put(transition(ground, State.CANCELLED, now))

    async def clue(self, msg: AvroMessage, record: RawRecord) -> None:
        """Seed 001 §(二)2: the creditor's clue checked through the network at once (live path)."""
        ctx = self.ctx
        body, court = msg.body, str(msg.envelope["sender"])
        validate_clue(body, court, self.today(), self.financial)
        case = self.case_of(body["case"]["case_number"], court)
        clue = body["clue"]
        common = {"case": body["case"], "subject": body["subject"], "officer": body["officer"]}
        if clue["kind"] == "BANK_ACCOUNT":
            agency, schema = str(clue["agency_code"]), QUERY
            request_body: dict[str, Any] = {**common, "assistance_notice": body["assistance_notice"],
                                            "purpose": "CLUE_VERIFICATION", "transaction_window": None}
        else:
            agency, schema = POLICE_CODE, VEHICLE
            request_body = {**common, "plate_number": clue["plate_number"]}
        child_id = f"{msg.request_id}.{agency}"
        child = message(schema, envelope(ctx.clock, request_id=child_id, sender=court, recipient=agency,
                                         correlation_id=msg.request_id), request_body)
        await deliver(ctx, schema.rsplit(".", 1)[1], ctx.codec.encode_message(child), request_id=child_id,
                      court=court, case=case.case_number, agency=agency, partition=record.partition,
                      correlation=msg.request_id)
        self.update(case.case_number, lambda c: c if child_id in c.open_clues
                    else replace(c, open_clues=(*c.open_clues, child_id)))

    async def watch(self, msg: AvroMessage, record: RawRecord) -> None:
        """A standing watch: WatchSubject(ADD) to the agencies it concerns, and only to them."""
        ctx = self.ctx
        body, court = msg.body, str(msg.envelope["sender"])
        validate_watch(body, court, self.today())
        case = self.case_of(body["case"]["case_number"], court)
        if case.status is CaseStatus.CLOSED:
            raise UnknownTerminatedCase(f"{case.case_number} left the sweeps", field="body.case")
        if msg.request_id in case.watches:
            return
        kinds = tuple(body["kinds"]) or ALL_KINDS
        agencies: dict[str, list[str]] = {}
        bank_kinds = [k for k in kinds if k in BANK_KINDS]
        if bank_kinds:
            units = unit_set(ctx.runtime.catalog.agencies, household_place(body), body["court_place_code"])
            agencies.update({code: bank_kinds for code in sorted(units)})
        police_kinds = [k for k in kinds if k in POLICE_KINDS]
        if police_kinds:
            agencies[POLICE_CODE] = police_kinds
        for agency, seen in agencies.items():
            await ctx.out.emit(inbox_name(agency), case.case_number, message(WATCH_SUBJECT, envelope(
                ctx.clock, request_id=msg.request_id, recipient=agency), {
                "action": "ADD", "watch_id": msg.request_id, "case_number": case.case_number, "court_code": court,
                "subject": body["subject"], "kinds": seen, "until": body["until"], "reason": None}))
        watch = Watch(msg.request_id, tuple(agencies), kinds, body["until"].toordinal())
        self.update(case.case_number, lambda c: replace(c, watches={**c.watches, watch.watch_id: watch}))
        self.schedule.add_member(record.partition, "watched", case.case_number)

    async def watch_ended(self, msg: AvroMessage, record: RawRecord) -> None:
        body = msg.body
        case = self.case_of(body["case_number"], str(msg.envelope["sender"]))
        watch = case.watches.get(body["watch_id"])
        if watch is None:
            raise WatchNotActive(f"no watch {body['watch_id']} on {case.case_number}", field="body.watch_id")
        if watch.ended_ms is None:
            reason = f"ended by the court{': ' + body['reason'] if body.get('reason') else ''}"
            self.update(case.case_number, await self.tell_ended(case, [watch], reason, self.ctx.clock.now_ms()))

    # --- agency → hub -------------------------------------------------------------------------------------
    async def watch_hit(self, msg: AvroMessage, record: RawRecord) -> None:
        """A hit for an open watch, from an agency told of it, about its subject: to the court and case."""
        agency, body = str(msg.envelope["sender"]), msg.body
        case = self.cases.get(str(body["case_number"]))
        watch = case.watches.get(str(body["watch_id"])) if case is not None else None
        if case is None or watch is None or agency not in watch.agencies:
            raise WatchNotActive(f"{agency} was given no watch {body['watch_id']} on {body['case_number']}",
                                 field="body.watch_id")
        if not watch.active_on(self.today()):
            raise WatchNotActive(f"watch {watch.watch_id} ended ({watch.end_reason or 'its last day passed'}): "
                                 "the hit is not routed", field="body.watch_id")
        if body["id_number"] != case.id_number:
            raise WatchNotActive("the hit names another subject than the watched debtor", field="body.id_number")
        await self.ctx.out.forward(self.ctx.topics.court_notices, case.case_number, record.value or b"",
                                   msg.message_type, request_id=watch.watch_id)

    async def accepted(self, role: Role, msg: AvroMessage, record: RawRecord) -> None:
        """A clue check's reply (after the reply's own flow forwarded it); a court's deletion of the listing."""
        correlation = msg.envelope.get("correlation_id")
        if role is Role.AGENCY_OUTBOX and msg.schema in (QUERY_REPLY, VEHICLE_REPLY) and correlation \
                and not is_sweep_id(str(correlation)):
            case = self.cases.get(record.key.decode() if record.key else "")
            if case is not None and msg.request_id in case.open_clues:
                case = self.cases.put(clue_answered(case, msg.request_id, clue_found(msg)))
                await self.check_ground(case, self.ctx.clock.now_ms())
        elif role is Role.COURT_REQUESTS and msg.schema == LIST_DECISION and msg.body["action"] == "DELETE":
            case = self.cases.get(record.key.decode() if record.key else "")
            if case is not None and case.ground_id and case.listing_id == msg.body["listing_id"]:
                mark_answered(self.ctx, case.ground_id)

    @staticmethod
    def is_sweep_traffic(msg: AvroMessage) -> bool:
        """A unit's reply to a sweep query: paced by the lane, so not live traffic."""
        return msg.schema == QUERY_REPLY and is_sweep_id(msg.request_id)

    # --- time ---------------------------------------------------------------------------------------------
    async def tick(self, partition: int, now_ms: int) -> None:
        today = self.today()
        self.ctx.runtime.metrics.sweep_pace_ratio.set(self.lane.steer())
        outstanding = await self.complete_sweeps(partition, now_ms, today)
        await self.end_due_watches(partition, now_ms, today)
        await self.admit(partition, today, outstanding)

    async def complete_sweeps(self, partition: int, now_ms: int, today: date) -> Counter[str]:
        """Sweeps out in this partition: the complete ones counted; the sweep queries still pending, by unit."""
        active = self.schedule.members(partition, "active")
        outstanding: Counter[str] = Counter()
        still: list[str] = []
        for case_number in active:
            case = self.cases.get(case_number)
            if case is None or case.current_sweep is None:
                continue
            query = self.bank.intensive.get(case.current_sweep)
            if query is not None and not query.is_complete:
                still.append(case_number)
                outstanding.update(query.pending_units)
                continue
            outcome = sweep_outcome(query) if query is not None else SweepOutcome.INCONCLUSIVE
            case = self.cases.put(finish_sweep(case, outcome, today, self.interval_days))
            if case.status is CaseStatus.SCHEDULED and case.next_due_ordinal is not None:
                self.schedule.add_due(partition, case.next_due_ordinal, case_number, today.toordinal())
            if query is not None and outcome is not SweepOutcome.FOUND:
                self.forget(query)  # the result was sent; only property feedback waits to be viewed (3-day rule)
            await self.check_ground(case, now_ms)
        if still != active:
            self.schedule.set_members(partition, "active", still)
        return outstanding

    def forget(self, query: IntensiveQuery) -> None:
        """Drop a finished sweep's merged state (its request rows stay): the table holds what may still change."""
        tables = self.bank.intensive
        if tables.queries.get(query.request_id) is not None:
            del tables.queries[query.request_id]
        ids = [i for i in tables.by_case.get(query.case_number) or [] if i != query.request_id]
        if ids:
            tables.by_case[query.case_number] = ids
        elif tables.by_case.get(query.case_number) is not None:
            del tables.by_case[query.case_number]

    async def admit(self, partition: int, today: date, outstanding: Counter[str]) -> None:
        """Send the due sweeps the lane admits, oldest due first; the rest wait in their schedule rows."""
        t = today.toordinal()
        stopped = False
        for day, n, entries in self.schedule.due(partition, t):
            rest = list(entries)
            while rest:
                case = self.cases.get(rest[0])
                if case is None or case.status is not CaseStatus.SCHEDULED or case.next_due_ordinal is None \
                        or case.next_due_ordinal > day:
                    rest.pop(0)  # closed, being swept, or due later: an entry of an earlier schedule
                    continue
                units = sorted(case.units)
                if not self.lane.admits(partition, units, outstanding):
                    stopped = True
                    break
                self.lane.take(partition, units)
                outstanding.update(units)
                await self.start(case, partition)
                rest.pop(0)
            if rest != entries:
                self.schedule.keep(partition, day, n, rest)
            if stopped:
                return
        self.schedule.drained(partition, t)

    async def start(self, case: TerminatedCase, partition: int) -> None:
        """One sweep: the intensive query of the debtor's set, run for the court, on the agencies' sweep lanes."""
        sweep_id = next_sweep_id(case)
        await self.bank.fan_out(sweep_id, message_type="IntensiveQueryRequest", court=case.court_code,
                                body=query_body(case), units=case.units, partition=partition,
                                purpose="TERMINATED_CASE_SWEEP", lane=sweeps_name, spacing_s=UNIT_SPACING_S)
        self.update(case.case_number, lambda c: start_sweep(c, sweep_id))
        self.schedule.add_member(partition, "active", case.case_number)

    async def check_ground(self, case: TerminatedCase, now_ms: int) -> None:
        """失信规定 art. 10(四) met: the court is told, and the 3-working-day deletion is tracked."""
        if not ground_met(case):
            return
        ctx = self.ctx
        ground_id = case.registration_id + GROUND_MARK
        deadline = deadline_for(SWEEP_GROUND_RULE, now_ms, ctx.runtime.calendar.current)
        row = new_record(ground_id, type_="SweepGroundMet", court=case.court_code, case=case.case_number, agency=HUB,
                         now_ms=now_ms, partition=case.partition, deadline=deadline, correlation=case.registration_id)
        ctx.requests.put(transition(transition(row, State.ROUTED, now_ms), State.DELIVERED, now_ms))
        self.cases.put(replace(case, ground_id=ground_id))
        env = envelope(ctx.clock, request_id=ground_id, recipient=case.court_code,
                       correlation_id=case.registration_id)
        await ctx.out.emit(ctx.topics.court_notices, case.case_number, message(GROUND_MET, env, {
            "case_number": case.case_number, "court_code": case.court_code, "listing_id": case.listing_id,
            "id_number": case.id_number, "termination_date": date.fromordinal(case.termination_ordinal),
            "empty_sweeps": case.empty_sweeps, "sweep_ids": case.empty_sweep_ids,
            "rule_source": SWEEP_GROUND_RULE.source, "due_at": utc_datetime(deadline.due_ms),
            "provisional": deadline.provisional, "emitted_at": utc_datetime(now_ms),
        }))

    # --- watches ------------------------------------------------------------------------------------------
    async def tell_ended(self, case: TerminatedCase, watches: list[Watch], reason: str,
                         now_ms: int) -> Callable[[TerminatedCase], TerminatedCase]:
        """The agencies told of each watch get its removal; returns what records the ends on a case row (applied to
        the row as it is once the sends are done: :meth:`update`)."""
        ctx = self.ctx
        for watch in watches:
            for agency in watch.agencies:
                await ctx.out.emit(inbox_name(agency), case.case_number, message(WATCH_SUBJECT, envelope(
                    ctx.clock, request_id=watch.watch_id, recipient=agency), {
                    "action": "REMOVE", "watch_id": watch.watch_id, "case_number": case.case_number,
                    "court_code": case.court_code, "subject": None, "kinds": [], "until": None, "reason": reason}))
        ids = [w.watch_id for w in watches]

        def record(row: TerminatedCase) -> TerminatedCase:
            for watch_id in ids:
                if watch_id in row.watches and row.watches[watch_id].ended_ms is None:
                    row = end_watch(row, watch_id, now_ms, reason)
            return row

        return record

    async def end_due_watches(self, partition: int, now_ms: int, today: date) -> None:
        """Watches past their last day end (the agencies get the removal); the partition's list keeps open ones."""
        watched = self.schedule.members(partition, "watched")
        if not watched:
            return
        for case_number in watched:
            case = self.cases.get(case_number)
            due = [w for w in case.open_watches() if not w.active_on(today)] if case is not None else []
            if case is not None and due:
                self.update(case_number, await self.tell_ended(case, due, "its last day passed", now_ms))
        # the rows and the list as they are now (no await from here): a watch registered meanwhile stays on it
        gone = {c for c in watched if not (row := self.cases.get(c)) or not row.open_watches()}
        if gone:
            self.schedule.set_members(partition, "watched", [c for c in self.schedule.members(partition, "watched")
                                                             if c not in gone])
