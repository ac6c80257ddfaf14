"""The worked freeze round trip of ``docs/adapters.md``, made with the project's own codec, seal and hub.

Every input is fixed here (ids, times, the bank's key from a fixed seed), so every byte the guide shows can be
made again: ``python -m tests.unit.docs.freeze_vectors`` (from the checkout's root) prints the guide's vector
blocks; ``tests/unit/docs/test_adapter_guide.py`` checks the guide still says what this makes.

The seed is the secret key of RFC 8032 §7.1 TEST 1: a published test vector, not a secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import CollectorRegistry

from agents.bank.simulator import REPLY_NAMESPACE
from hub.clock import ManualClock
from hub.codec import AvroMessage, default_codec
from hub.flows.credit.list_state import EMPTY_DIGEST, entry_hash, list_digest
from hub.memory_backend import MemoryHub
from hub.runtime import HubRuntime
from hub.seal import canonical_bytes, seal_message
from hub.settings import HubSettings
from topics.catalog import HUB_PARTITIONS, inbox_name, outbox_name

CODEC = default_codec()
FREEZE_REQUEST = "cn.court.interop.bank.FreezeRequest"
FREEZE_REPLY = "cn.court.interop.bank.FreezeReply"

#: RFC 8032 §7.1 TEST 1 secret key: the bank's sealing key in this example (a test vector, not a secret)
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
BANK = "icbc"
COURT_CODE = "京0105"
CASE_NUMBER = "（2026）京0105执88号"
REQUEST_ID = "6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6"
REQUEST_MESSAGE_ID = "0b8c1d2e-3f40-4a5b-9c6d-7e8f90a1b2c3"
#: the court's system builds the request at 10:00:00 China time ...
SENT_AT = datetime(2026, 3, 2, 2, 0, 0, tzinfo=UTC)
#: ... the hub receives it 1.25 s later (its clock: the delivery time, 000 §16) ...
DELIVERED_AT_TIME = SENT_AT + timedelta(seconds=1, milliseconds=250)
#: ... and the bank has placed the freeze 2 s after that
EXECUTED_AT = DELIVERED_AT_TIME + timedelta(seconds=2)
#: ... and its reply reaches the hub 0.4 s later
ANSWERED_AT = EXECUTED_AT + timedelta(milliseconds=400)
FREEZE_ID = "ICBC-FRZ-20260302-000001"
ACCOUNT = "6222020200012345678"
AMOUNT_FEN = 500_000  # ¥5,000.00
END_DATE = date(2026, 9, 1)


def partition_of(key: bytes, partitions: int = HUB_PARTITIONS) -> int:
    """Kafka's default partitioner (murmur2 of the key bytes, as the Java client and aiokafka have it)."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(key, every, every))


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def document(kind: str, number: str) -> dict[str, Any]:
    """A document reference: its SHA-256 here is that of the number's UTF-8 bytes (a real one digests the PDF)."""
    return {"kind": kind, "number": number, "sha256": hashlib.sha256(number.encode()).hexdigest(),
            "title": None, "issued_by": None, "issued_on": None, "uri": None}


def freeze_request() -> AvroMessage:
    """The FreezeRequest as the court's system writes it to ``court.requests``."""
    envelope = {"message_id": REQUEST_MESSAGE_ID, "request_id": REQUEST_ID, "correlation_id": None,
                "sender": COURT_CODE, "recipient": BANK, "sent_at": SENT_AT, "schema_version": 1}
    body = {
        "case": {"case_number": CASE_NUMBER,
                 "court": {"court_code": COURT_CODE, "court_name": "北京市朝阳区人民法院", "place_code": "110105"},
                 "filing_date": date(2026, 1, 15)},
        "subject": {"kind": "PERSON", "name": "张三", "id_type": "RESIDENT_ID", "id_number": "11010519491231002X",
                    "org_code": None, "gender": "FEMALE", "birth_date": None, "former_names": [],
                    "legal_representative": None},
        "officer": {"name": "李执行", "phone": "13800138000",
                    "official_id": document("OFFICIAL_ID", "京法执证0105-0042")},
        "account_number": ACCOUNT, "sub_account_number": None, "financial_asset_id": None,
        "amount": {"amount_fen": AMOUNT_FEN, "currency": "CNY"}, "end_date": END_DATE, "waiting_in_line": False,
        "ruling": document("RULING", "（2026）京0105执88号之一"),
        "assistance_notice": document("ASSISTANCE_NOTICE", "（2026）京0105执88号协助冻结通知书"),
    }
    return AvroMessage(FREEZE_REQUEST, {"envelope": envelope, "body": body})


def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


def public_key() -> bytes:
    return signing_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id() -> str:
    """The key id as ``interop-hub keys generate`` names a key: the agency and the public key's first 6 bytes."""
    return f"{BANK}-{public_key()[:6].hex()}"


