"""The hub's producer: sends are pipelined, and no input offset is committed after a lost send.

The hub hands a message to the producer and goes on with the next record instead of waiting for
the broker's acknowledgement of each send (waiting serialises every record behind one network round
trip).  That keeps *at least once* because faust flushes the producer before it commits the input
offsets (``Consumer._commit_offsets``): every message produced while processing a record is
acknowledged before that record counts as done.  What flushing alone does not do is notice a send
that failed for good (aiokafka retries until its delivery timeout, then fails the message's future).
:class:`GuardedProducer` watches those futures and, once one failed, refuses every later flush, so
faust can never again commit in this process: the worker crashes, and the restarted worker gets the
records again from the last commit (duplicates are absorbed by request-id idempotency).

The done-callback runs before the flush that waited on the failed batch resumes (aiokafka resolves
a batch's message futures in the same call that resolves the batch), so the refusal is in place
before the commit that would otherwise follow.

Like every producer of the project it is ``acks=all`` and idempotent.  faust builds the aiokafka
producer from ``_settings_default()`` (``acks`` = the ``producer_acks`` setting), ``_settings_auth()``
and ``_settings_extra()``, merged in that order; its own ``_settings_extra`` adds
``enable_idempotence`` only under ``processing_guarantee="exactly_once"``, so ours always does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer

from hub.consumer import DEFAULT_FETCH_MAX_WAIT_MS, HubConsumer
from hub.deadletter import RawRecord
from hub.errors import SendLost

log = logging.getLogger(__name__)


class GuardedProducer(Producer):
    """faust's aiokafka producer that refuses to flush once a watched send has failed."""

    send_failure: BaseException | None = None

    def _settings_extra(self) -> Mapping[str, Any]:
        """Last of the aiokafka producer's kwargs: durable (all in-sync replicas) and without duplicates."""
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}

    def watch(self, fut: asyncio.Future[Any]) -> None:
        fut.add_done_callback(self._check)

    def _check(self, fut: asyncio.Future[Any]) -> None:
        exc: BaseException | None = asyncio.CancelledError() if fut.cancelled() else fut.exception()
        if exc is not None and self.send_failure is None:
            self.send_failure = exc
            log.critical("a send was not acknowledged (%r): no further offset commit from this worker", exc)

    async def flush(self) -> None:
        app = self.transport.app
        for hook in getattr(app, "before_flush", ()):
            await hook()
        await super().flush()
        if self.send_failure is not None:
            raise SendLost(f"a message was not acknowledged by the broker: {self.send_failure!r}")


class HubApp(faust.App):
    """The faust app of the hub, with :class:`GuardedProducer` as its producer and
    :class:`~hub.consumer.HubConsumer` (no false stall alarms on changelog partitions) as its consumer."""

    #: where the hub's topics send a record they cannot decode (the worker's dead-letter path)
    undecodable: Callable[[BaseException, RawRecord], Awaitable[None]] | None = None
    #: the consumer's fetch long-poll (``consumer_fetch_max_wait_ms``; see :mod:`hub.consumer`)
    fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: awaited at the start of every producer flush, i.e. before every offset commit (the audit log's batches)
        self.before_flush: list[Callable[[], Awaitable[None]]] = []

    def _new_producer(self) -> GuardedProducer:
        return GuardedProducer(self.transport, loop=self.loop, beacon=self.beacon)

    def _new_consumer(self) -> HubConsumer:
        # faust's App._new_consumer with the hub's consumer class (transport.create_consumer would use the
        # transport's own): faust's stall check leaves the table changelog partitions alone, where it can
        # only raise false ERRORs, and stays on every partition a stream reads (see hub.consumer)
        return HubConsumer(
            self.transport, callback=self.topics.on_message, on_partitions_revoked=self._on_partitions_revoked,
            on_partitions_assigned=self._on_partitions_assigned, beacon=self.beacon, loop=self.transport.loop,
        )
