"""What a test reads from and does to a hub worker over its HTTP port: the clock, request rows, metrics."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.metrics import sample_sum
from hub.process import WorkerProcess


def hub_now(worker: WorkerProcess) -> datetime:
    status, body = worker.http("/clock")
    assert status == 200, body
    return datetime.fromisoformat(body["now"])


def advance_to(worker: WorkerProcess, instant: datetime) -> datetime:
    """Move the worker's manual clock forward to ``instant`` (never back)."""
    seconds = (instant - hub_now(worker)).total_seconds()
    assert seconds >= 0, f"the clock is already past {instant}"
    status, body = worker.http("/clock", data={"advance_seconds": seconds})
    assert status == 200, body
    return datetime.fromisoformat(body["now"])


def row(worker: WorkerProcess, request_id: str) -> dict[str, Any]:
    status, body = worker.http(f"/requests/{request_id}")
    assert status == 200, body
    return dict(body)


def wait_row(worker: WorkerProcess, request_id: str, pred: Callable[[dict[str, Any]], bool],
             timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = worker.http(f"/requests/{request_id}")
        if status == 200 and pred(body):
            return dict(body)
        assert time.monotonic() < deadline, f"{request_id}: {body}"
        time.sleep(0.3)


def metrics(worker: WorkerProcess) -> str:
    with urllib.request.urlopen(worker.base_url + "/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def metric(text: str, name: str) -> float:
    """The sum of every sample whose line starts with ``name`` (labels included in ``name`` narrow it)."""
    return sample_sum(text, name)
