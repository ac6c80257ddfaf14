"""Avro encode + decode per message: the hub's codec (fastavro) vs the Apache ``avro`` reference.

Both sides handle the same QueryRequest and QueryReply data with the same schemas (the reference
parses the schema file with its named types inlined) and both write and read the 10-byte
single-object header, so only the Avro work differs.  The ``avro`` package is a dev dependency:
without it the reference figure is reported as missing.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastavro.schema import load_schema

from bench.load import query_requests
from hub.codec import HEADER_LEN, MARKER, AvroCodec, AvroMessage, default_codec
from hub.settings import HubSettings
from schemas import SCHEMA_DIR


def sample_messages(settings: HubSettings) -> list[AvroMessage]:
    """A QueryRequest and a bank's QueryReply listing accounts (the two messages of a round trip)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from agents.bank.ledger import BankLedger
    from agents.bank.simulator import SimulatedBank
    from agents.population import Population

    codec = default_codec()
    request = codec.decode(query_requests(settings, 1)[0].value)
    ledger = BankLedger("icbc")
    ledger.seed(Population.generate(2024), as_of=datetime(2025, 1, 2, tzinfo=UTC).date())
    bank = SimulatedBank("icbc", ledger, "bench", Ed25519PrivateKey.generate(), codec)
    reply = bank.reply_to(request, datetime(2025, 1, 2, 1, tzinfo=UTC))
    return [request, reply]


def _time_per_call(fn: Callable[[], object], min_seconds: float) -> float:
    """Microseconds per call of ``fn`` (run for at least ``min_seconds``)."""
    calls, started = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        calls += 50
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / calls * 1e6


def ours_us(codec: AvroCodec, msgs: list[AvroMessage], min_seconds: float) -> float:
    """Mean µs of encode + decode of one message with the hub's codec."""

    def round_trip() -> None:
        for m in msgs:
            codec.decode(codec.encode_message(m))

    return _time_per_call(round_trip, min_seconds) / len(msgs)


def reference_us(codec: AvroCodec, msgs: list[AvroMessage], min_seconds: float) -> float | None:
    """Mean µs of encode + decode of one message with the Apache ``avro`` package (None if missing)."""
    try:
        import avro.io
        import avro.schema
    except ImportError:
        return None
    prepared: list[tuple[Any, Any, Any, bytes, dict[str, Any]]] = []
    for m in msgs:
        name = m.schema
        schema = avro.schema.parse(
            json.dumps(load_schema(str(SCHEMA_DIR / f"{name}.avsc"), _write_hint=False))
        )
        header = MARKER + codec.registry.by_name(name).fingerprint
        prepared.append((schema, avro.io.DatumWriter(schema), avro.io.DatumReader(schema), header, m.datum))

    def round_trip() -> None:
        for _schema, writer, reader, header, datum in prepared:
            buf = io.BytesIO()
            buf.write(header)
            writer.write(datum, avro.io.BinaryEncoder(buf))
            data = buf.getvalue()
            if data[:2] != MARKER:
                raise ValueError("bad marker")
            body = io.BytesIO(data)
            body.seek(HEADER_LEN)
            reader.read(avro.io.BinaryDecoder(body))

    return _time_per_call(round_trip, min_seconds) / len(msgs)