def reply_message_id() -> str:
    """The simulator's rule: a UUIDv5 of bank and request id, so a repeated reply is byte-identical."""
    return str(uuid.uuid5(REPLY_NAMESPACE, f"{BANK}/{REQUEST_ID}"))


def unsealed_reply() -> AvroMessage:
    """The bank's FreezeReply before sealing (``seal`` null)."""
    envelope = {"message_id": reply_message_id(), "request_id": REQUEST_ID, "correlation_id": None,
                "sender": BANK, "recipient": "hub", "sent_at": EXECUTED_AT, "schema_version": 1}
    money = {"amount_fen": AMOUNT_FEN, "currency": "CNY"}
    body: dict[str, Any] = {
        "status": "EXECUTED", "reason": None, "delivered_at": DELIVERED_AT_TIME, "executed_at": EXECUTED_AT,
        "freeze_id": FREEZE_ID, "account_number": ACCOUNT, "requested": money, "frozen": money,
        "start_at": EXECUTED_AT, "end_date": END_DATE, "limited_freeze": False, "remaining_limit": None,
        "waiting_in_line": False, "earlier_freezes": [], "priority_claims": [],
    }
    return AvroMessage(FREEZE_REPLY, {"envelope": envelope, "body": body, "seal": None})


def sealed_reply() -> AvroMessage:
    return seal_message(CODEC, unsealed_reply(), signing_key(), key_id())


@dataclass(frozen=True)
class RoundTrip:
    """What each party sees: (key, value, headers) on each topic, as the hub in one process produced them."""

    request_key: bytes
    request_value: bytes
    inbox: tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]
    reply_value: bytes
    canonical: bytes
    signature: bytes
    court_reply: tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]
    row: dict[str, Any]  # the request's row as ``/requests/{id}`` shows it, once answered


