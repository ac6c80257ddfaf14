"""Working days past the library's last year, end to end on the real broker (SPEC §6; 004 §13; 失信规定 art. 10).

chinese-calendar knows 2004-2026 only.  A hub worker of its own (own topics, data dir and manual clock on
2026-12-28) accepts a query and an intensive query whose 5 working days run into 2027: they are delivered
with provisional due dates.  A listing whose term ends on 2027-01-01 is deleted at its end and the worker
stays up.  Loading a 2027 schedule (tests/data/calendar/2027.toml, a test fixture) with ``interop-hub
calendar load`` turns the provisional dues into official ones, recounted; later deadline events say so.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from stdnum.cn import ric

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, officer, person
from agents.credit import court_api as api
from hub.clock import CHINA_TZ
from hub.codec import default_codec
from hub.flows.credit.messages import DEADLINE_EVENT
from hub.process import WorkerProcess, http_json, settings_env
from hub.settings import HubSettings
from hub.working_calendar import WorkingCalendar, end_of_day_ms
from hub.working_calendar.schedule_file import read_schedule
from tests.acceptance.hub_http import advance_to, hub_now, metric, metrics, row, wait_row

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "calendar" / "2027.toml"
START = HUB_START = datetime(2026, 12, 28, 10, tzinfo=CHINA_TZ)  # a Monday, three working days before 2027
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
CODEC = default_codec()
LIBRARY = WorkingCalendar()
OFFICIAL = WorkingCalendar([read_schedule(FIXTURE)])
STATE: dict[str, Any] = {}


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


@pytest.fixture
def court(own_court: CourtClient) -> CourtClient:
    return own_court


async def history(settings: HubSettings) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic("credit.list.history"), 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        out = []
        while len(out) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            out += [CODEC.decode(r.value).body for r in batch.get(tp, [])]
        return out
    finally:
        await consumer.stop()


async def wait_history(settings: HubSettings, pred: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in await history(settings) if pred(e)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, "no such list event"
        await asyncio.sleep(0.5)


def alive(worker: WorkerProcess) -> bool:
    status, _ = http_json(worker.base_url + "/health")
    return worker.proc is not None and worker.proc.poll() is None and status == 200


async def test_query_and_intensive_query_accepted_on_28_december_2026_get_provisional_dues_004_s13(
        court: CourtClient, own_hub: WorkerProcess) -> None:
    """004 §13: 5 working days; 2027 is not in the library: counted provisionally, delivered, never refused."""
    case = court.case("（2026）京0105执2027号", date(2026, 12, 1))
    subject = person("张跨年", "110105198001010" + "01" + ric.calc_check_digit("11010519800101001?"))
    query = bank_api.query(court, bank="icbc", case=case, subject=subject, officer=OFFICER,
                        assistance_notice=document("ASSISTANCE_NOTICE", "跨年查询"))
    intensive = bank_api.intensive_query(court, case=court.case("（2026）京0105执2028号", date(2026, 12, 1)),
                                         subject=subject,
                                      officer=OFFICER, assistance_notice=document("ASSISTANCE_NOTICE", "跨年集约"))
    await court.send(query)
    await court.send(intensive)
    expected = LIBRARY.add_working_days(START.date(), 5)
    assert expected.day == date(2027, 1, 5) and expected.provisional
    for request_id in (query.request_id, intensive.request_id, f"{intensive.request_id}.icbc"):
        rec = wait_row(own_hub, request_id, lambda r: r["state"] in {"delivered", "routed"})
        assert rec["provisional"] is True and rec["due"] == expected.end_ms, rec
        assert rec["warn"] == _ms(START) + int((expected.end_ms - _ms(START)) * 0.75)
    assert not [m for m in court.received if m.schema.endswith("ErrorReply")]
    text = metrics(own_hub)
    assert metric(text, 'interop_hub_provisional_deadlines_total{message_type="QueryRequest"}') >= 1
    assert metric(text, "interop_hub_calendar_official_until_timestamp_seconds") == end_of_day_ms(
        date(2026, 12, 31)) / 1000
    STATE.update(query=query.request_id, intensive=intensive.request_id)


async def test_listing_whose_term_ends_in_2027_is_deleted_at_its_end_and_the_worker_stays_up_art10_para2(
        court: CourtClient, own_hub: WorkerProcess) -> None:
    """失信规定 art. 10 para 2: deleted when the term ends; its 3-working-day ack deadline is provisional."""
    case = court.case("（2024）京0105执2029号", date(2024, 3, 1))
    id_number = "11010519750505" + "123"
    id_number += ric.calc_check_digit(id_number + "?")
    subject = {**person("失信人", id_number), "gender": "MALE"}
    now = hub_now(own_hub)
    msg = api.decision(court, listing_id=f"SX-2027-{secrets.token_hex(3)}", action="LIST", decided_at=now,
                       ground="EVADING_EXECUTION", content=api.content(court, case, subject, age=51),
                       term_start=date(2025, 1, 2))
    await api.send(court, msg, case["case_number"])
    listed = await wait_history(own_hub.settings, lambda e: e["listing_id"] == msg.body["listing_id"])
    assert listed["entry"]["term_end"] == date(2027, 1, 1)
    # past the provisional warning of the query (3 Jan 2027, 20:30) and the term's end
    advance_to(own_hub, datetime(2027, 1, 3, 21, tzinfo=CHINA_TZ))
    deleted = await wait_history(own_hub.settings, lambda e: e["listing_id"] == msg.body["listing_id"]
                                 and e["action"] == "DELETE")
    assert deleted["deletion_ground"] == "TERM_EXPIRED" and deleted["in_force"] is False
    warning = (await court.wait_for(STATE["query"], schema=DEADLINE_EVENT, timeout_s=60))[0]
    assert warning.body["kind"] == "WARNING" and warning.body["provisional"] is True
    await asyncio.sleep(2)  # a few more ticks of the list clock after the deletion
    assert alive(own_hub)
    STATE["expiry"] = str(deleted["decision_request_id"])


async def test_loading_the_2027_schedule_turns_provisional_dues_into_official_ones(
        court: CourtClient, own_hub: WorkerProcess) -> None:
    """The operator loads the year's schedule as data; running workers recount, events say official."""
    env = {**os.environ, **settings_env(own_hub.settings)}
    out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub", "calendar", "load", str(FIXTURE)],
                                  env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "adds a year" in out.stdout and "2026-12-31 (now rest, library: working)" in out.stdout
    installed = own_hub.settings.data_dir / "calendar" / "2027.toml"
    assert installed.stat().st_mode & 0o777 == 0o600
    official = OFFICIAL.add_working_days(START.date(), 5)  # 29, 30 Dec, 4, 5, 6 Jan: 31 Dec is a rest day
    assert official.day == date(2027, 1, 6) and not official.provisional
    for request_id in (STATE["query"], STATE["intensive"], f"{STATE['intensive']}.icbc"):
        rec = wait_row(own_hub, request_id, lambda r: r["provisional"] is False)
        assert rec["due"] == official.end_ms and rec["state"] in {"delivered", "routed"}, rec
    assert metric(metrics(own_hub), "interop_hub_calendar_official_until_timestamp_seconds") == end_of_day_ms(
        date(2027, 12, 31)) / 1000
    # past the provisional due, before the official one: the index entry of the old time does nothing
    advance_to(own_hub, datetime(2027, 1, 6, 0, 2, tzinfo=CHINA_TZ))
    await asyncio.sleep(3)  # ticks
    assert row(own_hub, STATE["query"])["state"] == "delivered"
    # past the official due: the court's "no answer in time" and the list escalation are official
    advance_to(own_hub, datetime.fromtimestamp(official.end_ms / 1000, CHINA_TZ) + timedelta(minutes=2))
    expired = await court.wait_for(STATE["query"], schema=DEADLINE_EVENT, count=2, timeout_s=60)
    kinds = [(m.body["kind"], m.body["provisional"]) for m in expired]
    assert kinds == [("EXPIRED", False), ("EXPIRED", False)], kinds  # the court was warned once, in 2026's terms
    assert _ms(expired[-1].body["due_at"]) == official.end_ms
    escalated = await court.wait_for(STATE["expiry"], schema=DEADLINE_EVENT, count=2, timeout_s=60)
    assert {(m.body["kind"], m.body["provisional"]) for m in escalated} == {("EXPIRED", False)}
    assert _ms(escalated[0].body["due_at"]) == OFFICIAL.add_working_days(date(2027, 1, 1), 3).end_ms
    assert alive(own_hub)
