"""Baseline 2: a bare faust agent that only forwards, the ceiling of the engine the hub runs on.

``python -m bench.forwarder <source> <sink> <app id>``, broker from ``HUB_BOOTSTRAP_SERVERS``.
A separate tiny faust app (its own app id, no tables, no web server): one agent reads ``source``
and sends every value unchanged to ``sink`` with the same key and partition, through
``app.producer.send`` like the hub (``hub.worker_app.FaustSender``) but without waiting for each ack.  (An
agent using ``await sink_topic.send(...)`` measured about half as fast on the same machine.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import faust

from hub.settings import HubSettings


def build(settings: HubSettings, source: str, sink: str, app_id: str) -> faust.App:
    app = faust.App(
        app_id,
        broker=settings.broker_url,
        store="memory://",
        topic_partitions=4,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        datadir=str(Path(settings.data_dir) / "forwarder"),
    )
    src = app.topic(source, key_serializer="raw", value_serializer="raw")

    @app.agent(src)
    async def forward(stream: Any) -> None:
        async for event in stream.events():
            # the primitive the hub's send_raw uses, without waiting for the broker's ack
            await app.producer.send(sink, event.key, event.value, event.message.partition, None, None)

    return app


def main(argv: list[str]) -> int:
    source, sink, app_id = argv
    app = build(HubSettings(), source, sink, app_id)
    sys.argv = ["bench-forwarder", "worker", "--loglevel", "warn", "--without-web"]
    app.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
