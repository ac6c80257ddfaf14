"""Everything a hub process shares: settings, catalog, codec, clock, working-day calendar and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from hub.clock import Clock, clock_from_settings
from hub.codec import AvroCodec, default_codec
from hub.metrics import HubMetrics, build_metrics
from hub.settings import HubSettings
from hub.working_calendar import CalendarService, WorkingCalendar, calendar_dirs, end_of_day_ms
from topics.catalog import Catalog


@dataclass(frozen=True)
class HubRuntime:
    settings: HubSettings
    catalog: Catalog
    codec: AvroCodec
    clock: Clock
    metrics: HubMetrics
    calendar: CalendarService

    @classmethod
    def build(
        cls,
        settings: HubSettings,
        *,
        catalog: Catalog | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        calendar: CalendarService | None = None,
    ) -> HubRuntime:
        """Reads the working calendar's schedule files (an invalid one stops the process here)."""
        if calendar is None:
            calendar = CalendarService(calendar_dirs(settings.data_dir))
            calendar.load()
        runtime = cls(
            settings=settings,
            catalog=catalog if catalog is not None else settings.catalog,
            codec=default_codec(),
            clock=clock or clock_from_settings(settings.clock, settings.clock_start),
            metrics=build_metrics(registry),
            calendar=calendar,
        )
        runtime.calendar_changed()
        return runtime

    def calendar_changed(self) -> None:
        """Export the calendar in use (the last officially known day) to the metrics."""
        self.metrics.calendar_official_until.set(official_until_seconds(self.calendar.current))


def official_until_seconds(calendar: WorkingCalendar) -> float:
    """End (24:00 China time) of the last officially known day, in epoch seconds; 0 if none is known."""
    until = calendar.official_until
    return end_of_day_ms(until) / 1000 if until is not None else 0.0
