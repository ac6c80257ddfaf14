"""Avro single-object encoding as the guide's §3 says: ``C3 01``, the 8-byte CRC-64-AVRO fingerprint of the
writer schema's Parsing Canonical Form (little-endian), then the binary datum."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import load_schema, to_parsing_canonical_form

MARKER = b"\xc3\x01"
_EMPTY = 0xC15D213AA4D7A795  # the Avro specification's CRC-64-AVRO seed


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _table()


def crc64_avro(data: bytes) -> bytes:
    """The Rabin fingerprint of the Avro specification, as the 8 bytes single-object encoding writes."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


class WireError(ValueError):
    """Bytes that are not a single-object encoded message of a known schema."""


@dataclass(frozen=True)
class Decoded:
    name: str  # the writer schema's full name, e.g. cn.court.interop.bank.FreezeReply
    datum: dict[str, Any]

    @property
    def envelope(self) -> dict[str, Any]:
        env: dict[str, Any] = self.datum["envelope"]
        return env

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.datum["body"]
        return body


class Codec:
    """Every ``<fullname>.avsc`` of a schema directory, by full name and by fingerprint."""

    def __init__(self, schema_dir: Path) -> None:
        self._schemas: dict[str, Any] = {}
        self._fingerprints: dict[str, bytes] = {}
        self._names: dict[bytes, str] = {}
        for path in sorted(Path(schema_dir).glob("*.avsc")):
            name = path.name.removesuffix(".avsc")
            parsed = load_schema(str(path), _write_hint=False)  # named types resolved from the sibling files
            fingerprint = crc64_avro(to_parsing_canonical_form(parsed).encode("utf-8"))
            self._schemas[name], self._fingerprints[name], self._names[fingerprint] = parsed, fingerprint, name

    def fingerprint(self, name: str) -> bytes:
        return self._fingerprints[name]

    def encode(self, name: str, datum: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(MARKER + self._fingerprints[name])
        schemaless_writer(out, self._schemas[name], datum)
        return out.getvalue()

    def decode(self, raw: bytes) -> Decoded:
        if len(raw) < 10 or raw[:2] != MARKER:
            raise WireError("not single-object encoded")
        name = self._names.get(raw[2:10])
        if name is None:
            raise WireError(f"unknown fingerprint {raw[2:10].hex()}")
        stream = io.BytesIO(raw[10:])
        datum = schemaless_reader(stream, self._schemas[name], None)
        if stream.tell() != len(raw) - 10 or not isinstance(datum, dict):
            raise WireError(f"{name}: bytes trail the datum")
        return Decoded(name, datum)
