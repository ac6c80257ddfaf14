"""A joint-punishment unit's copy of the dishonest-debtor list, from the guide's §12: the list digest (version 1)
and the bootstrap from ``credit.list.current`` continued on ``credit.list.history`` after a verified cut."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from .connection import Login, read_to_end
from .wire import Codec

LIST_ENTRY = "cn.court.interop.credit.ListEntry"
LIST_EVENT = "cn.court.interop.credit.ListEvent"
DOMAIN = b"cn.court.interop.credit.list/v1\n"
HASH_BYTES = 128
MODULUS = 1 << (8 * HASH_BYTES)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _plain(value: object) -> object:
    """Step 1's value rules for what fastavro decodes: timestamp-millis as ms, date as ISO, bytes as hex."""
    if isinstance(value, datetime):
        return (value - EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"no canonical form for {type(value).__name__}")


def canonical(record: Mapping[str, Any]) -> bytes:
    """Step 1: JSON, UTF-8, no whitespace, keys sorted by code point, only ``"`` ``\\`` and controls escaped."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_plain).encode("utf-8")


def entry_hash(record: Mapping[str, Any]) -> int:
    """Step 2: SHAKE-256, 128 bytes, unsigned big-endian."""
    return int.from_bytes(hashlib.shake_256(canonical(record)).digest(HASH_BYTES), "big")


def digest_of(size: int, accumulator: int) -> str:
    """Step 4."""
    return hashlib.sha256(DOMAIN + size.to_bytes(8, "big") + accumulator.to_bytes(HASH_BYTES, "big")).hexdigest()


def list_digest(records: Iterable[Mapping[str, Any]]) -> str:
    """Steps 1-4 over the ListingRecords in force, in any order."""
    hashes = [entry_hash(r) for r in records]
    return digest_of(len(hashes), sum(hashes) % MODULUS)  # step 3


@dataclass
class ListCopy:
    """The listings in force (listing id -> ListingRecord) and the publication the copy is verified at."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    publication_id: int = 0
    next_offset: int = 0  # the history offset to continue from

    @property
    def digest(self) -> str:
        return list_digest(self.entries.values())

    def apply(self, event: Mapping[str, Any]) -> None:
        """A ``ListEvent`` sets its listing's whole state: in force with its entry, or off the list."""
        if event["in_force"] and event["entry"] is not None:
            self.entries[event["listing_id"]] = event["entry"]
        else:
            self.entries.pop(event["listing_id"], None)
        self.publication_id = event["publication_id"]


class Unverified(RuntimeError):
    """No publication's digest matches the copy: replay the history from offset 0 instead."""


@dataclass(frozen=True)
class Bootstrapped:
    copy: ListCopy
    newest_in_snapshot: int  # M: the highest last_publication_id read from the current list
    published_digest: str  # the digest the hub published with the cut's publication


async def _history_from(login: Login, codec: Codec, offset: int) -> list[tuple[int, dict[str, Any]]]:
    """(offset, ListEvent body) of the history from ``offset`` to its end as it is now (one partition)."""
    tp = TopicPartition(login.topic("credit.list.history"), 0)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **login.client_kwargs())
    events: list[tuple[int, dict[str, Any]]] = []
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, offset)
        while await consumer.position(tp) < end:
            for rec in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                if rec.offset < end and rec.value is not None:
                    message = codec.decode(rec.value)
                    if message.name == LIST_EVENT:
                        events.append((rec.offset, message.body))
    finally:
        await consumer.stop()
    return events


async def bootstrap(login: Login, codec: Codec) -> Bootstrapped:
    """§12: read the current list, find the publication whose published digest the copy has, continue after it.

    1. the current list to its end: the last record of each listing id; a tombstone or ``in_force`` false is not
       on the list; ``M`` = the highest ``last_publication_id`` of the values;
    2. the history from publication ``M`` (offset ``M - 1``: publication ids run 1, 2, 3 … without gaps, one
       record each): compare the copy with ``M``'s ``list_digest`` and ``list_size``; if they differ, apply the
       next publications one by one until one matches — the cut;
    3. no match: :class:`Unverified` (replay the history instead).
    """
    latest: dict[str, bytes | None] = {}
    for key, value, _ in await read_to_end(login, login.topic("credit.list.current")):
        if key is not None:
            latest[key.decode("utf-8")] = value
    copy, newest = ListCopy(), 0
    for listing_id, raw in latest.items():
        if raw is None:
            continue
        message = codec.decode(raw)
        if message.name != LIST_ENTRY:
            raise Unverified(f"{listing_id}: a {message.name} on the current list")
        body = message.body
        newest = max(newest, body["last_publication_id"])
        if body["in_force"] and body["record"] is not None:
            copy.entries[listing_id] = body["record"]
    copy.publication_id = newest
    events = await _history_from(login, codec, max(newest - 1, 0))
    if newest and (not events or events[0][1]["publication_id"] != newest):
        events = [e for e in await _history_from(login, codec, 0) if e[1]["publication_id"] >= newest]
    for offset, event in events:
        if event["publication_id"] > copy.publication_id:
            copy.apply(event)
        if event["publication_id"] >= newest and \
                (copy.digest, len(copy.entries)) == (event["list_digest"], event["list_size"]):
            copy.next_offset = offset + 1
            return Bootstrapped(copy, newest, event["list_digest"])
    if newest == 0 and not copy.entries and not events:
        return Bootstrapped(copy, 0, list_digest(()))  # the empty list at publication 0
    raise Unverified(f"no publication from {newest} on matches the copy read from the current list")
