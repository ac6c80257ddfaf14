"""The intake: every message is handled, rejected with its reason, or dead-lettered — never dropped (SPEC §7)."""

from __future__ import annotations

import pytest

from hub.codec import AvroMessage, default_codec
from hub.deadletter import RawRecord
from hub.envelope import envelope, message
from hub.errors import ConfigError, ValidationError
from hub.lifecycle import State
from hub.memory_backend import MemoryHub

CODEC = default_codec()
ACK = "cn.court.interop.ops.NoticeAck"
HEARTBEAT = "cn.court.interop.ops.Heartbeat"


def _ack(hub: MemoryHub, *, sender: str = "京0105", recipient: str = "hub", request_id: str = "r1") -> AvroMessage:
    env = envelope(hub.ctx.clock, request_id=request_id, sender=sender, recipient=recipient)
    return message(ACK, env, {"anomaly_id": "a1", "notice_message_id": "m1", "acknowledged_by": "值班员",
                              "acknowledged_at": hub.ctx.clock.now(), "comment": None})


def _decoded(hub: MemoryHub, topic: str) -> list[AvroMessage]:
    return [CODEC.decode(s.value or b"") for s in hub.sender.on(topic)]


async def _audit_actions(hub: MemoryHub) -> list[str]:
    return [entry["action"] for entry in await hub.audit_entries()]


async def test_a_message_type_nobody_handles_is_dead_lettered_answered_and_recorded_as_rejected(
        bare_hub: MemoryHub) -> None:
    await bare_hub.send("court.requests", "（2024）京0105执1号", _ack(bare_hub))
    [dead] = _decoded(bare_hub, "ops.deadletter")
    [reply] = _decoded(bare_hub, "court.replies")
    assert dead.body["reason_code"] == "no_route" and reply.body["error_code"] == "no_route"
    assert reply.envelope["recipient"] == "京0105" and reply.request_id == "r1"
    row = bare_hub.ctx.requests.get("r1")
    assert row is not None and row.state is State.REJECTED and row.case_number == "（2024）京0105执1号"
    assert await _audit_actions(bare_hub) == ["REJECT"]


async def test_an_accepted_message_is_audited_before_its_effects(bare_hub: MemoryHub) -> None:
    ctx = bare_hub.ctx

    @ctx.hooks.court_route(ACK)
    async def handler(msg: AvroMessage, record: RawRecord) -> None:
        await ctx.out.emit(ctx.topics.court_notices, "k", _ack(bare_hub, request_id="effect"))

    seen: list[str] = []

    @ctx.hooks.on_accept
    async def accepted(role: object, msg: AvroMessage, record: RawRecord) -> None:
        seen.append(msg.request_id)

    await bare_hub.send("court.requests", "k", _ack(bare_hub))
    assert await _audit_actions(bare_hub) == ["ACCEPT", "EMIT"]  # cause first, then its effect
    assert seen == ["r1"] and not bare_hub.sender.on("ops.deadletter")


async def test_a_handler_that_refuses_rejects_the_message_and_keeps_what_it_sent(bare_hub: MemoryHub) -> None:
    ctx = bare_hub.ctx

    @ctx.hooks.court_route(ACK)
    async def handler(msg: AvroMessage, record: RawRecord) -> None:
        await ctx.out.emit(ctx.topics.court_notices, "k", _ack(bare_hub, request_id="sent-before"))
        raise ValidationError("officer unknown", field="body.officer")

    await bare_hub.send("court.requests", "k", _ack(bare_hub))
    [dead] = _decoded(bare_hub, "ops.deadletter")
    assert dead.body["reason_code"] == "invalid" and "officer unknown" in dead.body["error_text"]
    assert await _audit_actions(bare_hub) == ["REJECT", "EMIT"]


async def test_a_handler_crash_is_an_internal_error_reply_not_a_lost_message(bare_hub: MemoryHub) -> None:
    @bare_hub.ctx.hooks.court_route(ACK)
    async def handler(msg: AvroMessage, record: RawRecord) -> None:
        raise KeyError("body")

    await bare_hub.send("court.requests", "k", _ack(bare_hub))
    [reply] = _decoded(bare_hub, "court.replies")
    assert reply.body["error_code"] == "internal_error" and "KeyError" in reply.body["message"]


