"""The Avro single-object codec: round trips, the Apache reference implementation, typed errors."""

from __future__ import annotations

import contextlib
import io
import json
import random

import avro.io
import avro.schema
import pytest
from fastavro.schema import load_schema
from fastavro.utils import generate_one
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.codec import HEADER_LEN, MARKER, AvroCodec, SchemaRegistry, default_codec
from hub.errors import CodecError, CorruptPayload, NotSingleObjectEncoded, SchemaError, UnknownSchemaFingerprint
from schemas import SCHEMA_DIR

CODEC = default_codec()
NAMES = CODEC.registry.names()


def _reference_schema(name: str) -> avro.schema.Schema:
    """The message schema as the Apache reference implementation parses it."""
    return avro.schema.parse(json.dumps(load_schema(str(SCHEMA_DIR / f"{name}.avsc"), _write_hint=False)))


def _sample(name: str, seed: int = 7) -> dict:
    random.seed(seed)
    return generate_one(CODEC.registry.by_name(name).parsed)


def test_registry_holds_every_message_schema_once() -> None:
    assert len(NAMES) >= 40
    assert len({CODEC.registry.by_name(n).fingerprint for n in NAMES}) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_schema_round_trips(name: str) -> None:
    datum = _sample(name)
    data = CODEC.encode(name, datum)
    assert data[:2] == MARKER and data[2:HEADER_LEN] == CODEC.registry.by_name(name).fingerprint
    decoded = CODEC.decode(data)
    assert decoded.schema == name
    assert CODEC.encode(name, decoded.datum) == data


@pytest.mark.parametrize("name", NAMES)
def test_reference_implementation_reads_our_bytes(name: str) -> None:
    datum = _sample(name, seed=11)
    data = CODEC.encode(name, datum)
    ours = CODEC.decode(data).datum
    reader = avro.io.DatumReader(_reference_schema(name))
    body = io.BytesIO(data[HEADER_LEN:])
    theirs = reader.read(avro.io.BinaryDecoder(body))
    assert body.tell() == len(data) - HEADER_LEN, "the reference consumed exactly our datum"
    assert theirs == ours


@pytest.mark.parametrize("name", NAMES)
def test_we_read_bytes_written_by_the_reference_implementation(name: str) -> None:
    datum = CODEC.decode(CODEC.encode(name, _sample(name, seed=13))).datum
    buf = io.BytesIO()
    avro.io.DatumWriter(_reference_schema(name)).write(datum, avro.io.BinaryEncoder(buf))
    # Single-object framing: marker + our (spec-conformant) fingerprint; see the next test.
    data = MARKER + CODEC.registry.by_name(name).fingerprint + buf.getvalue()
    assert CODEC.decode(data).datum == datum
    assert data == CODEC.encode(name, datum), "byte-identical to our own encoding"


def test_fingerprint_algorithm_matches_the_reference_where_its_canonical_form_is_right() -> None:
    """CRC-64-AVRO over the Parsing Canonical Form, little-endian (Avro spec, single-object encoding).

    The Python reference keeps ``{"type":"long"}`` for a long with a logicalType in its canonical
    form, which the spec (and the Java implementation, see tests/integration/
    test_avro_java_interop.py) reduce to ``"long"``; on schemas without logical types both agree.
    """
    plain = {"type": "record", "name": "Probe", "namespace": "t",
             "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": ["null", "long"], "default": None}]}
    registry = SchemaRegistry([])
    ours = registry.add_writer_version(plain)
    assert avro.schema.parse(json.dumps(plain)).fingerprint() == ours.fingerprint
    logical = {**plain, "fields": [{"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
    ours_logical = SchemaRegistry([]).add_writer_version(logical).canonical
    assert '{"name":"t","type":"long"}' in ours_logical
    assert '{"type":"long"}' in avro.schema.parse(json.dumps(logical)).canonical_form  # the reference's quirk


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", NotSingleObjectEncoded),
        (b"\xc3\x01\x00", NotSingleObjectEncoded),
        (b"\x00\x01" + bytes(8), NotSingleObjectEncoded),
        (MARKER + bytes(8), UnknownSchemaFingerprint),
    ],
)
def test_bad_frames_raise_typed_errors(data: bytes, error: type[CodecError]) -> None:
    with pytest.raises(error):
        CODEC.decode(data)


def test_unknown_fingerprint_error_carries_the_fingerprint() -> None:
    with pytest.raises(UnknownSchemaFingerprint) as info:
        CODEC.decode(MARKER + b"\x01" * 8 + b"\x00")
    assert info.value.fingerprint == b"\x01" * 8 and info.value.code == "unknown_fingerprint"


def test_truncated_and_padded_payloads_are_corrupt() -> None:
    name = "cn.court.interop.ops.Heartbeat"
    data = CODEC.encode(name, _sample(name))
    with pytest.raises(CorruptPayload):
        CODEC.decode(data[:-3])
    with pytest.raises(CorruptPayload, match="trailing"):
        CODEC.decode(data + b"\x00")


def test_encoding_an_invalid_datum_names_the_problem() -> None:
    name = "cn.court.interop.ops.Heartbeat"
    datum = _sample(name)
    datum["body"]["agency"] = 42
    with pytest.raises(CodecError, match="agency"):
        CODEC.encode(name, datum)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(NAMES), tail=st.binary(max_size=300))
def test_random_payload_behind_a_valid_header_never_escapes_as_anything_but_codec_error(
    name: str, tail: bytes
) -> None:
    data = MARKER + CODEC.registry.by_name(name).fingerprint + tail
    with contextlib.suppress(CodecError):  # any other exception fails the test
        CODEC.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_codec_errors(data: bytes) -> None:
    with contextlib.suppress(CodecError):  # any other exception fails the test
        CODEC.decode(data)


def test_old_writer_is_read_by_new_reader_after_registration() -> None:
    """Evolution: a message written with the previous version decodes into the current one."""
    name = "cn.court.interop.ops.Heartbeat"
    current = json.loads(json.dumps(load_schema(str(SCHEMA_DIR / f"{name}.avsc"), _write_hint=False)))
    body = next(f for f in current["fields"] if f["name"] == "body")["type"]
    old = json.loads(json.dumps(current))
    old_body = next(f for f in old["fields"] if f["name"] == "body")["type"]
    old_body["fields"] = [f for f in body["fields"] if f["name"] != "detail"]  # the old version lacked it
    registry = SchemaRegistry.from_dir()
    codec = AvroCodec(registry)
    writer = registry.add_writer_version(old, origin="v0")
    old_codec = AvroCodec(SchemaRegistry([writer]))
    datum = CODEC.decode(CODEC.encode(name, _sample(name))).datum
    del datum["body"]["detail"]
    decoded = codec.decode(old_codec.encode(name, datum))
    assert decoded.body["detail"] is None, "the new field takes its default"


def test_unknown_message_name_is_a_schema_error() -> None:
    plain = {"type": "record", "name": "A", "namespace": "t", "fields": []}
    registry = SchemaRegistry([])
    registry.add_writer_version(plain)
    with pytest.raises(SchemaError):
        registry.by_name("t.B")
