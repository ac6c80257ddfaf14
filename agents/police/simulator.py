"""The simulated police (公安部) as a Kafka process: reads only ``agency.mps.inbox``, writes only its outbox.

Requests are answered once (the encoded reply is stored by request id and re-sent on redelivery),
keyed like the request, then the inbox offset is committed.  The police's "now" follows the hub:
the ``delivered-at`` header of each request, and ``GET /clock`` of the hub worker (same settings:
``web_host``/``web_port``) polled every :data:`FOLLOW_S`.  For every active measure the planned
observations (:mod:`agents.police.events`) whose time has passed are emitted as sightings keyed by
the measure's case number, once each (recorded in sqlite, so a restart never repeats one).  A
release or a lapse (MeasureLapsed from the hub) ends the measure: no sightings after it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.inbox import answer_inbox
from agents.police import events
from agents.police.desk import PoliceDesk
from agents.police.store import PoliceStore
from agents.police.world import PoliceWorld
from agents.watchbook import WatchBook, book_path
from hub.codec import AvroCodec, AvroMessage, default_codec
from hub.flows.police.messages import LAPSED, LOOKUPS, MEASURES, POLICE_CODE, RELEASE, SIGHTING
from hub.outbound import delivered_at
from hub.process import http_json
from hub.security.users import as_principal
from hub.settings import HubSettings, agency_store
from hub.web_token import web_token
from topics.catalog import DEFAULT_CATALOG, agency_group_id, inbox_name, outbox_name

log = logging.getLogger(__name__)

FOLLOW_S = 0.5
REPLY_NAMESPACE = uuid.UUID("9d3a6f0e-2b7c-4e5d-8f1a-3c6b9e2d7a40")
WATCH_SUBJECT = "cn.court.interop.sweep.WatchSubject"
REPLY_OF = {**{s: s.replace("Request", "Reply") for s in LOOKUPS},
            **{s: "cn.court.interop.police.MeasureReply" for s in MEASURES},
            RELEASE: "cn.court.interop.police.MeasureReleaseAck"}


class SimulatedPolice:
    """The desk, the clock it follows, and bytes in -> bytes out."""

    def __init__(self, desk: PoliceDesk, codec: AvroCodec, seed: int, watches: WatchBook | None = None) -> None:
        self.desk = desk
        self.codec = codec
        self.seed = seed
        self.watches = watches  # standing watches on vehicle registrations and hotel stays (hub.flows.sweeps)
        self.now_ms = 0  # the latest hub time seen (delivered-at headers, GET /clock)

    def seen(self, at: datetime) -> datetime:
        self.now_ms = max(self.now_ms, int(at.timestamp() * 1000))
        return at

    def handle(self, value: bytes, headers: Sequence[tuple[str, bytes]]) -> bytes | None:
        """The encoded reply to an inbox record (None: it needs none); raises CodecError if it does not decode."""
        request = self.codec.decode(value)
        if request.schema == WATCH_SUBJECT and self.watches is not None:
            self.watches.apply(request.body)
            return None
        if request.schema == LAPSED:
            self.desk.lapsed(request.body)
            return None
        if request.schema not in REPLY_OF:
            log.info("police: %s needs no reply (%s)", request.message_type, request.body.get("error_code", ""))
            return None
        stored = self.desk.store.reply(request.request_id)
        if stored is not None:
            return stored
        now = self.seen(delivered_at(headers) or datetime.now(UTC))
        body = self._body(request, now)
        env = {"message_id": str(uuid.uuid5(REPLY_NAMESPACE, f"{POLICE_CODE}/{request.request_id}")),
               "request_id": request.request_id, "correlation_id": request.envelope.get("correlation_id"),
               "sender": POLICE_CODE, "recipient": request.envelope["sender"], "sent_at": now, "schema_version": 1}
        reply = self.codec.encode_message(AvroMessage(REPLY_OF[request.schema], {"envelope": env, "body": body}))
        self.desk.store.save_reply(request.request_id, reply)
        return reply

    def _body(self, request: AvroMessage, now: datetime) -> dict[str, Any]:
        if request.schema in LOOKUPS:
            return self.desk.lookup(request.schema, request.body, now)
        if request.schema in MEASURES:
            return self.desk.place(request.schema, request.request_id, request.envelope["sender"], request.body, now)
        return self.desk.release(request.body, now)

    def due_sightings(self) -> list[tuple[str, bytes, str, int]]:
        """(case number, encoded sighting, measure id, seq) of every observation due by ``now_ms``."""
        out = []
        for m in self.desk.store.measures("active"):
            plan = events.schedule(self.seed, m.measure_id, m.kind, m.placed_at_ms, m.end_ms)
            for planned in events.due(plan, self.now_ms, self.desk.store.emitted(m.measure_id)):
                env = {"message_id": str(uuid.uuid5(REPLY_NAMESPACE, f"{m.measure_id}/{planned.seq}")),
                       "request_id": m.request_id, "correlation_id": m.measure_id, "sender": POLICE_CODE,
                       "recipient": m.court, "sent_at": datetime.fromtimestamp(self.now_ms / 1000, UTC),
                       "schema_version": 1}
                msg = AvroMessage(SIGHTING, {"envelope": env, "body": self.desk.sighting(m, planned)})
                out.append((m.case_number, self.codec.encode_message(msg), m.measure_id, planned.seq))
        return out


def open_police(settings: HubSettings, seed: int = 2024) -> SimulatedPolice:
    store_dir = agency_store(settings, "police")
    store_dir.mkdir(parents=True, exist_ok=True)
    desk = PoliceDesk(PoliceWorld.generate(seed), PoliceStore(store_dir / "police.sqlite"))
    return SimulatedPolice(desk, default_codec(), seed, WatchBook(book_path(settings, "police", POLICE_CODE)))


def hub_now(settings: HubSettings) -> datetime | None:
    """The hub worker's injected clock, or None when the worker cannot be reached."""
    try:
        status, body = http_json(f"http://{settings.web_host}:{settings.web_port}/clock", timeout=1.0,
                                 token=web_token(settings))
    except (OSError, ValueError):
        return None
    return datetime.fromisoformat(body["now"]) if status == 200 and isinstance(body, dict) else None


