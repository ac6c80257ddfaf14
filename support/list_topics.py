"""The list's two topics as the hub's publisher writes them, and the current list as compaction leaves it.

For the tests and the benchmark of a copy bootstrapped from the current list: each publication is a
``ListEvent`` on ``credit.list.history`` and the listing's ``ListEntry`` on ``credit.list.current``
(:func:`hub.flows.credit.publisher.current_entry`), plus a tombstone when the listing leaves the list,
written straight to partition 0 with aiokafka, without a hub.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from hub.clock import Clock
from hub.codec import AvroCodec
from hub.envelope import envelope, message
from hub.flows.credit.messages import ENTRY, EVENT, LIST_READERS
from hub.flows.credit.publisher import current_entry
from hub.settings import HubSettings
from topics.catalog import Role

#: a record of the current list: (key, value), the value None for a tombstone
Record = tuple[bytes, bytes | None]
SEND_CHUNK = 20_000


class Publication:
    """One publication as the hub writes it: its history record and its current-list records.

    The current-list records are encoded when first asked for: most of a long history's are compacted away.
    """

    __slots__ = ("_clock", "_codec", "_current", "_event", "history", "listing_id", "publication_id", "removed")

    def __init__(self, codec: AvroCodec, clock: Clock, event: Mapping[str, Any]) -> None:
        self.publication_id = int(event["publication_id"])
        self.listing_id = str(event["listing_id"])
        self.removed = not event["in_force"]
        self.history = codec.encode_message(message(EVENT, self._envelope(clock, event), dict(event)))
        self._codec, self._clock = codec, clock
        self._event = event
        self._current: tuple[Record, ...] | None = None

    def _envelope(self, clock: Clock, event: Mapping[str, Any]) -> dict[str, Any]:
        return envelope(clock, request_id=str(event["decision_request_id"]), recipient=LIST_READERS,
                        correlation_id=self.listing_id)

    @property
    def current(self) -> tuple[Record, ...]:
        """The ListEntry, and the tombstone when the listing left the list."""
        if self._current is None:
            key = self.listing_id.encode()
            entry = self._codec.encode_message(message(ENTRY, self._envelope(self._clock, self._event),
                                                       current_entry(self._event)))
            self._current = ((key, entry), (key, None)) if self.removed else ((key, entry),)
        return self._current


def publication(codec: AvroCodec, clock: Clock, event: Mapping[str, Any]) -> Publication:
    """The records the hub's publisher writes for ``event`` (a ListEvent body with its digest)."""
    return Publication(codec, clock, event)


@dataclass
class CompactedCurrent:
    """The current list after the log cleaner ran: add every publication, then take :meth:`records`.

    Kafka never cleans the active segment, so the records of the last ``dirty_tail`` publications stay as
    written (they also make every older record of their keys removable); before them, each key keeps only
    its latest record, in offset order, and tombstones are gone unless ``keep_tombstones`` (within
    ``delete.retention.ms``).
    """

    dirty_tail: int = 0
    keep_tombstones: bool = False
    #: key -> (order of its latest record, the publication whose ListEntry it is; None: a tombstone)
    _latest: dict[bytes, tuple[int, Publication | None]] = field(default_factory=dict)
    _tail: deque[Publication] = field(default_factory=deque)
    _order: int = 0

    def add(self, pub: Publication) -> None:
        self._order += 2 if pub.removed else 1  # the ListEntry (and the tombstone after it)
        self._latest[pub.listing_id.encode()] = (self._order, None if pub.removed else pub)
        if self.dirty_tail:
            self._tail.append(pub)
            if len(self._tail) > self.dirty_tail:
                self._tail.popleft()

    def records(self) -> list[Record]:
        tail_keys = {pub.listing_id.encode() for pub in self._tail}
        head = sorted(((order, key, pub) for key, (order, pub) in self._latest.items()
                       if key not in tail_keys and (pub is not None or self.keep_tombstones)), key=lambda r: r[0])
        return [(key, pub.current[0][1] if pub is not None else None) for _, key, pub in head] + \
            [r for pub in self._tail for r in pub.current]


async def write_records(settings: HubSettings, role: Role, records: Iterable[Record]) -> int:
    """Write ``records`` in order to partition 0 of the list topic of ``role``; returns how many."""
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, linger_ms=5, max_batch_size=512 * 1024,
                                **settings.kafka_client_kwargs())
    await producer.start()
    topic = settings.topic(settings.catalog.one(role).name)
    written = 0
    try:
        futures: list[asyncio.Future[Any]] = []
        for key, value in records:
            futures.append(await producer.send(topic, value, key=key, partition=0))
            written += 1
            if len(futures) >= SEND_CHUNK:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return written


async def write_history(settings: HubSettings, pubs: Iterable[Publication]) -> int:
    return await write_records(settings, Role.LIST_HISTORY, ((p.listing_id.encode(), p.history) for p in pubs))


async def write_current(settings: HubSettings, pubs: Iterable[Publication]) -> int:
    """Every current-list record of ``pubs`` as the publisher writes them (nothing compacted)."""
    return await write_records(settings, Role.LIST_CURRENT, (r for p in pubs for r in p.current))
