"""Avro single-object encoding on fastavro.

Wire format (Avro spec, "Single-object encoding"): the two-byte marker ``C3 01``, the 8-byte
little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then the
Avro binary datum.  Every schema is parsed once, at registry construction.  Decoding never
raises anything but a :class:`~hub.errors.CodecError` subclass, so a bad record can always be
dead-lettered instead of crashing a worker.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint as avro_fingerprint
from fastavro.schema import load_schema, parse_schema, to_parsing_canonical_form
from fastavro.validation import ValidationError as AvroValidationError
from fastavro.validation import validate

from hub.errors import (
    CorruptPayload,
    EncodeError,
    NotSingleObjectEncoded,
    OversizeMessage,
    SchemaError,
    UnknownSchemaFingerprint,
)
from schemas import COMMON_NAMESPACE_SUFFIX, SCHEMA_DIR

MARKER = b"\xc3\x01"
HEADER_LEN = 10

# What fastavro raises on bytes that do not match the writer schema.
_DECODE_FAILURES = (
    EOFError, ValueError, IndexError, KeyError, TypeError, OverflowError, UnicodeDecodeError, StopIteration,
    MemoryError, AttributeError,
)
_ENCODE_FAILURES = (ValueError, TypeError, KeyError, AttributeError, OverflowError)


@dataclass(frozen=True, slots=True)
class MessageSchema:
    """One parsed message schema."""

    fullname: str
    fingerprint: bytes  # 8 bytes, little-endian CRC-64-AVRO
    canonical: str  # Parsing Canonical Form
    parsed: Any  # fastavro parsed schema (parsed once)
    source: str  # file or origin it was read from

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()

    @property
    def namespace(self) -> str:
        return self.fullname.rpartition(".")[0]


@dataclass(frozen=True, slots=True)
class AvroMessage:
    """A decoded (or to-be-encoded) message: its schema's full name and the datum."""

    schema: str
    datum: dict[str, Any]
    fingerprint: bytes = b""

    @property
    def envelope(self) -> dict[str, Any]:
        env: dict[str, Any] = self.datum["envelope"]
        return env

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.datum.get("body", self.datum)
        return body

    @property
    def request_id(self) -> str:
        return str(self.envelope["request_id"])

    @property
    def message_type(self) -> str:
        return self.schema.rpartition(".")[2]


def _fingerprint_of(parsed: Any) -> tuple[bytes, str]:
    canonical = to_parsing_canonical_form(parsed)
    return bytes.fromhex(avro_fingerprint(canonical, "CRC-64-AVRO")), canonical


def is_message_file(path: Path) -> bool:
    namespace = path.name.removesuffix(".avsc").rpartition(".")[0]
    return not namespace.endswith(COMMON_NAMESPACE_SUFFIX)


class SchemaRegistry:
    """All message schemas, by full name and by fingerprint; each parsed once."""

    def __init__(self, schemas: Iterable[MessageSchema]) -> None:
        self._by_name: dict[str, MessageSchema] = {}
        self._by_fp: dict[bytes, MessageSchema] = {}
        for s in schemas:
            self.add(s)

    @classmethod
    def from_dir(cls, directory: Path = SCHEMA_DIR) -> SchemaRegistry:
        files = sorted(p for p in directory.glob("*.avsc") if is_message_file(p))
        if not files:
            raise SchemaError(f"no message schemas in {directory}", field="schema_dir")
        loaded = []
        for path in files:
            try:
                parsed = load_schema(str(path), _write_hint=False)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                raise SchemaError(f"cannot load {path.name}: {exc}", field="schema") from exc
            fp, canonical = _fingerprint_of(parsed)
            fullname = path.name.removesuffix(".avsc")
            loaded.append(MessageSchema(fullname, fp, canonical, parse_schema(parsed), path.name))
        return cls(loaded)

    def add(self, schema: MessageSchema) -> None:
        """Add a schema; an older writer version of a known name is kept for decoding only."""
        other = self._by_fp.get(schema.fingerprint)
        if other is not None and other.fullname != schema.fullname:
            raise SchemaError(f"{schema.fullname} and {other.fullname} share a fingerprint", field="schema")
        self._by_fp[schema.fingerprint] = schema
        self._by_name.setdefault(schema.fullname, schema)

    def add_writer_version(self, schema_json: Mapping[str, Any] | str, origin: str = "writer") -> MessageSchema:
        """Register an older (or newer) writer version of a known message for decoding."""
        raw = json.loads(schema_json) if isinstance(schema_json, str) else dict(schema_json)
        parsed: Any = parse_schema(raw, _write_hint=False)
        fp, canonical = _fingerprint_of(parsed)
        name = str(parsed["name"])
        ms = MessageSchema(name, fp, canonical, parse_schema(parsed), origin)
        self.add(ms)
        return ms

    def by_name(self, fullname: str) -> MessageSchema:
        try:
            return self._by_name[fullname]
        except KeyError:
            raise SchemaError(f"no message schema named {fullname!r}", field="schema") from None

    def by_fingerprint(self, fp: bytes) -> MessageSchema:
        try:
            return self._by_fp[fp]
        except KeyError:
            raise UnknownSchemaFingerprint(
                f"unknown writer schema fingerprint {fp.hex()}", fingerprint=fp
            ) from None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