async def _emit_due(police: SimulatedPolice, producer: AIOKafkaProducer, outbox: str) -> None:
    for key, value, measure_id, seq in police.due_sightings():
        await producer.send_and_wait(outbox, value, key=key.encode())
        police.desk.store.mark_emitted(measure_id, seq, police.now_ms)
    if police.watches is not None:  # vehicle registrations and hotel stays of watched subjects, at once
        hits, last = police.watches.due_hits(POLICE_CODE, police.codec)
        for hit in hits:
            await producer.send_and_wait(outbox, hit.value, key=hit.case_number.encode())
        if last:
            police.watches.reported(hits, last)


async def _follow_clock(police: SimulatedPolice, settings: HubSettings, producer: AIOKafkaProducer,
                        outbox: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        now = await asyncio.to_thread(hub_now, settings)
        if now is not None:
            police.seen(now)
        await _emit_due(police, producer, outbox)
        try:
            await asyncio.wait_for(stop.wait(), FOLLOW_S)
        except TimeoutError:
            continue


async def run_police(settings: HubSettings, stop: asyncio.Event, seed: int = 2024) -> None:
    """Answer the inbox and emit due sightings until ``stop`` is set."""
    police = open_police(settings, seed)
    settings = as_principal(settings, DEFAULT_CATALOG.agency(POLICE_CODE).principal)  # secure: log in as mps
    kwargs = settings.kafka_client_kwargs()
    consumer = AIOKafkaConsumer(settings.topic(inbox_name(POLICE_CODE)),
                                group_id=agency_group_id(settings.app_id, POLICE_CODE),
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms, **kwargs)
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **kwargs)
    outbox = settings.topic(outbox_name(POLICE_CODE))
    await consumer.start()
    await producer.start()
    follower = asyncio.create_task(_follow_clock(police, settings, producer, outbox, stop))
    try:
        await answer_inbox(consumer, producer, outbox, police.handle, police.codec, POLICE_CODE, stop)
    finally:
        stop.set()
        await follower
        await producer.stop()
        await consumer.stop()
        police.desk.store.close()
