"""Outstanding requests: memory held by N lifecycle records, and restoring them after a restart.

* plain dict (``python -m bench.memory <N>``): a fresh interpreter builds N lifecycle records
  exactly like the ``requests`` table's values (hub.lifecycle new -> routed -> delivered, then a
  JSON round trip, as a restored row is) in a dict keyed by request id and reports its RSS before
  and after;
* hub worker: N rows are written straight to the ``hub.table.requests`` changelog (JSON key and
  value, each row in its partition ``p``); a hub worker with a new data dir is started and timed
  until ``/ready`` (faust marks it ready once the tables are recovered: the *cold* rebuild), its RSS
  read, then it is stopped and started again on the same data dir (the *restart*) and timed and
  measured again.  A worker over an empty changelog is the baseline.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench.env import BenchEnv, apply_topics, rss_bytes
from bench.load import producer
from hub.deadlines import deadline_ms
from hub.lifecycle import State, new_record, transition
from hub.process import WorkerProcess
from hub.settings import HubSettings
from hub.working_calendar import WorkingCalendar
from topics.catalog import HUB_PARTITIONS, table_changelog_name

START_MS = 1_735_779_600_000  # 2025-01-02T09:00+08:00
CALENDAR = WorkingCalendar()


def lifecycle_row(i: int, partitions: int = HUB_PARTITIONS) -> tuple[str, dict[str, Any]]:
    """The ``requests`` row of the i-th outstanding (delivered, unanswered) query, over ``partitions``."""
    rid = str(uuid.UUID(int=i + 1, version=4))
    now = START_MS + i
    rec = new_record(
        rid,
        type_="QueryRequest",
        court="京0105",
        case=f"（2024）京0105执{100000 + i}号",
        agency="icbc",
        now_ms=now,
        partition=i % partitions,
        deadline=deadline_ms("QueryRequest", now, CALENDAR),
    )
    rec = transition(transition(rec, State.ROUTED, now), State.DELIVERED, now + 1)
    return rid, rec.to_json()


def dict_rss(rows: int) -> dict[str, int]:
    """RSS of this process before and after holding ``rows`` records in a plain dict."""
    import gc

    gc.collect()
    base = rss_bytes_self()
    table: dict[str, dict[str, Any]] = {}
    for i in range(rows):
        rid, rec = lifecycle_row(i)
        table[rid] = json.loads(json.dumps(rec))
    gc.collect()
    return {"rows": len(table), "rss_base": base, "rss_full": rss_bytes_self()}


def rss_bytes_self() -> int:
    import os

    return rss_bytes(os.getpid())


async def write_changelog(settings: HubSettings, rows: int) -> float:
    """Write ``rows`` rows to the requests changelog; returns the seconds it took."""
    topic = settings.topic(table_changelog_name("requests"))
    prod = await producer(settings)
    started = time.monotonic()
    try:
        futures = []
        for i in range(rows):
            rid, rec = lifecycle_row(i, settings.partitions)
            futures.append(
                await prod.send(
                    topic, json.dumps(rec).encode(), key=json.dumps(rid).encode(), partition=rec["p"]
                )
            )
            if len(futures) >= 20_000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await prod.stop()
    return time.monotonic() - started


@dataclass
class Recovery:
    seconds: float
    rss: int
    sample_found: bool


async def _timed_start(worker: WorkerProcess, sample: str | None) -> Recovery:
    """Start ``worker``: seconds from spawn to /ready, its RSS, and whether row ``sample`` is there."""
    started = time.monotonic()
    await asyncio.to_thread(worker.start, 600.0)
    seconds = time.monotonic() - started
    await asyncio.sleep(1.0)
    found = True
    if sample is not None:
        status, _ = await asyncio.to_thread(worker.http, f"/requests/{sample}", None, 30.0)
        found = status == 200
    return Recovery(seconds, rss_bytes(worker.pid or 0), found)


async def start_and_time(env: BenchEnv, settings: HubSettings, name: str, sample: str | None) -> Recovery:
    """Start a worker, time it to /ready (see :func:`_timed_start`), stop it."""
    worker = env.worker(settings, name)
    try:
        return await _timed_start(worker, sample)
    finally:
        await asyncio.to_thread(env.forget, worker)


class Outstanding:
    """The changelog with N rows, written once; each repeat restores it with a fresh app id and data dir.

    :meth:`restore` measures both recoveries of a worker: *cold* (a new data dir: every row is read
    back from the changelog, as on a replacement machine) and *restart* (the same worker stopped
    and started again on its data dir: the RocksDB files are reopened and only the changelog
    written after the persisted offsets is read).
    """

    def __init__(self, env: BenchEnv, rows: int) -> None:
        self.env, self.rows = env, rows
        self.settings = env.fresh("recover")
        self.write_s = 0.0

    async def prepare(self) -> None:
        await apply_topics(self.settings)
        self.write_s = await write_changelog(self.settings, self.rows)

    async def restore(self) -> tuple[Recovery, Recovery]:
        """(cold rebuild, restart) of a worker over the N-row changelog."""
        fresh = self.env.fresh("recover")
        settings = self.settings.model_copy(
            update={"app_id": fresh.app_id, "web_port": fresh.web_port, "data_dir": fresh.data_dir}
        )
        sample = lifecycle_row(self.rows - 1)[0]
        worker = self.env.worker(settings, f"recover-{fresh.app_id}")
        try:
            cold = await _timed_start(worker, sample)
            await asyncio.to_thread(worker.stop)
            again = self.env.worker(settings, f"restart-{fresh.app_id}")
            try:
                return cold, await _timed_start(again, sample)
            finally:
                await asyncio.to_thread(self.env.forget, again)
        finally:
            await asyncio.to_thread(self.env.forget, worker)

    async def empty(self) -> Recovery:
        settings = self.env.fresh("empty")
        await apply_topics(settings)
        return await start_and_time(self.env, settings, f"empty-{settings.app_id}", None)


async def plain_dict(env: BenchEnv, rows: int) -> dict[str, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.memory", str(rows), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe exited with {proc.returncode}")
    result: dict[str, int] = json.loads(out)
    return result


if __name__ == "__main__":
    sys.stdout.write(json.dumps(dict_rss(int(sys.argv[1]))) + "\n")
