"""The audit trail's hash chain (002 §5(二)): intact chains verify, any changed byte is named."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.audit import AuditEntry, AuditLog, seal_encoded, verify
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.errors import CodecError

CODEC = default_codec()


async def _chain(n: int) -> list[bytes]:
    out: list[bytes] = []

    async def send(value: bytes, key: str) -> None:
        out.append(value)

    log = AuditLog(CODEC, ManualClock(), send)
    for i in range(n):
        await log.append(AuditEntry("ACCEPT", "court.requests", f"payload {i}".encode(), "court-gateway",
                                    request_id=f"r{i}", case_number="（2024）京0105执1号"))
    return out


async def _records(values: list[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    for offset, value in enumerate(values):
        yield offset, value


async def test_an_intact_chain_verifies() -> None:
    report = await verify(CODEC, _records(await _chain(20)))
    assert report.ok and report.records == 20


async def test_one_changed_byte_names_the_record() -> None:
    values = await _chain(20)
    tampered = bytearray(values[7])
    position = tampered.index(b"r7")  # the request id inside record 7
    tampered[position + 1] = ord("9")
    values[7] = bytes(tampered)
    report = await verify(CODEC, _records(values))
    assert not report.ok and report.broken is not None
    assert report.broken.offset == 7 and "hash" in report.broken.reason


async def test_a_removed_record_breaks_the_sequence() -> None:
    values = await _chain(10)
    del values[4]
    report = await verify(CODEC, _records(values))
    assert report.broken is not None and report.broken.offset == 4 and "seq" in report.broken.reason


async def test_a_restarted_writer_continues_the_chain() -> None:
    first = await _chain(3)
    out: list[bytes] = []

    async def send(value: bytes, key: str) -> None:
        out.append(value)

    async def last():
        return CODEC.decode(first[-1])

    log = AuditLog(CODEC, ManualClock(), send, last)
    await log.append(AuditEntry("EMIT", "court.replies", b"x", "hub"))
    assert (await verify(CODEC, _records(first + out))).ok


async def test_the_spliced_encoding_equals_a_full_encode_of_the_sealed_record() -> None:
    for raw in await _chain(5):
        rec = CODEC.decode(raw)
        assert len(rec.body["hash"]) == 64
        assert CODEC.encode_message(rec) == raw  # the bytes sent are exactly the record's encoding


def test_splicing_refuses_a_record_that_does_not_end_with_a_blank_hash() -> None:
    with pytest.raises(CodecError):
        seal_encoded(b"\x00\x01", "0" * 64)
    with pytest.raises(CodecError):
        seal_encoded(b"\x01\x00", "0" * 63)
