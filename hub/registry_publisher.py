"""Publishing the registry: every registered sealing key on ``registry.keys`` and every court with its execution
accounts on ``registry.courts``, each record sealed with the hub's key (:mod:`hub.registry_records`).

Idempotent: both topics are read to their end first, and a record is sent only when what it would say differs from
the last record of its key (or that record is not the hub's); a court that left the registry gets a tombstone, a key
never does (a retired key stays published, so what it sealed keeps verifying).  Run by ``interop-hub registry
publish`` and by every worker in the background (:func:`keep_published`): at start, then every few minutes (a key
rotated meanwhile is published then); a failure is logged and retried, it never stops the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import Clock, SystemClock
from hub.codec import AvroCodec, AvroMessage
from hub.compacted import read_latest
from hub.errors import HubError
from hub.registry_records import court_message, key_message, key_record_key, read_court, read_key
from hub.seal import KeyStore, RegisteredKey, seal_message
from hub.settings import HubSettings
from hub.tree_heads import HUB_KEY
from topics.catalog import Role
from topics.courts import COURTS, Court

log = logging.getLogger(__name__)

#: seconds between two publications by a worker (a rotated key is published within this), and after a failure
RECHECK_S = 300.0
RETRY_S = 30.0
#: what makes one publication fail and be tried again later (never the worker)
PUBLISH_FAILURES = (KafkaError, HubError, OSError, ValueError, KeyError, asyncio.TimeoutError)

Row = TypeVar("Row")


@dataclass
class Changes:
    """What one topic needs: records to send (a None value is a tombstone) and how many are already right."""

    sends: list[tuple[str, bytes | None]] = field(default_factory=list)
    unchanged: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True)
class PublishReport:
    keys: Changes
    courts: Changes

    def line(self) -> str:
        return (f"keys: {len(self.keys.sends)} published, {self.keys.unchanged} unchanged; courts: "
                f"{len(self.courts.sends) - self.courts.removed} published, {self.courts.unchanged} unchanged, "
                f"{self.courts.removed} removed")


class HubSigner:
    """Seals records with the hub's key (``keys/registry.json`` entry ``hub``)."""

    def __init__(self, codec: AvroCodec, key_id: str, key: Ed25519PrivateKey) -> None:
        self.codec, self.key_id, self.key = codec, key_id, key
        self.anchor = key.public_key()

    def encode(self, msg: AvroMessage) -> bytes:
        return self.codec.encode_message(seal_message(self.codec, msg, self.key, self.key_id))


def plan(current: Mapping[str, bytes | None], wanted: Mapping[str, Row],
         read: Callable[[str, bytes], Row], build: Callable[[Row], bytes], *, remove_missing: bool) -> Changes:
    """The records that make ``current`` (a compacted topic's last value per key) say ``wanted``.  ``read`` turns a
    stored record into its row (raising a HubError if it is not the hub's); ``build`` encodes a sealed record."""
    changes = Changes()
    for key, row in wanted.items():
        raw = current.get(key)
        if raw is not None and _reads_as(read, key, raw) == row:
            changes.unchanged += 1
        else:
            changes.sends.append((key, build(row)))
    if remove_missing:
        for key in sorted(k for k, raw in current.items() if raw is not None and k not in wanted):
            changes.sends.append((key, None))
            changes.removed += 1
    return changes


def _reads_as(read: Callable[[str, bytes], Row], key: str, raw: bytes) -> Row | None:
    try:
        return read(key, raw)
    except HubError as exc:  # not the hub's, or not what its key says: published again, correctly
        log.warning("registry record %r is replaced: %s", key, exc)
        return None


def plan_keys(signer: HubSigner, current: Mapping[str, bytes | None], keys: Iterable[RegisteredKey],
              clock: Clock) -> Changes:
    return plan(current, {key_record_key(k): k for k in keys},
                lambda key, raw: read_key(signer.codec, key, raw, signer.anchor),
                lambda k: signer.encode(key_message(k, clock)), remove_missing=False)


def plan_courts(signer: HubSigner, current: Mapping[str, bytes | None], courts: Iterable[Court],
                clock: Clock) -> Changes:
    return plan(current, {c.code: c for c in courts},
                lambda key, raw: read_court(signer.codec, key, raw, signer.anchor),
                lambda c: signer.encode(court_message(c, clock)), remove_missing=True)


async def publish_registry(settings: HubSettings, codec: AvroCodec, keys: KeyStore,
                           courts: Iterable[Court] = COURTS, clock: Clock | None = None) -> PublishReport:
    """Publish what changed of every registered key and every court; returns what was sent."""
    clock = clock or SystemClock()  # published_at is when it was published, whatever the hub's clock says
    key_id, private = keys.signer(HUB_KEY)
    signer = HubSigner(codec, key_id, private)
    key_topic = settings.topic(settings.catalog.one(Role.PUBLISHED_KEYS).name)
    court_topic = settings.topic(settings.catalog.one(Role.PUBLISHED_COURTS).name)
    report = PublishReport(plan_keys(signer, await read_latest(settings, key_topic), keys.registered_keys(), clock),
                           plan_courts(signer, await read_latest(settings, court_topic), courts, clock))
    if report.keys.sends or report.courts.sends:
        producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **settings.kafka_client_kwargs())
        try:
            await producer.start()
            sent = [await producer.send(topic, value, key=key.encode("utf-8"))
                    for topic, changes in ((key_topic, report.keys), (court_topic, report.courts))
                    for key, value in changes.sends]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()
    return report


def keep_published(settings: HubSettings, codec: AvroCodec) -> Callable[[], Awaitable[None]]:
    """The worker's background job: publish at start, then every :data:`RECHECK_S`; a failure is logged and the
    publication tried again after :data:`RETRY_S` (the worker goes on)."""

    async def job() -> None:
        while True:
            try:
                report = await publish_registry(settings, codec, KeyStore(settings.data_dir))
            except PUBLISH_FAILURES as exc:
                log.warning("registry not published, trying again in %.0f s: %s", RETRY_S, exc)
                await asyncio.sleep(RETRY_S)
                continue
            if report.keys.sends or report.courts.sends:
                log.info("registry published: %s", report.line())
            await asyncio.sleep(RECHECK_S)

    job.__qualname__ = "hub.registry_publisher.keep_published"
    return job
