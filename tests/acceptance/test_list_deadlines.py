"""List decisions as requests with deadlines and warnings, across National Day 2025 (SPEC §6; 失信规定 art. 9-10).

A worker of its own whose clock starts on Friday 2025-09-26 (Sunday 28 September is a make-up working day,
1-8 October the holiday); the credit platform is down at first.  Every list decision is a row of the
request table; a deletion is due by the end of the 3rd working day after it (30 September), warned at 75 %;
a term that ends on 26 September is deleted at its end and warned about too.  The clock moves in 6-hour
steps: each event comes at the first tick at or after its time, carrying its due time.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from agents.court.adapter import CourtClient, person
from agents.credit import court_api as api
from agents.process import AgencyProcess
from hub.clock import CHINA_TZ
from hub.flows.credit.messages import ACK, DEADLINE_EVENT
from hub.process import WorkerProcess
from hub.working_calendar import WorkingCalendar
from tests.acceptance.hub_http import advance_to, hub_now, row, wait_row

START = HUB_START = datetime(2025, 9, 26, 10, tzinfo=CHINA_TZ)  # Friday before National Day 2025
STEP = timedelta(hours=6)
STATE: dict[str, Any] = {}


def adult(n: int) -> str:
    base = f"11010519{70 + n:02d}0101{n:03d}"
    return base + ric.calc_check_digit(base + "?")


@pytest.fixture
def court(own_court: CourtClient) -> CourtClient:
    return own_court


def listing(court: CourtClient, n: int, **over: Any) -> tuple[Any, str]:
    case = court.case(f"（2024）京0105执{7000 + n}号", date(2024, 3, 1))
    subject = {**person("失信人", adult(n)), "gender": "MALE"}
    msg = api.decision(court, listing_id=f"SX-ND-{n}-{secrets.token_hex(3)}", action="LIST", decided_at=START,
                       ground=over.pop("ground", "ABLE_BUT_REFUSING"),
                       content=api.content(court, case, subject, age=55 - n),
                       term_start=over.pop("term_start", START.date()), **over)
    return msg, case["case_number"]


async def test_every_list_decision_is_a_request_row_and_a_deletion_is_due_in_3_working_days_art10(
        court: CourtClient, own_hub: WorkerProcess) -> None:
    """失信规定 art. 10: deleted within 3 working days — 28 Sep (make-up Sunday), 29, 30 Sep."""
    listed, case = listing(court, 1)
    await api.send(court, listed, case)
    rec = wait_row(own_hub, listed.request_id, lambda r: r["state"] == "delivered")  # published
    assert rec["type"] == "ListDecision" and rec["agency"] == "platform" and rec["due"] is None
    assert [s for s, _ in rec["log"]] == ["accepted", "routed", "delivered"]
    gone = api.decision(court, listing_id=listed.body["listing_id"], action="DELETE", decided_at=START,
                        deletion_ground="PERFORMED", reason="已履行完毕")
    await api.send(court, gone, case)
    rec = wait_row(own_hub, gone.request_id, lambda r: r["state"] == "delivered")
    due = WorkingCalendar().add_working_days(START.date(), 3)
    assert due.day == date(2025, 9, 30)
    assert rec["due"] == due.end_ms and rec["rule"] == "list.delete.3wd" and not rec["provisional"]
    assert rec["warn"] == int(START.timestamp() * 1000) + int((due.end_ms - START.timestamp() * 1000) * 0.75)
    # a decision the sequencer refuses (nothing to revoke) is a rejected row, and the court was told why
    unknown = api.decision(court, listing_id="SX-NEVER-PUBLISHED", action="REVOKE", decided_at=START,
                           reason="错误纳入")
    await api.send(court, unknown, case)
    (error,) = await court.wait_for(unknown.request_id, timeout_s=60)
    assert error.schema.endswith("ErrorReply") and error.body["error_code"] == "unknown_listing"
    assert [s for s, _ in wait_row(own_hub, unknown.request_id, lambda r: r["state"] == "rejected")["log"]] == [
        "accepted", "routed", "rejected"]
    # a listing whose 2-year term ends today (26 September): deleted at its end (art. 10 para 2)
    termed, termed_case = listing(court, 2, ground="EVADING_EXECUTION", term_start=date(2023, 9, 27))
    await api.send(court, termed, termed_case)
    wait_row(own_hub, termed.request_id, lambda r: r["state"] == "delivered")
    STATE.update(gone=gone.request_id, warn=rec["warn"], due=due.end_ms,
                 expiry=f"term-expiry/{termed.body['listing_id']}/2025-09-26")


async def test_list_deadlines_warn_and_expire_at_the_first_tick_at_or_after_their_time_in_6_hour_steps_art9_10(
        court: CourtClient, own_hub: WorkerProcess) -> None:
    """SPEC §6: every tracked deadline has its 75 % warning; a step of the clock past a time fires it at once."""
    times: dict[tuple[str, str], datetime] = {}
    now = hub_now(own_hub)
    while now < datetime(2025, 10, 2, tzinfo=CHINA_TZ):
        now = advance_to(own_hub, now + STEP)
        await asyncio.sleep(2.5)  # two ticks at this time
        for m in await court.poll(0.5):
            if m.schema == DEADLINE_EVENT:
                times.setdefault((m.request_id, m.body["kind"]), m.body["emitted_at"])
                STATE.setdefault("events", []).append(m.body)

    def first_step_at_or_after(ms: int) -> datetime:
        t = START
        while t.timestamp() * 1000 < ms:
            t += STEP
        return t

    gone, expiry = STATE["gone"], STATE["expiry"]
    assert times[(gone, "WARNING")] == first_step_at_or_after(STATE["warn"])  # 29 Sep 22:00
    assert times[(gone, "EXPIRED")] == first_step_at_or_after(STATE["due"])  # 1 Oct 04:00
    expiry_events = [b for b in STATE["events"] if b["rule_id"] == "list.term_end.3wd"]
    assert {b["kind"] for b in expiry_events} == {"WARNING", "EXPIRED"}, expiry_events
    due_at = {int(b["due_at"].timestamp() * 1000) for b in expiry_events}
    assert due_at == {STATE["due"]}  # 3 working days after the last day of the term: also 30 September
    assert times[(expiry, "EXPIRED")] == first_step_at_or_after(STATE["due"])
    assert row(own_hub, gone)["state"] == "overdue"


async def test_a_late_acknowledgement_answers_the_row_late_art10(court: CourtClient, own_hub: WorkerProcess,
                                                                 tmp_path: Any) -> None:
    platform = AgencyProcess(own_hub.settings, tmp_path / "platform.log", ["simulate", "credit"])
    platform.spawn()
    try:
        await court.wait_for(STATE["gone"], schema=ACK, timeout_s=90)
        late = await court.wait_for(STATE["gone"], schema=DEADLINE_EVENT, timeout_s=60)
        assert late[0].body["kind"] == "ANSWERED_LATE"
    finally:
        platform.stop()
    rec = wait_row(own_hub, STATE["gone"], lambda r: r["state"] == "answered_late")
    assert [s for s, _ in rec["log"]] == ["accepted", "routed", "delivered", "overdue", "answered_late"]
