"""Everything a hub process shares: settings, catalog, codec, clock and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from hub.clock import Clock, clock_from_settings
from hub.codec import AvroCodec, default_codec
from hub.metrics import HubMetrics, build_metrics
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG, Catalog


@dataclass(frozen=True)
class HubRuntime:
    settings: HubSettings
    catalog: Catalog
    codec: AvroCodec
    clock: Clock
    metrics: HubMetrics

    @classmethod
    def build(
        cls,
        settings: HubSettings,
        *,
        catalog: Catalog = DEFAULT_CATALOG,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
    ) -> HubRuntime:
        return cls(
            settings=settings,
            catalog=catalog,
            codec=default_codec(),
            clock=clock or clock_from_settings(settings.clock, settings.clock_start),
            metrics=build_metrics(registry),
        )
