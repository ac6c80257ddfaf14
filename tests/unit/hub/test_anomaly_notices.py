"""Anomaly notices (002 §4(五)): what the hub observes becomes a notice to the parties concerned."""

from __future__ import annotations

from hub.anomaly_feed import HEARTBEAT
from hub.anomaly_notices import ANOMALY_NOTICE
from hub.codec import AvroMessage, default_codec
from hub.envelope import envelope, message
from hub.flows.delivery import deliver
from hub.memory_backend import MemoryHub

CODEC = default_codec()


def _notices(hub: MemoryHub, topic: str) -> list[AvroMessage]:
    return [m for m in (CODEC.decode(s.value or b"") for s in hub.sender.on(topic)) if m.schema == ANOMALY_NOTICE]


def _heartbeat(hub: MemoryHub, agency: str, status: str) -> AvroMessage:
    return message(HEARTBEAT, envelope(hub.ctx.clock, request_id=f"heartbeat-{agency}", sender=agency, recipient="hub"),
                   {"agency": agency, "status": status, "out_of_service_until": None, "detail": None,
                    "backlog": None, "interval_ms": 5000})


async def _court_waiting_on_icbc(hub: MemoryHub) -> None:
    forwarded = CODEC.encode_message(_heartbeat(hub, "icbc", "UP"))  # forwarded as they are: any bytes do
    await deliver(hub.ctx, "QueryRequest", forwarded, request_id="q1", court="京0105", case="（2024）京0105执1号",
                  agency="icbc", partition=0)


async def test_an_agency_out_of_service_is_announced_to_it_its_waiting_courts_and_operators_002_s4_5(
        full_hub: MemoryHub) -> None:
    await _court_waiting_on_icbc(full_hub)
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "OUT_OF_SERVICE"))
    [to_ops] = _notices(full_hub, "ops.anomalies")
    assert to_ops.body["kind"] == "OUT_OF_SERVICE" and to_ops.body["agency"] == "icbc"
    assert to_ops.body["state"] == "OPEN" and to_ops.body["affected_courts"] == ["京0105"]
    [to_court] = _notices(full_hub, "court.notices")
    [to_agency] = _notices(full_hub, "agency.icbc.inbox")
    assert to_court.envelope["recipient"] == "京0105" and to_agency.envelope["recipient"] == "icbc"
    assert to_court.body["anomaly_id"] == to_agency.body["anomaly_id"] == to_ops.body["anomaly_id"]


async def test_the_agency_back_in_service_resolves_it_and_the_parties_hear_so_002_s4_5(
        full_hub: MemoryHub) -> None:
    await _court_waiting_on_icbc(full_hub)
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "OUT_OF_SERVICE"))
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "UP"))
    states = [n.body["state"] for n in _notices(full_hub, "ops.anomalies")]
    assert states[0] == "OPEN" and states[-1] == "RESOLVED"
    assert [n.body["state"] for n in _notices(full_hub, "court.notices")] == ["OPEN", "RESOLVED"]


async def test_a_heartbeat_on_another_agencys_outbox_is_refused_not_believed(full_hub: MemoryHub) -> None:
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "ccb", "OUT_OF_SERVICE"))
    assert _notices(full_hub, "ops.anomalies") == [] or all(
        n.body["agency"] != "ccb" for n in _notices(full_hub, "ops.anomalies"))
    [dead] = [CODEC.decode(s.value or b"") for s in full_hub.sender.on("ops.deadletter")]
    assert dead.body["reason_code"] == "wrong_sender"