def hub_settings(data_dir: Path) -> HubSettings:
    """A hub whose key registry has this example's key (its clock is given to the runtime)."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    entry = {"key_id": key_id(), "public_key": base64.b64encode(public_key()).decode(), "valid_from": 0}
    (keys / "registry.json").write_text(json.dumps({BANK: entry}), encoding="utf-8")
    return HubSettings(data_dir=data_dir, clock="manual", topic_prefix="")


async def run_round_trip(data_dir: Path) -> RoundTrip:
    """Court → hub → icbc inbox; icbc's sealed reply → hub → court.replies, through the hub's real flows."""
    clock = ManualClock(DELIVERED_AT_TIME)  # the hub's clock when the request arrives
    hub = MemoryHub(HubRuntime.build(hub_settings(data_dir), clock=clock, registry=CollectorRegistry()))
    settings = hub.ctx.settings
    request = CODEC.encode_message(freeze_request())
    key = CASE_NUMBER.encode()
    partition = partition_of(key)  # as on a deployment of the default 12 partitions
    await hub.receive("court.requests", key, request, partition)
    [forwarded] = hub.sender.on(settings.topic(inbox_name(BANK)))
    reply = sealed_reply()
    raw_reply = CODEC.encode_message(reply)
    clock.advance(ANSWERED_AT - DELIVERED_AT_TIME)
    await hub.receive(outbox_name(BANK), forwarded.key, raw_reply, partition)
    [to_court] = hub.sender.on(settings.topic("court.replies"))
    row = hub.ctx.requests.get(REQUEST_ID)
    if row is None:
        raise AssertionError("the hub kept no row of the request")
    return RoundTrip(
        request_key=key, request_value=request, inbox=(forwarded.key, forwarded.value, forwarded.headers),
        reply_value=raw_reply, canonical=canonical_bytes(CODEC, FREEZE_REPLY, reply.datum),
        signature=bytes(reply.datum["seal"]["signature"]),
        court_reply=(to_court.key, to_court.value, to_court.headers),
        row=row.to_json(),
    )


def round_trip() -> RoundTrip:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(run_round_trip(Path(tmp)))


# --- a published key: how a court learns the bank's key (registry.keys) ---------------------------------------
#: RFC 8032 §7.1 TEST 2 secret key: the hub's key in this example (a test vector, not a secret)
HUB_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
VALID_FROM = datetime(2026, 2, 28, 16, 0, tzinfo=UTC)  # 2026-03-01 00:00 China time
PUBLISHED_AT = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
PUBLISHED_KEY = "cn.court.interop.ops.PublishedKey"
PUBLISHED_MESSAGE_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"


def hub_public_key() -> bytes:
    return Ed25519PrivateKey.from_private_bytes(HUB_SEED).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def published_key_record() -> tuple[bytes, bytes]:
    """(record key, value) of icbc's key on ``registry.keys``, sealed by the hub's example key."""
    record_key = f"{BANK}/{key_id()}"
    envelope = {"message_id": PUBLISHED_MESSAGE_ID, "request_id": f"key/{record_key}", "correlation_id": None,
                "sender": "hub", "recipient": "all", "sent_at": PUBLISHED_AT, "schema_version": 1}
    body = {"agency": BANK, "key_id": key_id(), "algorithm": "Ed25519", "public_key": public_key(),
            "valid_from": VALID_FROM, "valid_until": None, "status": "ACTIVE", "published_at": PUBLISHED_AT}
    unsealed = AvroMessage(PUBLISHED_KEY, {"envelope": envelope, "body": body, "seal": None})
    hub_key = Ed25519PrivateKey.from_private_bytes(HUB_SEED)
    sealed = seal_message(CODEC, unsealed, hub_key, f"hub-{hub_public_key()[:6].hex()}")
    return record_key.encode(), CODEC.encode_message(sealed)


def registry_blocks() -> dict[str, str]:
    record_key, value = published_key_record()
    return {"registry.hub-seed": HUB_SEED.hex(), "registry.hub-public-key": hub_public_key().hex(),
            "registry.key-record.key": record_key.decode(), "registry.key-record.value": hex_lines(value)}


# --- the list digest of a tiny list -------------------------------------------------------------------------
#: two cut-down ListingRecords in canonical form (the example of ``hub.flows.credit.list_state.list_digest``)
DIGEST_ENTRIES = (
    '{"content":{"subject":{"id_number":"11010519800101001X","name":"张三"}},"extension_years":0,'
    '"listed_at":1735779600000,"listing_id":"L1","requested_by_creditor":false,"term_end":null,'
    '"term_start":"2025-01-02"}',
    '{"content":{"subject":{"id_number":"91110105MA01ABCD2X","name":"李四"}},"extension_years":1,'
    '"listed_at":1735867800000,"listing_id":"L2","requested_by_creditor":true,"term_end":"2027-01-02",'
    '"term_start":"2025-01-03"}',
)


def digest_blocks() -> dict[str, str]:
    entries = [json.loads(line) for line in DIGEST_ENTRIES]
    hashes = [entry_hash(e).to_bytes(128, "big") for e in entries]
    return {
        "digest.entries": "\n".join(DIGEST_ENTRIES),
        "digest.entry-hash.1": hex_lines(hashes[0]),
        "digest.entry-hash.2": hex_lines(hashes[1]),
        "digest.empty": EMPTY_DIGEST,
        "digest.one": list_digest(entries[:1]),
        "digest.two": list_digest(entries),
    }


# --- the guide's notation -----------------------------------------------------------------------------------
HEX_LINE_BYTES = 32


def hex_lines(data: bytes) -> str:
    """``data`` as the guide prints it: the offset, then 32 bytes in lower-case hex per line."""
    return "\n".join(f"{i:04x}  {data[i:i + HEX_LINE_BYTES].hex()}" for i in range(0, len(data), HEX_LINE_BYTES))


def parse_hex_lines(text: str) -> bytes:
    """The bytes of a :func:`hex_lines` block (offsets checked)."""
    out = bytearray()
    for line in text.strip().splitlines():
        offset, _, digits = line.strip().partition("  ")
        if int(offset, 16) != len(out):
            raise ValueError(f"line at {offset} follows {len(out)} bytes")
        out += bytes.fromhex(digits)
    return bytes(out)


def headers_text(headers: tuple[tuple[str, bytes], ...]) -> str:
    return "\n".join(f"{name}: {value.decode('ascii')}" for name, value in headers)


def blocks(trip: RoundTrip) -> dict[str, str]:
    """Each vector block of the guide by name, as it must read."""
    return {
        "seal.seed": SEED.hex(),
        "seal.public-key": public_key().hex(),
        "seal.key-id": key_id(),
        "seal.canonical": hex_lines(trip.canonical),
        "seal.signature": trip.signature.hex(),
        "freeze.request.key": trip.request_key.hex(),
        "freeze.request.value": hex_lines(trip.request_value),
        "freeze.inbox.headers": headers_text(trip.inbox[2]),
        "freeze.reply.value": hex_lines(trip.reply_value),
        "freeze.row": json.dumps(trip.row, ensure_ascii=False),
    }


def main() -> None:
    trip = round_trip()
    for name, text in {**blocks(trip), **registry_blocks(), **digest_blocks()}.items():
        print(f"<!-- vector: {name} -->\n```text\n{text}\n```\n")
    print(f"request {len(trip.request_value)} bytes, reply {len(trip.reply_value)} bytes, canonical "
          f"{len(trip.canonical)} bytes; delivered-at {ms(DELIVERED_AT_TIME)}")


if __name__ == "__main__":
    main()
