"""The event loop of every hub process: uvloop unless ``HUB_EVENT_LOOP=asyncio``.

Each process of the hub (worker, simulators, bench, demo) spends a large share of its time in the
event loop itself — socket writes, callbacks, task wake-ups (the benchmark's profiles show it).
uvloop runs the same asyncio programs on libuv; the standard loop stays one setting away.
"""

from __future__ import annotations

import asyncio

from hub.settings import HubSettings


def install(settings: HubSettings) -> None:
    """Make ``settings.event_loop`` the loop of every ``asyncio.run`` and faust worker of this process."""
    if settings.event_loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
