"""HTTP endpoints of the worker: ``/metrics``, ``/health``, ``/ready``, ``/clock`` and ``/requests``.

Only ``/health``, ``/ready`` and ``/metrics`` answer anonymous callers.  Every other page needs
``Authorization: Bearer <token>`` (:mod:`hub.web_token`; 401 without it), and a route that is not
one of the pages below (faust's built-in views, which :func:`hub.worker_app.create_app` turns off) gets 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import faust
from aiohttp import web as aiohttp_web
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.clock import ManualClock
from hub.context import HubContext
from hub.errors import ConfigError
from hub.health import HealthChecker
from hub.web_token import PUBLIC_PAGES, bearer_auth, web_token

# aiohttp refuses a charset inside content_type; the exposition format is UTF-8 by definition.
METRICS_CONTENT_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if not p.startswith("charset"))


def register(app: faust.App, ctx: HubContext) -> set[str]:
    """Serve the hub's pages on the worker's web server behind the bearer-token check; the route patterns."""
    runtime = ctx.runtime
    health = HealthChecker(runtime)
    pages: set[str] = set()

    def page(path: str) -> Callable[[Any], Any]:
        pages.add(path)
        return app.page(path)

    web_app = getattr(app.web, "web_app", None)
    if not isinstance(web_app, aiohttp_web.Application):
        raise ConfigError(f"the worker's web driver is {type(app.web).__name__}, not aiohttp: "
                          "its pages cannot be protected", field="web")
    web_app.middlewares.append(bearer_auth(web_token(runtime.settings), pages, PUBLIC_PAGES))

    @page("/metrics")
    async def metrics_view(web: View, request: Request) -> Response:
        runtime.metrics.clock_time_seconds.set(runtime.clock.now().timestamp())
        return web.bytes(generate_latest(runtime.metrics.registry), content_type=METRICS_CONTENT_TYPE)

    @page("/health")
    async def health_view(web: View, request: Request) -> Response:
        report = await health.report()
        return web.json(report, status=200 if report["status"] == "ok" else 503)

    @page("/clock")
    class ClockView(View):
        """GET the hub's time; POST ``{"advance_seconds": N}`` to move a manual clock forward."""

        async def get(self, request: Request) -> Response:
            return self.json({"now": runtime.clock.now().isoformat(), "kind": runtime.settings.clock})

        async def post(self, request: Request) -> Response:
            clock = runtime.clock
            if not isinstance(clock, ManualClock):
                return self.json({"error": "the system clock cannot be moved"}, status=409)
            payload: Any = await request.json()
            seconds = float(payload.get("advance_seconds", 0)) if isinstance(payload, dict) else -1.0
            if seconds < 0:
                return self.json({"error": "advance_seconds must be a non-negative number"}, status=400)
            now = clock.advance(timedelta(seconds=seconds))
            return self.json({"now": now.isoformat(), "kind": "manual"})

    async def on_worker_start() -> None:
        runtime.metrics.worker_starts_total.inc()
        runtime.metrics.up.set(1)

    app.task(on_worker_start)

    @page("/ready")
    async def ready_view(web: View, request: Request) -> Response:
        """Ready once the consumer owns partitions and no rebalance is under way; which hub partitions it owns."""
        try:
            assigned = len(app.consumer.assignment())
        except (AttributeError, RuntimeError):
            assigned = 0
        ready = assigned > 0 and not app.rebalancing
        return web.json({"ready": ready, "assigned_partitions": assigned,
                         "hub_partitions": ctx.audit.writer.owned()}, status=200 if ready else 503)

    @page("/requests")
    async def requests_view(web: View, request: Request) -> Response:
        """Outstanding-request table: ``?court=&agency=&state=&limit=`` (newest first), rows as stored."""
        query = request.query
        court, agency, state = query.get("court"), query.get("agency"), query.get("state")
        limit = int(query.get("limit", "100"))
        rows = [
            r for r in ctx.requests.all()
            if (court is None or r.court == court) and (agency is None or r.agency == agency)
            and (state is None or r.state.value == state)
        ]
        rows.sort(key=lambda r: r.changed_ms, reverse=True)
        return web.json({"count": len(rows), "requests": [r.to_json() for r in rows[:limit]]})

    @page("/requests/{request_id}")
    async def request_view(web: View, request: Request, request_id: str) -> Response:
        row = ctx.requests.get(request_id)
        if row is None:
            return web.json({"error": f"no request {request_id}"}, status=404)
        return web.json(row.to_json())

    return pages
