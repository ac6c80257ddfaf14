"""The 24-hour anomaly notice (seed 002 §4(五)) on the real broker, with a bank that never answers.

"双方应于系统发生异常的 24 小时内通知对方".  A worker of its own (its clock moves) and no bank running: icbc is
silent.  Two courts have queries outstanding to it; when the first one passes its warning the hub detects the
silence and both courts (and icbc) are told at once, due 24 hours from the anomaly's start; a third court that
sends to icbc while the anomaly is open is told at once too.  A court adapter's burst of malformed records is
the court gateway's anomaly, not a hub fault; each malformed record is answered with what identifies it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, officer, person
from hub.anomaly import DEAD_LETTER_SPIKE, NOTIFY_WITHIN_MS
from hub.clock import CHINA_TZ
from hub.process import WorkerProcess
from tests.acceptance.hub_http import advance_to, metric, metrics, row, wait_row

START = HUB_START = datetime(2025, 3, 3, 10, tzinfo=CHINA_TZ)  # Monday
NOTICE = "cn.court.interop.ops.AnomalyNotice"
ERROR = "cn.court.interop.ops.ErrorReply"
OFFICER = officer("王监督", "13900139000", "京法执证0105-0077")
ID = "11010519800404003"
SUBJECT = person("异常人", ID + ric.calc_check_digit(ID + "?"))
STATE: dict[str, Any] = {}


@pytest.fixture
async def courts(own_hub: WorkerProcess) -> AsyncIterator[dict[str, CourtClient]]:
    clients = {code: CourtClient(own_hub.settings, code) for code in ("京0105", "沪0115", "渝0103")}
    for client in clients.values():
        await client.__aenter__()
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.__aexit__(None, None, None)


async def query(court: CourtClient, n: int) -> str:
    msg = bank_api.query(court, bank="icbc", case=court.case(f"（2025）{court.court.code}执{n}号", date(2025, 2, 1)),
                      subject=SUBJECT, officer=OFFICER, assistance_notice=document("ASSISTANCE_NOTICE", f"N{n}"))
    await court.send(msg)
    return msg.request_id


async def notices_to(reader: CourtClient, recipient: str, pred: Any = None, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in reader.received if m.schema == NOTICE and m.envelope["recipient"] == recipient
                 and (pred is None or pred(m.body))]
        if found:
            return found
        assert time.monotonic() < deadline, f"no notice to {recipient}"
        await reader.poll()


async def test_every_court_waiting_on_a_silent_agency_is_told_at_detection_002_s4_5(
        courts: dict[str, CourtClient], own_hub: WorkerProcess) -> None:
    beijing, shanghai = courts["京0105"], courts["沪0115"]
    first = await query(beijing, 1)
    wait_row(own_hub, first, lambda r: r["state"] == "delivered")
    advance_to(own_hub, START + timedelta(hours=2))
    second = await query(shanghai, 2)
    warn_first = wait_row(own_hub, second, lambda r: r["state"] == "delivered") and row(own_hub, first)["warn"]
    assert row(own_hub, second)["warn"] > warn_first
    # the first query passes its warning: icbc has said nothing since: the silence is detected
    detected = advance_to(own_hub, datetime.fromtimestamp(warn_first / 1000, CHINA_TZ) + timedelta(minutes=1))
    reader = beijing
    told = {court: (await notices_to(reader, court))[0] for court in ("京0105", "沪0115")}
    for msg in told.values():
        body = msg.body
        assert body["kind"] == "AGENCY_SILENT" and body["agency"] == "icbc" and body["state"] == "OPEN"
        assert body["detected_at"] == detected and body["affected_courts"] == ["京0105", "沪0115"]
        assert body["notify_due_at"] == detected + timedelta(milliseconds=NOTIFY_WITHIN_MS)
        assert msg.envelope["sent_at"] - detected < timedelta(minutes=1)  # not when its own query warns
    assert row(own_hub, second)["warn"] > int(detected.timestamp() * 1000)  # Shanghai's own warning is later
    STATE.update(anomaly=told["京0105"].body["anomaly_id"], detected=detected)


async def test_a_court_sending_to_the_agency_while_the_anomaly_is_open_is_told_at_once_002_s4_5(
        courts: dict[str, CourtClient], own_hub: WorkerProcess) -> None:
    chongqing = courts["渝0103"]
    joined = advance_to(own_hub, STATE["detected"] + timedelta(hours=3))
    request = await query(chongqing, 3)
    wait_row(own_hub, request, lambda r: r["state"] == "delivered")
    (msg,) = await notices_to(chongqing, "渝0103")
    assert msg.body["anomaly_id"] == STATE["anomaly"] and msg.body["detected_at"] == STATE["detected"]
    assert "渝0103" in msg.body["affected_courts"]
    assert msg.body["notify_due_at"] == joined + timedelta(milliseconds=NOTIFY_WITHIN_MS)
    assert metric(metrics(own_hub), "interop_hub_notices_overdue_total") == 0  # every notice in time


async def test_a_court_adapters_malformed_burst_is_the_gateways_anomaly_and_each_record_is_named_002_s4_5(
        courts: dict[str, CourtClient], own_hub: WorkerProcess) -> None:
    gateway = courts["京0105"]
    for n in range(DEAD_LETTER_SPIKE):
        await gateway.send_raw(b"\x00 not an avro message " + bytes([n]), f"（2025）京0105执{900 + n}号")
    (notice,) = await notices_to(gateway, "court-gateway", timeout=60)
    assert notice.body["kind"] == "ERROR_RATE" and notice.body["agency"] == "court-gateway"
    assert "dead-letter spike" in notice.body["description"] and notice.body["affected_courts"] == []
    errors = [m for m in gateway.received if m.schema == ERROR]
    assert len(errors) >= DEAD_LETTER_SPIKE
    first = errors[0]
    topic, partition, offset = first.body["rejected_topic"], first.body["rejected_partition"], first.body[
        "rejected_offset"]
    assert first.request_id == f"{topic}/{partition}/{offset}" and topic.endswith("court.requests")
    assert first.body["rejected_key"].startswith("（2025）京0105执9")
    assert not [m for m in gateway.received if m.schema == NOTICE and m.body["kind"] == "HUB_FAULT"]