async def test_an_outbox_message_must_name_its_outbox_owner_as_sender(bare_hub: MemoryHub) -> None:
    await bare_hub.send("agency.icbc.outbox", "k", _ack(bare_hub, sender="ccb"))
    [dead] = _decoded(bare_hub, "ops.deadletter")
    [reply] = _decoded(bare_hub, "agency.icbc.inbox")  # the outbox's owner is told
    assert dead.body["reason_code"] == "wrong_sender" and reply.body["field"] == "envelope.sender"


async def test_undecodable_bytes_are_dead_lettered_with_their_position(bare_hub: MemoryHub) -> None:
    await bare_hub.receive("court.requests", b"k", b"\xc3\x01not avro at all", partition=2)
    [dead] = _decoded(bare_hub, "ops.deadletter")
    assert dead.body["source_partition"] == 2 and dead.body["original"] == b"\xc3\x01not avro at all"
    assert await _audit_actions(bare_hub) == ["DEAD_LETTER"]


async def test_a_hub_internal_message_nobody_handles_is_dead_lettered(bare_hub: MemoryHub) -> None:
    await bare_hub.send("hub.ticks", "0", _ack(bare_hub))
    [dead] = _decoded(bare_hub, "ops.deadletter")
    assert dead.body["reason_code"] == "no_route"


async def test_a_tick_runs_every_time_check_and_one_failing_does_not_stop_the_others(bare_hub: MemoryHub) -> None:
    ran: list[tuple[str, int]] = []

    @bare_hub.ctx.hooks.on_tick
    async def failing(partition: int, now_ms: int) -> None:
        raise RuntimeError("broken check")

    @bare_hub.ctx.hooks.on_tick
    async def working(partition: int, now_ms: int) -> None:
        ran.append(("working", partition))

    tick = message("cn.court.interop.ops.Tick", envelope(bare_hub.ctx.clock, request_id="tick-3", recipient="hub"),
                   {"partition": 3, "issued_at": bare_hub.ctx.clock.now()})
    await bare_hub.send("hub.ticks", "3", tick, partition=3)
    assert ran == [("working", 3)]


def test_registering_a_message_type_twice_is_a_wiring_error(bare_hub: MemoryHub) -> None:
    async def one(msg: AvroMessage, record: RawRecord) -> None: ...

    bare_hub.ctx.hooks.agency_route(HEARTBEAT)(one)
    with pytest.raises(ConfigError):
        bare_hub.ctx.hooks.agency_route(HEARTBEAT)(one)


async def test_the_wait_of_paced_traffic_is_kept_apart_from_live_records_waits(bare_hub: MemoryHub) -> None:
    """Live work first: the sweeps are steered by how long live records wait; a sweep's replies (paced traffic a flow
    claims) are measured under ``traffic="paced"`` and never in that figure."""
    ctx = bare_hub.ctx
    ctx.hooks.paced_traffic(lambda msg: msg.request_id.startswith("sweep"))
    progress = ctx.input
    now = progress.clock_ms()

    def arrived(msg: AvroMessage, offset: int, waited_ms: int) -> RawRecord:
        return RawRecord(ctx.settings.topic("agency.icbc.outbox"), 0, offset, b"k", CODEC.encode_message(msg), (),
                         now - waited_ms)

    paced = _ack(bare_hub, sender="icbc", request_id="sweep-1")
    await bare_hub.intake.agency_message(paced, arrived(paced, 0, 5_000))
    assert progress.recent_delay_ms() is None, "a paced record's wait does not count"
    live = _ack(bare_hub, sender="icbc", request_id="live-1")
    await bare_hub.intake.agency_message(live, arrived(live, 1, 0))
    recent = progress.recent_delay_ms()
    assert recent is not None and recent < 5_000
    registry = ctx.runtime.metrics.registry

    def waited_s(traffic: str) -> float | None:
        return registry.get_sample_value("interop_hub_input_wait_seconds_sum",
                                         {"role": "agency_outbox", "traffic": traffic})

    assert (waited_s("paced") or 0) >= 5.0 and (waited_s("live") or 0) < 5.0
