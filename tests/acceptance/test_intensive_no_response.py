"""An intensive query with silent units completes at their deadline (seed 001 §(一)1; SPEC §3; 004 §13).

A worker of its own (its clock moves 8 days) with no bank running: every unit of the intensive set stays
silent.  Past the 5 working days each unit is NO_RESPONSE and the merged result is published complete, so
the court may query the units itself; a bank that comes up later answers, and the result is published
again with that unit marked late.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, officer, person
from agents.process import AgencyProcess
from hub.clock import CHINA_TZ
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.working_calendar import WorkingCalendar
from tests.acceptance.hub_http import wait_row

START = HUB_START = datetime(2025, 3, 3, 10, tzinfo=CHINA_TZ)  # a Monday; 4-7 and 10 March are the 5 working days
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
RESULT = "cn.court.interop.bank.IntensiveQueryResult"
ID = "11010519800303002"
SUBJECT = person("集约人", ID + ric.calc_check_digit(ID + "?"))
LATE_UNIT = "icbc"
STATE: dict[str, Any] = {}


@pytest.fixture
def court(own_court: CourtClient) -> CourtClient:
    return own_court


async def results(court: CourtClient, request_id: str, pred: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m.body for m in court.received if m.request_id == request_id and m.schema == RESULT and pred(m.body)]
        if found:
            return found[-1]
        await court.poll()
    raise TimeoutError(f"no such result for {request_id}")


async def test_silent_units_are_no_response_at_the_deadline_and_the_result_completes_seed_001(
        court: CourtClient, own_hub: WorkerProcess) -> None:
    iq = bank_api.intensive_query(court, case=court.case("（2025）京0105执301号", date(2025, 2, 1)), subject=SUBJECT,
                               officer=OFFICER, assistance_notice=document("ASSISTANCE_NOTICE", "集约"))
    await court.send(iq)
    parent = wait_row(own_hub, iq.request_id, lambda r: r["state"] == "routed")  # to its units
    due = WorkingCalendar().add_working_days(START.date(), 5)
    assert due.day == date(2025, 3, 10) and parent["due"] == due.end_ms
    # while units are pending, the court may not query them itself
    refused = bank_api.query(court, bank=LATE_UNIT, case=court.case("（2025）京0105执301号", date(2025, 2, 1)),
                         subject=SUBJECT,
                          officer=OFFICER, assistance_notice=document("ASSISTANCE_NOTICE", "自查"))
    await court.send(refused)
    (error,) = await court.wait_for(refused.request_id, timeout_s=60)
    assert error.schema.endswith("ErrorReply") and error.body["error_code"] == "refused"
    status, _ = own_hub.http("/clock", data={
        "advance_seconds": (datetime.fromtimestamp(due.end_ms / 1000, CHINA_TZ) + timedelta(minutes=2)
                            - START).total_seconds()})
    assert status == 200
    final = await results(court, iq.request_id, lambda b: b["complete"])
    states = {u["unit_code"]: u["state"] for u in final["units"]}
    assert len(states) >= 25 and set(states.values()) == {"NO_RESPONSE"}, states
    assert not any(u["late"] for u in final["units"])
    # complete at the units' deadline: answered, and not late (the silent units were)
    done = wait_row(own_hub, iq.request_id, lambda r: r["state"] == "answered")
    assert [s for s, _ in done["log"]] == ["accepted", "routed", "answered"]
    expired = [m for m in court.received if m.request_id == f"{iq.request_id}.{LATE_UNIT}"
               and m.schema.endswith("DeadlineEvent") and m.body["kind"] == "EXPIRED"]
    assert expired, "the court is told which unit gave no answer in time"
    # complete: the court's own query to a unit goes through now
    own = bank_api.query(court, bank=LATE_UNIT, case=court.case("（2025）京0105执301号", date(2025, 2, 1)),
                         subject=SUBJECT,
                      officer=OFFICER, assistance_notice=document("ASSISTANCE_NOTICE", "自查"))
    await court.send(own)
    assert wait_row(own_hub, own.request_id, lambda r: r["state"] == "delivered")["agency"] == LATE_UNIT
    STATE.update(iq=iq.request_id, own=own.request_id)


async def test_a_unit_answering_after_its_deadline_updates_the_result_marked_late_seed_001(
        court: CourtClient, own_hub: WorkerProcess, tmp_path) -> None:
    KeyStore(own_hub.settings.data_dir).generate([LATE_UNIT])
    bank = AgencyProcess(own_hub.settings, tmp_path / "bank.log", ["simulate", "banks", "--agency", LATE_UNIT])
    bank.spawn()
    try:
        updated = await results(court, STATE["iq"], lambda b: any(u["late"] for u in b["units"]), timeout=90)
    finally:
        bank.stop()
    (unit,) = [u for u in updated["units"] if u["late"]]
    assert unit["unit_code"] == LATE_UNIT and unit["state"] in {"HIT", "NO_HIT"} and updated["complete"]
    assert {u["state"] for u in updated["units"] if u["unit_code"] != LATE_UNIT} == {"NO_RESPONSE"}
