"""The audit trail (002 §5(二), memo §4): every message accepted, rejected or emitted, hash-chained.

Each record's ``hash`` is SHA-256 over the previous record's hash and the record's own Avro bytes
with ``hash`` blank; ``seq`` increases by one.  Changing, removing or reordering any record breaks
the chain from that record on; :func:`verify` names the first broken one.  One writer per chain:
the worker appends in order under a lock and, on start, continues the chain from the last stored
record.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hub.clock import Clock
from hub.codec import AvroCodec, AvroMessage
from hub.envelope import envelope, message
from hub.errors import CodecError

AUDIT_RECORD = "cn.court.interop.ops.AuditRecord"
GENESIS = "0" * 64

Sender = Callable[[bytes, str], Awaitable[None]]  # (encoded record, key)
Loader = Callable[[], Awaitable[AvroMessage | None]]  # the last stored record


def chain_hash(prev_hash: str, blank: bytes) -> str:
    """A record's hash: SHA-256 of the previous record's hash and this record's encoding with ``hash`` empty."""
    return hashlib.sha256(prev_hash.encode() + blank).hexdigest()


def record_hash(codec: AvroCodec, record: AvroMessage, prev_hash: str) -> str:
    blank = AvroMessage(record.schema, {**record.datum, "body": {**record.body, "hash": ""}})
    return chain_hash(prev_hash, codec.encode_message(blank))


#: Avro's encoding of a 64-character string's length (zig-zag varint of 64)
_HASH_LENGTH = b"\x80\x01"


def seal_encoded(blank: bytes, hash_hex: str) -> bytes:
    """The encoding of a record whose blank-hash encoding is ``blank``, with ``hash`` filled in.

    ``hash`` is the last field of the last field of the AuditRecord schema, so its bytes (an empty
    string: one zero byte) end the encoding; swapping them saves a second encode per record.
    ``tests/unit/hub/test_audit.py`` checks the result equals a full encode.
    """
    if len(hash_hex) != 64 or not blank.endswith(b"\x00"):
        raise CodecError("an audit record must end with its blank 64-character hash")
    return blank[:-1] + _HASH_LENGTH + hash_hex.encode("ascii")


@dataclass
class AuditEntry:
    action: str  # ACCEPT / REJECT / EMIT / DEAD_LETTER / DEADLINE / NOTICE ...
    topic: str
    payload: bytes
    principal: str
    client: str | None = None
    partition: int | None = None
    offset: int | None = None
    message_type: str | None = None
    message_id: str | None = None
    request_id: str | None = None
    case_number: str | None = None
    agency: str | None = None
    decision: str | None = None


class AuditLog:
    def __init__(self, codec: AvroCodec, clock: Clock, send: Sender, load_last: Loader | None = None) -> None:
        self.codec = codec
        self.clock = clock
        self._send = send
        self._load_last = load_last
        self._lock = asyncio.Lock()
        self.seq = 0
        self.prev_hash = GENESIS

    def resume(self, last: AvroMessage | None) -> None:
        """Continue the chain after the last stored record."""
        if last is not None:
            self.seq = int(last.body["seq"])
            self.prev_hash = str(last.body["hash"])

    def build(self, entry: AuditEntry) -> tuple[AvroMessage, bytes]:
        """The next record of the chain and its encoding (encoded once, see :func:`seal_encoded`)."""
        body: dict[str, Any] = {
            "seq": self.seq + 1, "principal": entry.principal, "client": entry.client, "action": entry.action,
            "at": self.clock.now(), "topic": entry.topic, "partition": entry.partition, "offset": entry.offset,
            "message_type": entry.message_type, "message_id": entry.message_id, "request_id": entry.request_id,
            "case_number": entry.case_number, "agency": entry.agency,
            "payload_sha256": hashlib.sha256(entry.payload).hexdigest(), "decision": entry.decision,
            "prev_hash": self.prev_hash, "hash": "",
        }
        env = envelope(self.clock, request_id=entry.request_id or "", recipient="audit")
        rec = message(AUDIT_RECORD, env, body)
        blank = self.codec.encode_message(rec)
        rec.body["hash"] = chain_hash(self.prev_hash, blank)
        return rec, seal_encoded(blank, rec.body["hash"])

    async def append(self, entry: AuditEntry) -> AvroMessage:
        async with self._lock:  # one chain, one order: build and enqueue under the lock
            if self._load_last is not None:
                self.resume(await self._load_last())
                self._load_last = None
            rec, raw = self.build(entry)
            await self._send(raw, str(rec.body["seq"]))
            self.seq = int(rec.body["seq"])
            self.prev_hash = str(rec.body["hash"])
            return rec


@dataclass(frozen=True)
class Break:
    offset: int
    seq: int | None
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    records: int
    broken: Break | None
    last_hash: str

    @property
    def ok(self) -> bool:
        return self.broken is None


async def verify(codec: AvroCodec, records: AsyncIterator[tuple[int, bytes]]) -> VerifyReport:
    """Walk (offset, bytes) in order; the first record that breaks the chain is reported."""
    prev_hash, prev_seq, count = GENESIS, 0, 0
    async for offset, raw in records:
        count += 1
        try:
            rec = codec.decode(raw)
        except CodecError as exc:
            return VerifyReport(count, Break(offset, None, f"undecodable: {exc}"), prev_hash)
        seq = int(rec.body["seq"])
        if count == 1 and seq != 1:
            prev_seq, prev_hash = seq - 1, str(rec.body["prev_hash"])  # a trail that starts after retention
        if seq != prev_seq + 1:
            return VerifyReport(count, Break(offset, seq, f"seq {seq} follows {prev_seq}"), prev_hash)
        if rec.body["prev_hash"] != prev_hash:
            return VerifyReport(count, Break(offset, seq, "prev_hash does not match the previous record"), prev_hash)
        expected = record_hash(codec, rec, prev_hash)
        if rec.body["hash"] != expected:
            return VerifyReport(count, Break(offset, seq, "hash does not match the record's content"), prev_hash)
        prev_hash, prev_seq = expected, seq
    return VerifyReport(count, None, prev_hash)
