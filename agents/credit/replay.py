"""Rebuilding a consumer's copy of the list from the hub's log (``interop-agency credit replay``).

``credit.list.history`` has one partition and infinite retention, and the hub writes exactly one
record per publication in publication-id order, so the log alone rebuilds the list: from the
beginning, from a publication id (a copy that stopped at N-1 catches up), or as of a point in
time (every publication made at or before it).  Records are read with the hub's reader of the log
(:func:`hub.flows.credit.list_log.read_log`); progress goes to stderr, the final digest is compared
with the digest the hub published with the last event applied.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, TextColumn

from agents.credit.store import ListStore
from hub.codec import AvroMessage
from hub.errors import ConfigError
from hub.flows.credit.list_log import read_log
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG, Role


def history_topic(settings: HubSettings) -> str:
    return settings.topic(DEFAULT_CATALOG.one(Role.LIST_HISTORY).name)


class ReplayProgress:
    """The replay's progress: a rich bar on a terminal; on a file or pipe one line when it is done (no
    carriage-return redraws in redirected output)."""

    def __init__(self, total: int, label: str = "replay", stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = max(total, 0), label, 0
        self.started = time.monotonic()
        self.console = Console(file=stream if stream is not None else sys.stderr, highlight=False)
        self.bar: Progress | None = None
        if self.console.is_terminal:
            self.bar = Progress(*Progress.get_default_columns(), TextColumn("{task.fields[rate]}"),
                                console=self.console, transient=False)
            self.task = self.bar.add_task(label, total=self.total or None, rate="")
            self.bar.start()

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            rate = self.done / max(time.monotonic() - self.started, 1e-9)
            self.bar.update(self.task, completed=self.done, rate=f"{rate:,.0f} ev/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            return
        seconds = time.monotonic() - self.started
        self.console.print(f"{self.label}: {self.done:,}/{self.total:,} events in {seconds:.1f} s "
                           f"({self.done / max(seconds, 1e-9):,.0f} ev/s)")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a copy is rebuilt.

    A rebuild allocates millions of containers (decoded events, the list's entries) and keeps most of
    them; with the collector running, each of its full collections rescans everything kept so far, which
    at 100,000 events is about a third of the replay.  The replay's own objects form no reference cycles
    (they are freed by reference counting as usual); anything cyclic allocated meanwhile is collected once
    the collector is back on, which it is afterwards if it was on before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class ReplayResult:
    applied: int
    last_publication_id: int
    size: int
    digest: str
    published_digest: str | None
    seconds: float

    @property
    def identical(self) -> bool:
        """The copy's digest is the hub's (also True when the hub has published nothing: no mismatch)."""
        return self.published_digest is None or self.digest == self.published_digest

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds > 0 else 0.0


def digest_comparison(result: ReplayResult) -> str:
    """The line of ``credit replay`` that compares the rebuilt copy's digest with the hub's."""
    if result.published_digest is None:
        return "hub's  none: the hub has published no list yet (no digest to compare)"
    return f"hub's  {result.published_digest} -> {'identical' if result.identical else 'DIFFERENT'}"


async def replay(settings: HubSettings, store: ListStore, *, from_publication: int | None = None,
                 as_of: datetime | None = None, progress: bool = True, stream: TextIO | None = None,
                 topic: str | None = None) -> ReplayResult:
    """Bring ``store`` up to the log's end (or to ``as_of``); a resumed copy continues after its last event."""
    topic = topic or history_topic(settings)
    started = time.monotonic()
    if from_publication is not None and from_publication != store.last_publication_id + 1:
        raise ConfigError(f"this copy ends at publication {store.last_publication_id}: replay from "
                          f"{store.last_publication_id + 1}, or wipe it and replay from the beginning",
                          field="from_publication")
    start = store.next_offset if store.last_publication_id else 0
    limit_ms = int(as_of.timestamp() * 1000) if as_of is not None else None
    bar: list[ReplayProgress] = []
    applied, published = 0, None

    def total(n: int) -> None:
        if progress:
            bar.append(ReplayProgress(n, stream=stream))

    async with contextlib.aclosing(read_log(settings, topic, start_offset=start, on_total=total)) as batches:
        with collector_paused():
            async for batch in batches:
                rows, stop = _until(batch, limit_ms)
                if rows:
                    published = str(rows[-1][2]["list_digest"])
                applied += store.apply_batch(rows)
                for b in bar:
                    b.update(len(rows))
                if stop:
                    break
    for b in bar:
        b.close()
    return ReplayResult(applied, store.last_publication_id, store.state.size, store.digest(),
                        published if published is not None else store.published_digest(),
                        time.monotonic() - started)


def _until(batch: list[tuple[int, bytes, AvroMessage]],
           limit_ms: int | None) -> tuple[list[tuple[int, bytes, dict[str, Any]]], bool]:
    """The records of ``batch`` published at or before ``limit_ms``, and whether the limit was reached."""
    rows: list[tuple[int, bytes, dict[str, Any]]] = []
    for offset, raw, msg in batch:
        body = msg.body
        if limit_ms is not None and int(body["published_at"].timestamp() * 1000) > limit_ms:
            return rows, True
        rows.append((offset, raw, body))
    return rows, False
