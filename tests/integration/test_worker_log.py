"""An operator can trust the worker's ERROR lines: an idle, then busy, worker logs none.

faust's livelock detector (``Consumer._commit_livelock_detector``) runs every
``broker_commit_interval * 2.5`` seconds and, for every assigned partition, logs "Stream has not
started processing" / "Stream stopped processing, or is slow" at ERROR once a partition's high water
is ``stream_processing_timeout`` ahead of a stream that reads nothing.  The table changelog partitions
(paused after recovery, written by the worker itself) used to trigger it forever; :mod:`hub.consumer`
leaves them out.  The worker here runs with faust's own environment variables lowering both settings
(check every 2.5 s, 5 s timeout instead of every 7 s, 5 min); the production settings are untouched.
It runs once with each ``HUB_LOG_FORMAT``: with ``json`` every line of the worker's output (faust's
records after its own logging set-up included) must be one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from pathlib import Path

import pytest

from agents.court.samples import query_request
from hub.clock import SystemClock
from hub.codec import default_codec
from hub.process import WorkerProcess
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from support.ports import free_ports
from tests.integration.kafka_io import produce

CHECK_INTERVAL_S = 1.0 * 2.5  # BROKER_COMMIT_INTERVAL * 2.5 (faust/transport/consumer.py)
STALL_TIMEOUT_S = 5.0  # STREAM_PROCESSING_TIMEOUT
#: long enough for the check to run several times past the timeout
PHASE_S = STALL_TIMEOUT_S + 4 * CHECK_INTERVAL_S
FALSE_ALARMS = re.compile(r"has not started processing|stopped processing", re.IGNORECASE)
#: the level of a text line: faust's "[time] [pid] [LEVEL] ..." or the CLI's "time LEVEL logger: ..."
TEXT_LEVEL = re.compile(r"^\[[^]]+\] \[\d+\] \[([A-Z]+)\]|^\d{4}-\d\d-\d\d [\d:,]+ ([A-Z]+) ")


async def _wait_for_request(worker: WorkerProcess, request_id: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, row = worker.http(f"/requests/{request_id}")
        if status == 200:
            return dict(row)
        await asyncio.sleep(0.3)
    raise AssertionError(f"request {request_id} never reached the request table; see {worker.log_path}")


def _levels_and_messages(log: str, log_format: str) -> list[tuple[str, str]]:
    """(level, text) of every line: a JSON object per line with HUB_LOG_FORMAT=json, faust's or the CLI's text
    format otherwise (continuation lines of a multi-line record have no level)."""
    lines = [line for line in log.splitlines() if line.strip()]
    if log_format == "json":
        entries = [json.loads(line) for line in lines]  # every line, or this fails
        assert all(set(e) >= {"time", "level", "logger", "message"} for e in entries)
        return [(str(e["level"]), f"{e['message']} {e.get('exception', '')}") for e in entries]
    found = []
    for line in lines:
        level = TEXT_LEVEL.search(line)
        found.append(((level.group(1) or level.group(2)) if level else "", line))
    return found


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_idle_then_busy_worker_logs_no_error(
    applied_settings: HubSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_format: str
) -> None:
    # faust reads these (no prefix) from the environment, over the app's own values: the child only
    monkeypatch.setenv("BROKER_COMMIT_INTERVAL", "1.0")
    monkeypatch.setenv("STREAM_PROCESSING_TIMEOUT", str(STALL_TIMEOUT_S))
    (web_port,) = free_ports(1)
    # topics of its own: on the session's topics a new consumer group starts with the earlier tests' records
    # as a backlog, and a stream still working through it is what the (shortened) check rightly reports
    settings = applied_settings.model_copy(
        update={"web_port": web_port, "app_id": f"hub-log-{secrets.token_hex(4)}", "log_format": log_format,
                "topic_prefix": f"log{secrets.token_hex(3)}."}
    )
    await apply_catalog(settings.catalog, settings)  # also warms up the group coordinator (hub.topic_admin)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    codec = default_codec()
    try:
        worker.start(timeout=120)
        await asyncio.sleep(PHASE_S)  # idle: only the hub's own ticks (and their table writes)
        ids = []
        first = secrets.randbelow(8000) + 1000
        for n in range(4):  # a few requests, over several partitions: rows in the requests table
            case = f"（2025）京0105执{first + n}号"
            msg = query_request(SystemClock(), bank="icbc", case_number=case)
            await produce(settings, "court.requests", codec.encode_message(msg), case.encode())
            ids.append(msg.request_id)
        # and one the hub rejects (no such bank): dead-lettered, a WARNING naming the request
        rejected_case = f"（2025）京0105执{first + 4}号"
        rejected = query_request(SystemClock(), bank="nobank", case_number=rejected_case)
        await produce(settings, "court.requests", codec.encode_message(rejected), rejected_case.encode())
        rows = [await _wait_for_request(worker, request_id) for request_id in [*ids, rejected.request_id]]
        assert [row["state"] for row in rows] == ["delivered"] * len(ids) + ["rejected"], rows
        await asyncio.sleep(PHASE_S)  # the check runs again over the changelog partitions just written
        assert worker.running(), f"worker exited; see {worker.log_path}"
    finally:
        worker.stop()
    log = worker.log_path.read_text(errors="replace")  # stdout and stderr of the worker
    records = _levels_and_messages(log, log_format)
    assert any("[^Worker]: Ready" in text for _, text in records), log[-2000:]
    errors = [text for level, text in records if level in ("ERROR", "CRITICAL")]
    assert not errors, "\n".join(errors[:20])
    alarms = [text for _, text in records if FALSE_ALARMS.search(text)]
    assert not alarms, "\n".join(alarms[:20])
    if log_format == "json":  # the dead-letter line carries the request's fields
        [dead] = [e for e in map(json.loads, log.splitlines()) if e.get("request_id") == rejected.request_id]
        assert dead["logger"] == "hub.deadletter" and dead["level"] == "WARNING"
        assert dead["case_number"] == rejected_case and dead["agency"] == "nobank"
