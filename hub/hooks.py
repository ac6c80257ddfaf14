"""The one hook set flows plug into (like faust's Sensor): routes, observers, ticks and timed jobs.

A flow's ``register(context)`` tells :class:`FlowHooks` which message types it handles and what it
wants to hear about; the worker (:mod:`hub.worker_app`) or an in-process test
(:mod:`hub.memory_backend`) then drives the same hooks.  Nothing registers at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hub.codec import AvroMessage
from hub.deadletter import Observer as DeadLetterObserver
from hub.deadletter import RawRecord
from hub.errors import ConfigError
from hub.lifecycle import RequestRow
from topics.catalog import Role

#: handles one decoded message (court request, agency message or hub-internal message) and its record
Handler = Callable[[AvroMessage, RawRecord], Awaitable[None]]
#: told about every message a flow accepted: (the role of the topic it came from, the message, its record)
AcceptObserver = Callable[[Role, AvroMessage, RawRecord], Awaitable[None]]
#: told about every row written to the request table: (new row, the row it replaces or None)
RequestObserver = Callable[[RequestRow, RequestRow | None], None]
#: told about every row written to a table: (key, new row, the row it replaces or None)
RowObserver = Callable[[str, dict[str, Any], dict[str, Any] | None], None]
#: runs for one of this worker's partitions on every tick: (partition, now_ms)
TickHandler = Callable[[int, int], Awaitable[None]]
#: told about one request at a moment of its life: (row, now_ms)
RequestHook = Callable[[RequestRow, int], Awaitable[None]]
#: whether an input message is paced background work (a sweep's reply), not live traffic
PacedTraffic = Callable[[AvroMessage], bool]
#: a periodic or background job of the worker
Job = Callable[[], Awaitable[None]]
#: told which partitions this worker just lost to another
RevokeObserver = Callable[[set[int]], None]


@dataclass
class FlowHooks:
    """Everything a flow registers, in one place; registering one message type twice is a wiring error."""

    court_routes: dict[str, Handler] = field(default_factory=dict)
    agency_routes: dict[str, Handler] = field(default_factory=dict)
    internal_routes: dict[str, Handler] = field(default_factory=dict)
    accepted: list[AcceptObserver] = field(default_factory=list)
    dead_lettered: list[DeadLetterObserver] = field(default_factory=list)
    request_written: list[RequestObserver] = field(default_factory=list)
    ticks: list[TickHandler] = field(default_factory=list)
    warned: list[RequestHook] = field(default_factory=list)
    expired: list[RequestHook] = field(default_factory=list)
    timers: list[tuple[float, Job]] = field(default_factory=list)
    background: list[Job] = field(default_factory=list)
    commit_waits: list[Job] = field(default_factory=list)
    revoked: list[RevokeObserver] = field(default_factory=list)
    paced: list[PacedTraffic] = field(default_factory=list)

    @staticmethod
    def _add(routes: dict[str, Handler], schemas: tuple[str, ...], fn: Handler, where: str) -> None:
        for schema in schemas:
            if schema in routes:
                raise ConfigError(f"{schema} already has a handler on {where}: {routes[schema].__qualname__}",
                                  field="hooks")
            routes[schema] = fn

    def court_route(self, *schemas: str) -> Callable[[Handler], Handler]:
        """Register the handler of message types arriving from the courts (``court.requests``)."""

        def register(fn: Handler) -> Handler:
            self._add(self.court_routes, schemas, fn, "court.requests")
            return fn

        return register

    def agency_route(self, *schemas: str) -> Callable[[Handler], Handler]:
        """Register the handler of message types arriving from an agency outbox."""

        def register(fn: Handler) -> Handler:
            self._add(self.agency_routes, schemas, fn, "agency outboxes")
            return fn

        return register

    def internal_route(self, *schemas: str) -> Callable[[Handler], Handler]:
        """Register the handler of hub-internal messages sent to a partition of ``hub.ticks``."""

        def register(fn: Handler) -> Handler:
            self._add(self.internal_routes, schemas, fn, "hub.ticks")
            return fn

        return register

    def on_accept(self, fn: AcceptObserver) -> AcceptObserver:
        self.accepted.append(fn)
        return fn

    def on_dead_letter(self, fn: DeadLetterObserver) -> DeadLetterObserver:
        self.dead_lettered.append(fn)
        return fn

    def on_request_written(self, fn: RequestObserver) -> RequestObserver:
        self.request_written.append(fn)
        return fn

    def on_tick(self, fn: TickHandler) -> TickHandler:
        self.ticks.append(fn)
        return fn

    def on_warning(self, fn: RequestHook) -> RequestHook:
        """``fn(row, now_ms)``, awaited when a request passes its warning time."""
        self.warned.append(fn)
        return fn

    def on_expired(self, fn: RequestHook) -> RequestHook:
        """``fn(row, now_ms)``, awaited when a request becomes overdue."""
        self.expired.append(fn)
        return fn

    def every(self, seconds: float) -> Callable[[Job], Job]:
        """A job the worker runs every ``seconds`` (wall time; the job reads the hub clock itself)."""

        def register(fn: Job) -> Job:
            self.timers.append((seconds, fn))
            return fn

        return register

    def before_commit(self, fn: Job) -> Job:
        """A job awaited before every offset commit (what the committed records caused is on the broker first)."""
        self.commit_waits.append(fn)
        return fn

    def paced_traffic(self, fn: PacedTraffic) -> PacedTraffic:
        """``fn(message)``: True for an input message of paced background work (a sweep's reply).  Its wait is
        not a live record's: the worker steers that work by how long *live* records wait
        (:meth:`hub.input_progress.InputProgress.steering_delay_ms`)."""
        self.paced.append(fn)
        return fn

    def on_revoked(self, fn: RevokeObserver) -> RevokeObserver:
        """``fn(partitions)``: the hub partitions this worker lost (before another worker is given them)."""
        self.revoked.append(fn)
        return fn

    def in_background(self, fn: Job) -> Job:
        """A job the worker starts once and runs for its lifetime."""
        self.background.append(fn)
        return fn