def check_size(data: bytes | None, max_bytes: int) -> None:
    """Reject a value larger than ``max_bytes`` before any decoding work is spent on it."""
    if data is not None and len(data) > max_bytes:
        raise OversizeMessage(f"{len(data)} bytes is larger than the {max_bytes}-byte limit", field="value")


def read_header(data: bytes) -> bytes:
    """The writer fingerprint of single-object-encoded ``data``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NotSingleObjectEncoded(f"expected bytes, got {type(data).__name__}")
    if len(data) < HEADER_LEN:
        raise NotSingleObjectEncoded(f"{len(data)} bytes is shorter than the 10-byte single-object header")
    if data[:2] != MARKER:
        raise NotSingleObjectEncoded(f"marker is {bytes(data[:2]).hex()}, expected c301")
    return bytes(data[2:HEADER_LEN])


class AvroCodec:
    """Encode and decode messages in Avro single-object encoding."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry

    def encode(self, schema: str, datum: Mapping[str, Any]) -> bytes:
        ms = self.registry.by_name(schema)
        buf = io.BytesIO()
        buf.write(MARKER)
        buf.write(ms.fingerprint)
        try:
            schemaless_writer(buf, ms.parsed, datum)
        except _ENCODE_FAILURES as exc:
            raise EncodeError(f"{schema}: {self._explain(ms, datum, exc)}", field="datum") from exc
        return buf.getvalue()

    def encode_message(self, message: AvroMessage) -> bytes:
        return self.encode(message.schema, message.datum)

    @staticmethod
    def _explain(ms: MessageSchema, datum: Mapping[str, Any], exc: Exception) -> str:
        try:
            validate(datum, ms.parsed, raise_errors=True)
        except AvroValidationError as detail:
            return "; ".join(str(e) for e in detail.errors) if detail.errors else str(detail)
        return f"{type(exc).__name__}: {exc}"

    def decode(self, data: bytes) -> AvroMessage:
        fp = read_header(data)
        writer = self.registry.by_fingerprint(fp)
        reader = self.registry.by_name(writer.fullname)
        buf = io.BytesIO(data)
        buf.seek(HEADER_LEN)
        try:
            datum = schemaless_reader(
                buf, writer.parsed, reader.parsed if reader is not writer else None
            )
        except _DECODE_FAILURES as exc:
            raise CorruptPayload(f"{writer.fullname}: cannot decode: {type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(data):
            raise CorruptPayload(f"{writer.fullname}: {len(data) - buf.tell()} trailing bytes after the datum")
        if not isinstance(datum, dict):
            raise CorruptPayload(f"{writer.fullname}: datum is not a record")
        return AvroMessage(writer.fullname, datum, fp)


_default_codec: AvroCodec | None = None


def default_codec() -> AvroCodec:
    """The process-wide codec over the packaged schemas (built once)."""
    global _default_codec
    if _default_codec is None:
        _default_codec = AvroCodec(SchemaRegistry.from_dir())
    return _default_codec
