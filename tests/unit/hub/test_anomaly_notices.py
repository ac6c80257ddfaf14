"""Anomaly notices (002 §4(五)): what the hub observes becomes a notice to the parties concerned."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastavro.schema import load_schema

from hub.anomaly_feed import HEARTBEAT, OBSERVATIONS, OWNER_PARTITION, wall_ms
from hub.anomaly_notices import ANOMALY_NOTICE
from hub.codec import AvroCodec, AvroMessage, SchemaRegistry, default_codec
from hub.envelope import envelope, message
from hub.flows.delivery import deliver
from hub.memory_backend import MemoryHub
from schemas import SCHEMA_DIR
from tests.unit.conftest import memory_runtime

CODEC = default_codec()
INTERVAL = 5000


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


def _observations(hub: MemoryHub, n: int, **lists: list[dict[str, Any]]) -> AvroMessage:
    body: dict[str, Any] = {"worker": "w/1", **{name: [] for name in (
        "messages", "heartbeats", "errors", "dead_letters", "warnings", "joined", "waiting", "answered", "acks",
        "faults")}, **lists}
    return message(OBSERVATIONS, envelope(hub.ctx.clock, request_id=f"observations-w/1-{n}", recipient="hub"), body)


def _heartbeat_seen(hub: MemoryHub, at_wall_ms: int) -> dict[str, Any]:
    return {"agency": "icbc", "status": "UP", "interval_ms": INTERVAL, "at_ms": hub.ctx.clock.now_ms(),
            "wall_ms": at_wall_ms}


async def _owner_sweeps(hub: MemoryHub) -> list[str]:
    await hub.intake.tick(OWNER_PARTITION, hub.ctx.clock.now_ms())
    await hub.settle()
    return [n.body["kind"] for n in _notices(hub, "ops.anomalies") if n.body["state"] == "OPEN"]


async def test_the_owner_does_not_blame_an_agency_for_heartbeats_a_lagging_worker_has_not_read_002_s4_5(
        full_hub: MemoryHub) -> None:
    """The owner's wall clock is 4 intervals past icbc's last heartbeat read, but the worker reading icbc's outbox
    is behind it (read up to 1 interval past it): no HEARTBEAT_MISSING until the worker has caught up."""
    heartbeat_at = wall_ms() - 4 * INTERVAL
    lag = {"agency": "icbc", "partition": 3, "read_ms": heartbeat_at + INTERVAL, "behind": 40_000}
    await full_hub.send("hub.ticks", "0", _observations(full_hub, 1, heartbeats=[_heartbeat_seen(
        full_hub, heartbeat_at)], lagging=[lag]), partition=OWNER_PARTITION)
    assert await _owner_sweeps(full_hub) == []
    caught_up = {**lag, "read_ms": wall_ms(), "behind": 0}
    await full_hub.send("hub.ticks", "0", _observations(full_hub, 2, lagging=[caught_up]), partition=OWNER_PARTITION)
    assert await _owner_sweeps(full_hub) == ["HEARTBEAT_MISSING"]


async def test_observations_of_a_worker_without_lagging_still_apply(tmp_path: Path) -> None:
    """A worker of the previous version writes AnomalyObservations without ``lagging``: the owner applies it."""
    current = json.loads(json.dumps(load_schema(str(SCHEMA_DIR / f"{OBSERVATIONS}.avsc"), _write_hint=False)))
    body = next(f for f in current["fields"] if f["name"] == "body")["type"]
    body["fields"] = [f for f in body["fields"] if f["name"] != "lagging"]
    registry = SchemaRegistry.from_dir()
    old_writer = registry.add_writer_version(current, origin="previous")
    hub = MemoryHub(replace(memory_runtime(tmp_path), codec=AvroCodec(registry)))
    report = _observations(hub, 1, heartbeats=[_heartbeat_seen(hub, wall_ms() - 4 * INTERVAL)])
    assert "lagging" not in report.body
    old_bytes = AvroCodec(SchemaRegistry([old_writer])).encode(OBSERVATIONS, report.datum)
    assert hub.ctx.codec.decode(old_bytes).body["lagging"] == []
    await hub.receive("hub.ticks", b"0", old_bytes, partition=OWNER_PARTITION)
    assert await _owner_sweeps(hub) == ["HEARTBEAT_MISSING"]
