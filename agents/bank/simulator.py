"""Simulated banks as Kafka processes: each reads only its own inbox and writes only its outbox.

A bank decodes a request, lets its :class:`~agents.bank.ledger.BankLedger` apply it exactly
once (the ledger stores request id -> reply in the same sqlite transaction as the effect),
seals the reply with its own Ed25519 key and produces it to its outbox with the request's key;
only then is the inbox offset committed.  A redelivered request (crash, rebalance, court resend)
gets the stored reply again.  The reply's envelope is derived from the request (message id from
a UUIDv5 of bank and request id, sent-at = executed-at) and Ed25519 is deterministic, so the
repeated reply is byte-identical.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, RecordMetadata

from agents.bank.ledger import BankLedger
from agents.inbox import batch_offsets, undecodable_reply
from agents.population import Population
from agents.watchbook import WatchBook, book_path
from hub.clock import SystemClock, china_today, clock_from_settings
from hub.codec import AvroCodec, AvroMessage, default_codec
from hub.envelope import envelope, message
from hub.errors import CodecError
from hub.flows.bank.messages import SINGLE_REQUESTS
from hub.outbound import delivered_at
from hub.seal import KeyStore, seal_message
from hub.security.users import as_principal
from hub.settings import HubSettings, agency_store
from topics.catalog import DEFAULT_CATALOG, agency_group_id, inbox_name, outbox_name, sweeps_name

log = logging.getLogger(__name__)

HEARTBEAT = "cn.court.interop.ops.Heartbeat"
HEARTBEAT_INTERVAL_S = 5.0
REPLY_NAMESPACE = uuid.UUID("6b1f3c2e-8d4a-4e0b-9b8e-2f6a1c0d5e7f")
BANK_REQUESTS = frozenset(SINGLE_REQUESTS)
WATCH_SUBJECT = "cn.court.interop.sweep.WatchSubject"



class SimulatedBank:
    """One bank: its ledger, its sealing key, and the request -> sealed reply function."""

    def __init__(self, code: str, ledger: BankLedger, key_id: str, key: Any, codec: AvroCodec,
                 heartbeat_s: float = HEARTBEAT_INTERVAL_S) -> None:
        self.code = code
        self.heartbeat_s = heartbeat_s
        self.ledger = ledger
        self.key_id = key_id
        self.key = key
        self.codec = codec
        self.watches: WatchBook | None = None  # standing watches (hub.flows.sweeps), when the bank keeps them

    def reply_to(self, request: AvroMessage, delivered_at: datetime) -> AvroMessage:
        # The bank's "now" is the delivery time the hub stamped: the simulation follows the hub's clock.
        schema, body = self.ledger.handle(request.schema, request.request_id, request.body,
                                          now=delivered_at, delivered_at=delivered_at)
        env = {
            "message_id": str(uuid.uuid5(REPLY_NAMESPACE, f"{self.code}/{request.request_id}")),
            "request_id": request.request_id,
            "correlation_id": request.envelope.get("correlation_id"),
            "sender": self.code,
            "recipient": "hub",
            "sent_at": body["executed_at"],
            "schema_version": 1,
        }
        reply = AvroMessage(schema, {"envelope": env, "body": body, "seal": None})
        return seal_message(self.codec, reply, self.key, self.key_id)

    def heartbeat(self, status: str = "UP") -> bytes:
        """The bank's sign of life on its outbox (002 §4(五): the hub notices when it stops)."""
        env = envelope(SystemClock(), request_id=f"heartbeat-{self.code}", sender=self.code, recipient="hub")
        body = {"agency": self.code, "status": status, "out_of_service_until": None, "detail": None,
                "backlog": None, "interval_ms": int(self.heartbeat_s * 1000)}
        return self.codec.encode_message(message(HEARTBEAT, env, body))

    def handle_bytes(self, value: bytes, headers: Sequence[tuple[str, bytes]]) -> bytes | None:
        """The encoded reply to an inbox record (None: it needs none); raises CodecError if it does not decode."""
        request = self.codec.decode(value)
        if request.schema == WATCH_SUBJECT and self.watches is not None:
            self.watches.apply(request.body)
            return None
        if request.schema not in BANK_REQUESTS:
            log.info("%s: %s needs no reply", self.code, request.message_type)
            return None
        reply = self.reply_to(request, (delivered_at(headers) or datetime.now(UTC)))
        return self.codec.encode_message(reply)


def ledger_path(settings: HubSettings, code: str) -> Path:
    """A bank's sqlite ledger; deployments sharing a data dir (by topic prefix) keep separate ledgers."""
    return agency_store(settings, "banks") / f"{code}.sqlite"


