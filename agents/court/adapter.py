"""The court adapter: the Python API a court system integrator uses (SPEC §2-§3).

>>> async with CourtClient(settings, court_code="京0105") as court:
...     req = bank_api.freeze(court, bank="icbc", case=case, subject=subject, officer=officer,
...                           account_number="6222020200012345678", amount_fen=500_000,
...                           end_date=date(2026, 12, 31), ruling=ruling, assistance_notice=notice)
...     await court.send(req)
...     reply = await court.wait_for(req.request_id)

The builders of each flow (:mod:`agents.bank.court_api`, :mod:`agents.police.court_api`,
:mod:`agents.credit.court_api`) return an :class:`~hub.codec.AvroMessage` (envelope filled: fresh request id, this court
as sender, the addressed agency as recipient); :meth:`CourtClient.send` writes it to
``court.requests`` keyed by case number; :meth:`CourtClient.wait_for` reads ``court.replies`` and
``court.notices`` for messages answering a request id.  Sealed replies can be checked offline
with :func:`verify_receipt` (``interop-agency court verify-receipt``).
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.registry import PublishedRegistry
from hub.clock import Clock, SystemClock
from hub.codec import AvroCodec, AvroMessage, default_codec
from hub.envelope import envelope, message, new_id
from hub.errors import ConfigError
from hub.seal import KeyStore
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG, Role
from topics.courts import COURTS_BY_CODE, Court


def document(kind: str, number: str, content: bytes | None = None, sha256: str | None = None) -> dict[str, Any]:
    """A legal document reference: the digest of the electronic document travels, never the PDF."""
    digest = sha256 or hashlib.sha256(content if content is not None else number.encode()).hexdigest()
    return {"kind": kind, "number": number, "sha256": digest, "title": None, "issued_by": None,
            "issued_on": None, "uri": None}


def person(name: str, id_number: str, gender: str | None = None) -> dict[str, Any]:
    return {"kind": "PERSON", "name": name, "id_type": "RESIDENT_ID", "id_number": id_number, "org_code": None,
            "gender": gender, "birth_date": None, "former_names": [], "legal_representative": None}


def organisation(name: str, credit_code: str, legal_representative: str | None = None) -> dict[str, Any]:
    return {"kind": "ORGANISATION", "name": name, "id_type": "USCC", "id_number": credit_code,
            "org_code": credit_code[8:17], "gender": None, "birth_date": None, "former_names": [],
            "legal_representative": legal_representative}


def officer(name: str, phone: str, official_id_number: str) -> dict[str, Any]:
    return {"name": name, "phone": phone, "official_id": document("OFFICIAL_ID", official_id_number)}


def money(amount_fen: int, currency: str = "CNY") -> dict[str, Any]:
    return {"amount_fen": amount_fen, "currency": currency}


class CourtClient:
    """One court's connection to the hub through the 总对总 gateway principal."""

    def __init__(self, settings: HubSettings, court_code: str, clock: Clock | None = None,
                 codec: AvroCodec | None = None) -> None:
        court = COURTS_BY_CODE.get(court_code)
        if court is None:
            raise ConfigError(f"court {court_code!r} is not registered", field="court_code")
        self.court: Court = court
        self.settings = settings
        self.clock = clock or SystemClock()
        self.codec = codec or default_codec()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._inbox: list[AvroMessage] = []
        self.raw: dict[str, list[bytes]] = {}  # request id -> every message's bytes as received (receipts)

    # --- connection ---------------------------------------------------------------------
    async def __aenter__(self) -> CourtClient:
        kwargs = self.settings.kafka_client_kwargs()
        self._producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **kwargs)
        self._consumer = AIOKafkaConsumer(enable_auto_commit=False,
                                          fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms, **kwargs)
        await self._producer.start()
        await self._consumer.start()
        tps = []
        for spec in (DEFAULT_CATALOG.one(Role.COURT_REPLIES), DEFAULT_CATALOG.one(Role.COURT_NOTICES)):
            topic = self.settings.topic(spec.name)  # its partitions as the deployment has them (metadata)
            tps += [TopicPartition(topic, p) for p in sorted(await self._producer.partitions_for(topic))]
        self._consumer.assign(tps)
        for tp, offset in (await self._consumer.end_offsets(tps)).items():
            self._consumer.seek(tp, offset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    # --- building requests ------------------------------------------------------------------
    def case(self, case_number: str, filing_date: date) -> dict[str, Any]:
        return {"case_number": case_number, "filing_date": filing_date,
                "court": {"court_code": self.court.code, "court_name": self.court.name,
                          "place_code": self.court.place_code}}

    def request(self, schema: str, recipient: str, body: dict[str, Any],
                correlation_id: str | None = None) -> AvroMessage:
        """Any request of this court: a fresh request id, this court as sender (flows add builders on top)."""
        env = envelope(self.clock, request_id=new_id(), sender=self.court.code, recipient=recipient,
                       correlation_id=correlation_id)
        return message(schema, env, body)

    # --- sending and reading --------------------------------------------------------------------
    def _connected(self) -> tuple[AIOKafkaProducer, AIOKafkaConsumer]:
        if self._producer is None or self._consumer is None:
            raise ConfigError("not connected: use `async with CourtClient(...)`", field="client")
        return self._producer, self._consumer

    async def send(self, msg: AvroMessage) -> str:
        key = _case_number(msg).encode()
        await self._connected()[0].send_and_wait(
            self.settings.topic(DEFAULT_CATALOG.one(Role.COURT_REQUESTS).name), self.codec.encode_message(msg), key=key
        )
        return msg.request_id

    async def send_raw(self, value: bytes, key: str) -> None:
        await self._connected()[0].send_and_wait(
            self.settings.topic(DEFAULT_CATALOG.one(Role.COURT_REQUESTS).name), value, key=key.encode()
        )

    async def poll(self, timeout_s: float = 0.3) -> list[AvroMessage]:
        """Read what arrived for this court since the last poll."""
        got: list[AvroMessage] = []
        batch = await self._connected()[1].getmany(timeout_ms=int(timeout_s * 1000))
        for records in batch.values():
            for rec in records:
                # Bank replies are addressed to the hub and forwarded unchanged (the seal covers the
                # envelope); the gateway reads them all and matches them by request id.
                msg = self.codec.decode(rec.value)
                self.raw.setdefault(msg.request_id, []).append(rec.value)
                got.append(msg)
        self._inbox.extend(got)
        return got

    async def wait_for(self, request_id: str, *, schema: str | None = None, count: int = 1,
                       timeout_s: float = 30.0) -> list[AvroMessage]:
        """Messages answering ``request_id`` (optionally of one type), at least ``count`` of them."""
        deadline = time.monotonic() + timeout_s

        def matching() -> list[AvroMessage]:
            return [m for m in self._inbox
                    if m.request_id == request_id and (schema is None or m.schema == schema)]

        while len(matching()) < count and time.monotonic() < deadline:
            await self.poll()
        found = matching()
        if len(found) < count:
            raise TimeoutError(f"{len(found)}/{count} answers to {request_id} after {timeout_s}s")
        return found

    @property
    def received(self) -> list[AvroMessage]:
        return list(self._inbox)


def _case_number(msg: AvroMessage) -> str:
    body = msg.body
    if "case" in body:
        return str(body["case"]["case_number"])
    return str(body["case_number"])


def verify_receipt(raw: bytes, data_dir: Path, codec: AvroCodec | None = None,
                   published: PublishedRegistry | None = None) -> AvroMessage:
    """Check a stored sealed reply against the sender's key (raises a SealError if not): the key the hub published
    (``published``, :func:`agents.registry.read_registry`) when given, else the local ``keys/registry.json``."""
    codec = codec or default_codec()
    msg = codec.decode(raw)
    verifier = published.verifier() if published is not None else KeyStore(data_dir).verifier()
    verifier.verify(codec, msg, str(msg.envelope["sender"]))
    return msg


def new_request_id() -> str:
    return new_id()
