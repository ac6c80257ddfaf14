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
