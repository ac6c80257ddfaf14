"""The hub's pipelined sends keep *at least once*: after a lost send the worker never commits again."""

from __future__ import annotations

import asyncio

import pytest

from hub.errors import SendLost
from hub.producer import GuardedProducer, HubApp


def _producer() -> GuardedProducer:
    app = HubApp("test-guarded-producer", broker="kafka://127.0.0.1:1", store="memory://")
    producer = app.producer
    assert isinstance(producer, GuardedProducer)
    return producer


async def test_flush_succeeds_while_every_watched_send_was_acknowledged() -> None:
    producer = _producer()
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    producer.watch(fut)
    fut.set_result(7)
    await asyncio.sleep(0)  # run the done-callback
    await producer.flush()
    assert producer.send_failure is None


async def test_a_failed_send_makes_every_later_flush_and_so_every_commit_fail() -> None:
    producer = _producer()
    loop = asyncio.get_running_loop()
    failed, ok = loop.create_future(), loop.create_future()
    producer.watch(failed)
    producer.watch(ok)
    failed.set_exception(TimeoutError("batch expired"))
    ok.set_result(1)
    await asyncio.sleep(0)
    for _ in range(2):  # faust's commit flushes first: it is refused now and on every later attempt
        with pytest.raises(SendLost, match="batch expired"):
            await producer.flush()
    assert isinstance(producer.send_failure, TimeoutError)
