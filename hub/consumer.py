"""The hub's consumer: a fetch long-poll short enough for live latency; faust's stall check runs only on
partitions a stream reads.

**The fetch wait.**  faust's aiokafka driver builds the worker's consumer with a fixed
``fetch_max_wait_ms=1500`` (``AIOKafkaConsumerThread._create_worker_consumer``; no setting reaches it).
aiokafka keeps one fetch request in flight per broker, and a partition with records still buffered is left
out of the next request (``Fetcher._get_actions_per_node``).  So when the worker drains such a partition just
after a request went out for the others, that request long-polls up to the wait for data on the others before
the drained partition is fetched again: with traffic spread over many partitions (one agency's outbox per
partition of every agency, a sweep's replies from 26 banks), records waited ~1 s at the median and 2.5 s at
the 99th percentile for a worker that was idle most of the time (bench ``--only sweep``, 2026-11-26).
:class:`HubConsumerThread` builds the same consumer with ``consumer_fetch_max_wait_ms`` (100 ms): an idle
worker then sends ten empty fetches a second, and no record waits more than that for the fetch.

**The stall check.**

faust's consumer runs a *livelock detector* (``faust/transport/consumer.py``)::

    @Service.task
    async def _commit_livelock_detector(self) -> None:
        interval: float = self.commit_interval * 2.5      # broker_commit_interval (2.8 s) * 2.5 = 7 s
        ...
            if not self.app.rebalancing:
                await self.verify_all_partitions_active()  # -> verify_event_path(now, tp) for tp in assignment()

and the aiokafka driver's ``verify_event_path`` (``faust/transport/drivers/aiokafka.py``) logs at ERROR,
for a partition of an acking topic whose high-water mark is ahead of the consumer's position::

    if has_acks and committed_offset is not None:
        if highwater > committed_offset:
            inbound = monitor.stream_inbound_time.get(tp)
            if inbound is None:
                if secs_since_started >= self.tp_stream_timeout_secs:
                    self._log_slow_processing_stream(SLOW_PROCESSING_STREAM_IDLE_SINCE_START, ...)
                    # "Stream has not started processing %r (started %s)."
            ...
            if secs_since_stream >= self.tp_stream_timeout_secs:
                self._log_slow_processing_stream(SLOW_PROCESSING_STREAM_IDLE, ...)
                # "Stream stopped processing, or is slow for %r (last inbound %s)."

``tp_stream_timeout_secs`` (and the fetch-request timeout) is the ``stream_processing_timeout`` setting
(5 min), the commit checks use ``broker_commit_livelock_soft_timeout`` (5 min); no setting chooses the
partitions.  ``assignment()`` includes every table's changelog partitions, and a changelog topic is an
acking topic, but no stream ever reads one: recovery reads it, then pauses the active ones for good
(``faust/tables/recovery.py``: ``self.log.info("Done reading from changelog topics")`` /
``T(consumer.pause_partitions)(active_tps)``), while this very worker keeps appending to them (every
table write).  So the high-water mark moves ahead of a position that never moves, ``stream_inbound_time``
is never set for them, and five minutes after start every changelog partition the hub writes
(``hub.table.requests``, ``hub.table.deadline_index``, ...) logs "Stream has not started processing"
at ERROR on every pass of the detector, forever.  Raising the timeout only delays that; turning it
off (or down to WARNING) would also hide a stream that really stopped.

:class:`HubConsumer` therefore skips the check for changelog partitions only (faust's own
``Consumer._is_changelog_tp``: the topic is one of ``app.tables.changelog_topics``) — recovery has
its own checks while it reads them (``Recovery._verify_remaining`` -> ``verify_recovery_event_path``).
Every partition a stream reads keeps faust's full check at ERROR: records waiting (high water ahead
of the position) that no stream takes for ``stream_processing_timeout`` is a real stall.  An idle
partition of a quiet topic does not trigger it (high water == position: nothing is waiting), and the
detector does not run while ``app.rebalancing``.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types import TP

DEFAULT_FETCH_MAX_WAIT_MS = 100


class HubConsumerThread(AIOKafkaConsumerThread):
    """faust's consumer thread whose worker consumer long-polls at most the app's ``fetch_max_wait_ms``."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # read by AIOKafkaConsumer.start() when it builds its Fetcher: the constructor's argument, which faust fixes
        consumer._fetch_max_wait_ms = int(getattr(self.consumer.app, "fetch_max_wait_ms", DEFAULT_FETCH_MAX_WAIT_MS))
        return consumer


class HubConsumer(Consumer):
    """faust's aiokafka consumer with :class:`HubConsumerThread`, whose stall check leaves table changelog
    partitions to recovery."""

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return HubConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def verify_event_path(self, now: float, tp: TP) -> None:
        if self._is_changelog_tp(tp):
            return  # read by recovery, never by a stream: "has not started processing" cannot apply
        super().verify_event_path(now, tp)