def open_bank(code: str, settings: HubSettings, population: Population) -> SimulatedBank:
    path = ledger_path(settings, code)
    path.parent.mkdir(parents=True, exist_ok=True)
    ledger = BankLedger(code, path)
    # Seeded as of the hub clock's today, so seeded freezes of other authorities are current.
    ledger.seed(population, as_of=china_today(clock_from_settings(settings.clock, settings.clock_start)))
    key_id, key = KeyStore(settings.data_dir).signer(code)
    bank = SimulatedBank(code, ledger, key_id, key, default_codec())
    bank.watches = WatchBook(book_path(settings, "banks", code))
    return bank


async def run_bank(bank: SimulatedBank, settings: HubSettings, stop: asyncio.Event) -> None:
    """Consume the bank's inbox and its sweep lane until ``stop`` is set; commit only after the replies are
    acknowledged.  Live requests first: of each batch the inbox's records are answered before the sweep lane's.
    Events of watched subjects (:mod:`agents.watchbook`) are reported as WatchHits at once.

    On a secure deployment the bank logs in as its own principal (credentials from the data dir)."""
    settings = as_principal(settings, DEFAULT_CATALOG.agency(bank.code).principal)
    kwargs = settings.kafka_client_kwargs()
    inbox = settings.topic(inbox_name(bank.code))
    consumer = AIOKafkaConsumer(
        inbox, settings.topic(sweeps_name(bank.code)), group_id=agency_group_id(settings.app_id, bank.code),
        enable_auto_commit=False, auto_offset_reset="earliest",
        # two topics (inbox, sweep lane): a short long-poll, or a drained one waits for the other's poll
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **kwargs,
    )
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **kwargs)
    outbox = settings.topic(outbox_name(bank.code))
    await consumer.start()
    await producer.start()
    next_beat = 0.0
    try:
        while not stop.is_set():
            if time.monotonic() >= next_beat:
                await producer.send_and_wait(outbox, bank.heartbeat(), key=bank.code.encode())
                next_beat = time.monotonic() + bank.heartbeat_s
            await _report_hits(bank, producer, outbox)
            batch = await consumer.getmany(timeout_ms=200, max_records=200)
            live_first = sorted(batch.items(), key=lambda item: item[0].topic != inbox)
            sent = [
                await _process(bank, producer, outbox, rec) for _, records in live_first for rec in records
            ]
            if batch:
                # every reply of the batch acknowledged before the batch is committed (at least once;
                # a redelivered request finds its effect in the ledger and gets the same reply)
                await asyncio.gather(*(s for s in sent if s is not None))
                await consumer.commit(batch_offsets(batch))
    finally:
        await producer.stop()
        await consumer.stop()


async def _report_hits(bank: SimulatedBank, producer: AIOKafkaProducer, outbox: str) -> None:
    """Every new event of a watched subject, as a WatchHit keyed by the watch's case (acknowledged, then done)."""
    if bank.watches is None:
        return
    hits, last = bank.watches.due_hits(bank.code, bank.codec)
    for hit in hits:
        await producer.send_and_wait(outbox, hit.value, key=hit.case_number.encode())
    if last:
        bank.watches.reported(hits, last)


async def _process(bank: SimulatedBank, producer: AIOKafkaProducer, outbox: str,
                   rec: ConsumerRecord[bytes, bytes]) -> asyncio.Future[RecordMetadata] | None:
    """Apply one request to the ledger and enqueue its reply; returns the reply's delivery future."""
    try:
        reply = bank.handle_bytes(rec.value, list(rec.headers))
    except CodecError as exc:
        reply = undecodable_reply(bank.codec, bank.code, rec, exc)
    if reply is None:
        return None
    fut: asyncio.Future[RecordMetadata] = await producer.send(outbox, reply, key=rec.key)
    return fut


def bank_codes(selected: Sequence[str] | None = None) -> list[str]:
    codes = [a.code for a in DEFAULT_CATALOG.agencies if a.is_financial]
    return [c for c in codes if not selected or c in selected]


async def run_banks(settings: HubSettings, codes: Sequence[str], stop: asyncio.Event, seed: int = 2024,
                    heartbeat_s: float = HEARTBEAT_INTERVAL_S) -> None:
    population = Population.generate(seed)
    KeyStore(settings.data_dir).generate(codes)
    banks = [open_bank(code, settings, population) for code in codes]
    for bank in banks:
        bank.heartbeat_s = heartbeat_s
    tasks = [asyncio.create_task(run_bank(b, settings, stop)) for b in banks]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
