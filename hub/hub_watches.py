"""The worker watching itself: outstanding/overdue gauges, unclean restarts, consumer lag.

Faults of the hub itself are reported to the anomaly book's owner (:mod:`hub.anomaly_feed`), which opens
``HUB_FAULT`` anomalies (:mod:`hub.anomaly_notices`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from hub import anomaly_feed, anomaly_notices
from hub.anomaly_feed import AnomalyFeed
from hub.anomaly_notices import LAG
from hub.context import HubContext
from hub.request_gauges import RequestCounts
from topics.catalog import Role

log = logging.getLogger(__name__)

RUNNING_MARKER = "worker.running"
LAG_THRESHOLD = 10_000
LAG_ROLES = (Role.COURT_REQUESTS, Role.AGENCY_OUTBOX)


class RequestGauges:
    """Outstanding and overdue requests by agency and type, built by one scan once the table is recovered."""

    def __init__(self, ctx: HubContext, recovered: Callable[[], bool]) -> None:
        self.ctx = ctx
        self.recovered = recovered
        self.request_counts = RequestCounts()

    def counts(self) -> RequestCounts:
        """The request counts, built by one scan of the table the first time they are needed once it is recovered
        (rows recovered later would never be counted: until then the counts stay empty)."""
        if not self.request_counts.built and self.recovered():
            started = time.monotonic()
            self.request_counts.rebuild(self.ctx.requests.all())
            log.info("request gauges built from the table in %.2fs", time.monotonic() - started)
        return self.request_counts

    async def refresh(self) -> None:
        counts = self.counts()  # once, after recovery: one scan, then row-by-row updates
        metrics = self.ctx.runtime.metrics
        gauge_out, gauge_over = metrics.outstanding_requests, metrics.overdue_requests
        gauge_out.clear()
        gauge_over.clear()
        for (agency, type_), n in counts.nonzero(counts.outstanding).items():
            gauge_out.labels(agency, type_).set(n)
        for (agency, type_), n in counts.nonzero(counts.overdue).items():
            gauge_over.labels(agency, type_).set(n)


async def detect_unclean_restart(ctx: HubContext, feed: AnomalyFeed) -> None:
    """A worker that did not stop cleanly left its marker behind: that restart is a hub fault."""
    marker = ctx.settings.data_dir / RUNNING_MARKER
    unclean = marker.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()), encoding="utf-8")
    if unclean:
        feed.hub_fault(f"hub worker restarted after an unclean stop (marker {marker.name})", resolved=True)


class LagWatch:
    """Messages on the hub's input topics not yet committed by its consumer group; sustained lag is a fault
    (every worker measures the group's lag; the book keeps one open fault however many report it)."""

    def __init__(self, ctx: HubContext, feed: AnomalyFeed) -> None:
        self.ctx = ctx
        self.feed = feed
        self.clients: dict[str, Any] = {}
        self.lagging: dict[str, int] = {}
        self.reported = False

    async def measure(self) -> dict[str, int]:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        settings, catalog = self.ctx.settings, self.ctx.runtime.catalog
        kwargs = settings.kafka_client_kwargs()
        if not self.clients:
            self.clients["admin"] = AIOKafkaAdminClient(**kwargs)
            self.clients["consumer"] = AIOKafkaConsumer(enable_auto_commit=False, **kwargs)
            await self.clients["admin"].start()
            await self.clients["consumer"].start()
        committed = await self.clients["admin"].list_consumer_group_offsets(settings.app_id)
        lag: dict[str, int] = {}
        for role in LAG_ROLES:
            tps = [TopicPartition(settings.topic(s.name), p)
                   for s in catalog.by_role(role) for p in range(s.partitions)]
            ends = await self.clients["consumer"].end_offsets(tps)
            for tp, end in ends.items():
                self.ctx.input.broker_end(tp.topic, tp.partition, end)
            lag[role.value] = sum(
                max(ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0), 0)
                for tp in tps
            )
        return lag

    async def watch(self) -> None:
        from aiokafka.errors import KafkaError

        try:
            lag = await self.measure()
        except (KafkaError, OSError) as exc:
            log.warning("consumer lag not measured: %s", exc)
            return
        for role, value in lag.items():
            self.ctx.runtime.metrics.consumer_lag_messages.labels(role).set(value)
            self.lagging[role] = self.lagging.get(role, 0) + 1 if value > LAG_THRESHOLD else 0
        if any(n >= 2 for n in self.lagging.values()) and not self.reported:
            self.feed.hub_fault(f"{LAG} above {LAG_THRESHOLD}: {lag}")
            self.reported = True
        elif self.reported and not any(self.lagging.values()):
            self.feed.hub_fault(f"{LAG} back under {LAG_THRESHOLD}", resolved=True)
            self.reported = False


def register(ctx: HubContext, recovered: Callable[[], bool]) -> RequestGauges:
    """The gauges (their counts also tell the anomaly book's owner who waits on an agency), the anomaly
    observations and book, and the worker's self-checks."""
    gauges = RequestGauges(ctx, recovered)
    ctx.hooks.on_request_written(lambda row, old: gauges.request_counts.observe(row, old))
    feed = anomaly_feed.register(ctx, gauges.counts)
    anomaly_notices.register(ctx)
    ctx.hooks.every(5.0)(gauges.refresh)
    ctx.hooks.in_background(lambda: detect_unclean_restart(ctx, feed))
    ctx.hooks.every(10.0)(LagWatch(ctx, feed).watch)
    return gauges
