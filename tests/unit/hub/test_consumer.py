"""faust's stall check (its livelock detector) skips table changelog partitions, and only them.

The check itself is faust's (``AIOKafkaConsumerThread.verify_event_path``), run here against a
stand-in of aiokafka's partition state: records waiting (high water ahead of the position) that no
stream has taken for longer than ``stream_processing_timeout``.
"""

from __future__ import annotations

import logging
from time import monotonic
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from hub.consumer import HubConsumer
from hub.producer import HubApp


class _Assignment:
    active = True

    def __init__(self, states: dict[Any, Any]) -> None:
        self.states = states

    def state_value(self, tp: Any) -> Any:
        return self.states[(tp.topic, tp.partition)]


def _consumer_with_waiting_records(topics: list[str]) -> tuple[HubApp, HubConsumer]:
    app = HubApp(f"test-stall-{len(topics)}", broker="kafka://127.0.0.1:1", store="memory://")
    table = app.Table("rows", default=None, partitions=1)
    consumer = app.consumer
    assert isinstance(consumer, HubConsumer)
    now = monotonic()
    thread = consumer._thread
    thread.time_started = now - 3600  # started an hour ago
    states = {}
    for topic in [*topics, table.changelog_topic.get_topic_name()]:
        app.topics._acking_topics.add(topic)
        # fetched a second ago (aiokafka's path is fine), 10 records waiting behind the position
        states[(topic, 0)] = SimpleNamespace(timestamp=(now - 1) * 1000, highwater=20, position=10)
    assignment = _Assignment(states)
    thread._consumer = SimpleNamespace(  # type: ignore[assignment]
        _fetcher=SimpleNamespace(_subscriptions=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment)))
    )
    return app, consumer


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_stream_partition_with_waiting_records_still_raises_the_alarm(caplog: pytest.LogCaptureFixture) -> None:
    app, consumer = _consumer_with_waiting_records(["court.requests"])
    tp = TP("court.requests", 0)
    with caplog.at_level(logging.ERROR):
        consumer.verify_event_path(monotonic(), tp)  # no stream took any of them since start
    assert any("Stream has not started processing" in m and "court.requests" in m for m in _errors(caplog))
    caplog.clear()
    app.monitor.stream_inbound_time[tp] = monotonic() - 3000  # took one, long ago
    with caplog.at_level(logging.ERROR):
        consumer.verify_event_path(monotonic(), tp)
    assert any("Stream stopped processing, or is slow" in m for m in _errors(caplog))


def test_a_changelog_partition_is_left_to_recovery(caplog: pytest.LogCaptureFixture) -> None:
    app, consumer = _consumer_with_waiting_records([])
    changelog = next(iter(app.tables.changelog_topics))
    with caplog.at_level(logging.DEBUG):
        consumer.verify_event_path(monotonic(), TP(changelog, 0))  # the same state as above
    assert _errors(caplog) == []


def test_the_worker_app_uses_the_hub_consumer() -> None:
    app = HubApp("test-stall-app", broker="kafka://127.0.0.1:1", store="memory://")
    assert type(app.consumer) is HubConsumer


async def test_the_worker_consumer_long_polls_at_most_the_fetch_wait_setting() -> None:
    """faust builds the worker's consumer with a fixed 1,500 ms long-poll; the hub's thread gives it the app's
    ``fetch_max_wait_ms`` (``HUB_CONSUMER_FETCH_MAX_WAIT_MS``), which aiokafka's start hands its Fetcher."""
    import inspect

    from aiokafka import AIOKafkaConsumer

    from hub.consumer import HubConsumerThread

    app = HubApp("test-fetch-wait", broker="kafka://127.0.0.1:1", store="memory://")
    app.fetch_max_wait_ms = 70
    thread = app.consumer._thread
    assert isinstance(thread, HubConsumerThread)
    built = thread._create_worker_consumer(app.transport)
    try:
        assert built._fetch_max_wait_ms == 70
        # the attribute is what AIOKafkaConsumer.start() passes to its Fetcher (an upgrade changing that fails here)
        assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start)
    finally:
        await built.stop()


async def test_the_input_high_watermark_is_none_for_a_partition_the_worker_does_not_read() -> None:
    """hub.input_progress asks the consumer how far each input partition goes; a partition not assigned here
    (or a consumer not started) is unknown, never an error in the worker's report."""
    from hub.worker_app import _highwater

    app = HubApp("test-highwater", broker="kafka://127.0.0.1:1", store="memory://")
    highwater = _highwater(app)
    assert highwater("court.requests", 0) is None  # the consumer has not started
    thread = app.consumer._thread
    thread._consumer = thread._create_worker_consumer(app.transport)  # built, nothing assigned
    try:
        assert highwater("court.requests", 0) is None
    finally:
        await thread._consumer.stop()
