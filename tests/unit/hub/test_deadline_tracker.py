"""Answer deadlines at the hub (SPEC §6): warned at 75 %, overdue at the due time, late answers recorded.

A freeze is due within 48 hours of delivery (network-control-measure, 000 §16); the tracker runs on
ticks of the injected clock, in process with the real context and delivery path.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub import deadline_tracker
from hub.clock import ManualClock
from hub.codec import AvroMessage, default_codec
from hub.flows.correlation import mark_answered
from hub.flows.delivery import deliver
from hub.lifecycle import RequestRow, State
from hub.memory_backend import MemoryHub

CODEC = default_codec()
CASE = "（2024）京0105执1号"


def _events(hub: MemoryHub, topic: str) -> list[AvroMessage]:
    return [m for m in (CODEC.decode(s.value or b"") for s in hub.sender.on(topic))
            if m.schema == deadline_tracker.DEADLINE_EVENT]


async def _advance_and_tick(hub: MemoryHub, hours: float) -> None:
    clock = hub.ctx.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=hours))
    await hub.intake.tick(0, clock.now_ms())


async def _delivered_freeze(hub: MemoryHub) -> RequestRow:
    deadline_tracker.register(hub.ctx)
    await deliver(hub.ctx, "FreezeRequest", b"sealed bytes", request_id="f1", court="京0105", case=CASE,
                  agency="icbc", partition=0)
    await hub.intake.tick(0, hub.ctx.clock.now_ms())  # the partition's cursor starts now
    row = hub.ctx.requests.get("f1")
    assert row is not None and row.state is State.DELIVERED and row.rule_id == "network-control-measure"
    return row


async def test_a_freeze_unanswered_at_75_percent_of_48_hours_warns_the_court_000_s16(bare_hub: MemoryHub) -> None:
    await _delivered_freeze(bare_hub)
    await _advance_and_tick(bare_hub, 35.9)
    assert _events(bare_hub, "court.notices") == []
    await _advance_and_tick(bare_hub, 0.2)  # 36.1 h: past 75 % of 48 h
    [warning] = _events(bare_hub, "court.notices")
    assert warning.body["kind"] == "WARNING" and warning.envelope["recipient"] == "京0105"
    assert warning.body["rule_id"] == "network-control-measure" and warning.request_id == "f1"


async def test_a_freeze_unanswered_after_48_hours_is_overdue_and_escalated_000_s16(bare_hub: MemoryHub) -> None:
    expired: list[str] = []

    @bare_hub.ctx.hooks.on_expired
    async def waiting_flow(row: RequestRow, now_ms: int) -> None:
        expired.append(row.request_id)

    await _delivered_freeze(bare_hub)
    await _advance_and_tick(bare_hub, 48.1)
    row = bare_hub.ctx.requests.get("f1")
    assert row is not None and row.state is State.OVERDUE
    assert [e.body["kind"] for e in _events(bare_hub, "court.replies")] == ["EXPIRED"]  # the outcome
    assert [e.body["kind"] for e in _events(bare_hub, "court.notices")] == ["WARNING", "EXPIRED"]  # escalation
    assert expired == ["f1"]
    await _advance_and_tick(bare_hub, 1)
    assert len(_events(bare_hub, "court.replies")) == 1  # fires once


@pytest.mark.parametrize(("answered_after_h", "state"), [(1, State.ANSWERED), (50, State.ANSWERED_LATE)])
async def test_an_answer_in_time_stops_the_clock_and_a_late_one_is_recorded_as_late_000_s16(
        bare_hub: MemoryHub, answered_after_h: float, state: State) -> None:
    await _delivered_freeze(bare_hub)
    await _advance_and_tick(bare_hub, answered_after_h)
    answered = mark_answered(bare_hub.ctx, "f1")
    assert answered is not None and answered.state is state
    await _advance_and_tick(bare_hub, 72)
    kinds = [e.body["kind"] for e in _events(bare_hub, "court.notices")]
    assert kinds == ([] if state is State.ANSWERED else ["WARNING", "EXPIRED", "ANSWERED_LATE"])


async def test_a_resend_is_forwarded_again_with_its_first_delivery_time_000_s16(bare_hub: MemoryHub) -> None:
    first = await _delivered_freeze(bare_hub)
    await _advance_and_tick(bare_hub, 2)
    assert not await deliver(bare_hub.ctx, "FreezeRequest", b"sealed bytes", request_id="f1", court="京0105",
                             case=CASE, agency="icbc", partition=0)
    forwards = bare_hub.sender.on("agency.icbc.inbox")
    assert [dict(s.headers)["delivered-at"] for s in forwards] == [str(first.accepted_ms).encode()] * 2
    assert [s.value for s in forwards] == [b"sealed bytes"] * 2
