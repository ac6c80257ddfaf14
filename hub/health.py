"""Dependency checks behind ``/health``: each one runs with its own timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from hub.runtime import HubRuntime

Check = Callable[[], Awaitable[dict[str, Any]]]


class HealthChecker:
    def __init__(self, runtime: HubRuntime, extra: dict[str, Check] | None = None) -> None:
        self.rt = runtime
        self._admin: AIOKafkaAdminClient | None = None
        self.checks: dict[str, Check] = {"broker": self._broker, "schemas": self._schemas, "clock": self._clock}
        self.checks.update(extra or {})

    async def _broker(self) -> dict[str, Any]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(**self.rt.settings.kafka_client_kwargs())
            await admin.start()
            self._admin = admin
        cluster = await self._admin.describe_cluster()
        return {"brokers": len(cluster.get("brokers", [])), "bootstrap": self.rt.settings.bootstrap_servers}

    async def _schemas(self) -> dict[str, Any]:
        return {"messages": len(self.rt.codec.registry)}

    async def _clock(self) -> dict[str, Any]:
        return {"now": self.rt.clock.now().isoformat(), "kind": self.rt.settings.clock}

    async def _run(self, name: str, check: Check) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            detail = await asyncio.wait_for(check(), self.rt.settings.health_timeout_s)
            result: dict[str, Any] = {"ok": True, **detail}
        except TimeoutError:
            result = {"ok": False, "error": f"timed out after {self.rt.settings.health_timeout_s}s"}
        except (KafkaError, OSError) as exc:
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.perf_counter() - started, 4)
        return result

    async def report(self) -> dict[str, Any]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(n, self.checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        return {"status": "ok" if all(r["ok"] for r in results) else "degraded", "checks": checks}

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
