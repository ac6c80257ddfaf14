"""The one clock of the hub.

Every deadline, timer and "24 hours" reads time through a :class:`Clock`.  The
system clock is the default; a :class:`ManualClock` is advanced explicitly by
tests and by the demo's simulated time.  All instants are timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from hub.errors import ConfigError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    def now_ms(self) -> int:
        """The current instant as milliseconds since the Unix epoch."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)


class ManualClock:
    """A clock that moves only when told to; safe to share between threads."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ConfigError("a manual clock needs a timezone-aware start", field="clock_start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ConfigError("a clock never goes backwards", field="delta")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ConfigError("instant must be timezone-aware", field="instant")
        with self._lock:
            instant = instant.astimezone(UTC)
            if instant < self._now:
                raise ConfigError("a clock never goes backwards", field="instant")
            self._now = instant
            return self._now


#: Legal days (filing dates, freeze end dates, working days) are days in China Standard Time.
CHINA_TZ = ZoneInfo("Asia/Shanghai")


def china_today(clock: Clock) -> date:
    """Today's date in China for the given clock."""
    return clock.now().astimezone(CHINA_TZ).date()


def clock_from_settings(kind: str, start: str | None = None) -> Clock:
    """Build the clock named by the settings (``system`` or ``manual``)."""
    if kind == "system":
        return SystemClock()
    if kind == "manual":
        return ManualClock(datetime.fromisoformat(start) if start else None)
    raise ConfigError(f"unknown clock {kind!r}", field="clock")


def utc_datetime(ms: int | None) -> datetime | None:
    """An epoch-milliseconds instant as an aware UTC datetime (None stays None): timestamps in message bodies."""
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None
