"""The worker's agents take turns: one record each, then the event loop goes round (:func:`hub.worker_app._in_turn`)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.worker_app import _in_turn, _spread


@dataclass
class _Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None
    headers: Any = ()
    timestamp: float | None = None


@dataclass
class _Event:
    value: Any
    message: _Message


class _Backlog:
    """A stream whose events are all queued: like faust's (``Stream._py_aiter`` takes a queued event with
    ``get_nowait``), it hands the next one over without ever suspending."""

    def __init__(self, topic: str, n: int) -> None:
        self.queued = [_Event(f"{topic}{i}", _Message(topic, 0, i)) for i in range(n)]

    async def events(self) -> AsyncIterator[_Event]:
        for event in self.queued:
            yield event


def _recording(handled: list[str]) -> Callable[[AvroMessage, RawRecord], Awaitable[None]]:
    async def handle(value: AvroMessage, record: RawRecord) -> None:
        handled.append(str(value))
    return handle


async def test_an_agent_with_a_backlog_lets_the_other_agents_handle_their_records_between_two_of_its_own() -> None:
    """A burst of sweep replies in one agent kept a live court request in another waiting to the burst's end;
    in turn, the court's record is handled after at most one reply."""
    handled: list[str] = []
    replies = asyncio.create_task(_in_turn(_Backlog("reply", 50), _recording(handled)))  # type: ignore[arg-type]
    court = asyncio.create_task(_in_turn(_Backlog("court", 1), _recording(handled)))  # type: ignore[arg-type]
    await asyncio.gather(replies, court)
    assert len(handled) == 51
    assert handled.index("court0") <= 1, handled[:5]


async def test_ticks_are_spread_over_the_period_not_sent_at_once() -> None:
    """Every partition's tick at the same moment sent every partition's sweeps at once, and their replies came back
    as one burst; spread, one partition's at a time."""
    sent: list[float] = []

    async def tick(partition: int) -> None:
        sent.append(time.monotonic())

    started = time.monotonic()
    await _spread([0, 1, 2, 3], tick, 0.2)
    assert len(sent) == 4
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(sent)), "a quarter of the spread apart"
    assert time.monotonic() - started >= 0.195, "the whole spread is taken, so the timer's period stays"
    started = time.monotonic()
    await _spread([], tick, 0.05)
    assert time.monotonic() - started >= 0.045, "also with no partition owned"
