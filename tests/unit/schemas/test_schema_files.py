"""Contract checks for every Avro schema file in ``schemas/avro``.

Conventions checked here (the codec in ``hub/codec.py`` relies on them):

* each file is named ``<namespace>.<name>.avsc`` so that ``fastavro.schema.load_schema`` resolves a
  referenced named type ``a.b.C`` by loading ``a.b.C.avsc`` from the same directory;
* a file whose namespace does not end in ``.common`` is a top-level message: its first field is
  ``envelope`` (``cn.court.interop.common.Envelope``) and its second field is an inline ``body`` record;
* a ``.common`` file defines exactly one named type, so every shared name resolves to one file;
* enums carry a default symbol, every field and named type has a ``doc``, optional fields are
  ``["null", T]`` defaulting to null, arrays default to ``[]``, money is never a float;
* a random datum round-trips through fastavro, and the loaded (fully resolved) schema is accepted by the
  Apache reference implementation, which catches duplicate names, duplicate fields and invalid names
  that fastavro tolerates.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import avro.errors
import avro.schema
import fastavro
import pytest
from fastavro.schema import load_schema, to_parsing_canonical_form
from fastavro.utils import generate_one

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "avro"
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.avsc"))
COMMON_NS = "cn.court.interop.common"
ENVELOPE = f"{COMMON_NS}.Envelope"
TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}
DATE = {"type": "int", "logicalType": "date"}

EXPECTED_MESSAGES = {
    "cn.court.interop.bank": {
        "QueryRequest",
        "QueryReply",
        "FreezeRequest",
        "FreezeReply",
        "ContinueFreezeRequest",
        "ContinueFreezeReply",
        "UnfreezeRequest",
        "UnfreezeReply",
        "DeductRequest",
        "DeductReply",
        "IntensiveQueryRequest",
        "IntensiveQueryResult",
        "PropertyViewed",
        "SupervisionEscalation",
    },
    "cn.court.interop.police": {
        "IdentityLookupRequest",
        "IdentityLookupReply",
        "ExitEntryLookupRequest",
        "ExitEntryLookupReply",
        "VehicleLookupRequest",
        "VehicleLookupReply",
        "HotelStayLookupRequest",
        "HotelStayLookupReply",
        "ExitRestrictionRequest",
        "VehicleSeizureRequest",
        "LocatePersonRequest",
        "MeasureReply",
        "MeasureRelease",
        "MeasureReleaseAck",
        "MeasureLapsed",
        "Sighting",
    },
    "cn.court.interop.credit": {
        "ListDecision",
        "ListEvent",
        "ListEntry",
        "ListAck",
        "ListLookupRequest",
        "ListLookupReply",
        "ConsumptionRestriction",
        "ConsumptionRestrictionAck",
    },
    "cn.court.interop.ops": {
        "ErrorReply",
        "DeadLetter",
        "AnomalyNotice",
        "NoticeAck",
        "Heartbeat",
        "DeadlineEvent",
        "AuditRecord",
    },
    "cn.court.interop.sweep": {
        "TerminatedCaseRegistered",
        "TerminatedCaseClosed",
        "ClueCheckRequest",
        "WatchRequest",
        "WatchEnded",
        "WatchSubject",
        "WatchHit",
        "SweepGroundMet",
    },
}
BANK_REPLIES = {"QueryReply", "FreezeReply", "ContinueFreezeReply", "UnfreezeReply", "DeductReply"}


# --------------------------------------------------------------------------------- helpers
def _raw(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: top level must be a named type (JSON object)"
    return data


def _fullname(schema: dict[str, Any]) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    return f"{schema['namespace']}.{name}"


def _is_message(path: Path) -> bool:
    return not str(_raw(path)["namespace"]).endswith(".common")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object (type definitions and fields) inside a raw schema file."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _named_definitions(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in _walk(schema) if n.get("type") in ("record", "enum", "fixed") and "name" in n]


def _fields(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for definition in _named_definitions(schema):
        if definition["type"] == "record":
            yield from definition["fields"]


def _strip_private(node: Any) -> Any:
    """Drop fastavro's bookkeeping keys (``__fastavro_parsed``, ``__named_schemas``)."""
    if isinstance(node, dict):
        return {k: _strip_private(v) for k, v in node.items() if not str(k).startswith("__")}
    if isinstance(node, list):
        return [_strip_private(v) for v in node]
    return node


def apache_parse(path: Path) -> avro.schema.Schema:
    """Load ``path`` with fastavro (resolving references from the same directory) and hand the resolved
    schema, in which each named type is defined exactly once, to the Apache reference parser."""
    loaded = load_schema(str(path))
    resolved = avro.schema.parse(json.dumps(_strip_private(loaded)))
    avro.schema.parse(to_parsing_canonical_form(loaded))
    return resolved


def _ids(paths: list[Path]) -> list[str]:
    return [p.name.removesuffix(".avsc") for p in paths]


MESSAGE_FILES = [p for p in SCHEMA_FILES if _is_message(p)]
COMMON_FILES = [p for p in SCHEMA_FILES if not _is_message(p)]


# --------------------------------------------------------------------------------- inventory
def test_every_message_of_spec_sections_2_to_7_has_a_schema_file() -> None:
    """SPEC §3-§7: bank, police, credit-list and operations messages all have a contract."""
    found: dict[str, set[str]] = {}
    for path in MESSAGE_FILES:
        raw = _raw(path)
        found.setdefault(raw["namespace"], set()).add(raw["name"])
    for namespace, names in EXPECTED_MESSAGES.items():
        missing = names - found.get(namespace, set())
        assert not missing, f"{namespace}: no schema for {sorted(missing)}"
    assert set(found) == set(EXPECTED_MESSAGES), f"unexpected message namespaces: {sorted(found)}"


# --------------------------------------------------------------------------------- per-file checks
@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_file_name_is_fullname(path: Path) -> None:
    """(a) ``<namespace>.<name>.avsc`` so that load_schema resolves references by file name."""
    raw = _raw(path)
    assert "namespace" in raw and "." not in raw["name"], f"{path.name}: give name and namespace separately"
    assert raw["namespace"].startswith("cn.court.interop.")
    assert path.name == f"{_fullname(raw)}.avsc"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_schema_loads_with_fastavro(path: Path) -> None:
    """(b) fastavro loads the file, resolving every referenced named type from the same directory."""
    loaded = load_schema(str(path))
    assert loaded["name"] == _fullname(_raw(path))


@pytest.mark.parametrize("path", MESSAGE_FILES, ids=_ids(MESSAGE_FILES))
def test_message_starts_with_envelope_then_inline_body(path: Path) -> None:
    """(c) Every message: first field ``envelope``, second field ``body`` (an inline record)."""
    raw = _raw(path)
    assert raw["type"] == "record"
    fields = raw["fields"]
    assert fields[0]["name"] == "envelope"
    assert fields[0]["type"] == ENVELOPE
    assert fields[1]["name"] == "body"
    body = fields[1]["type"]
    assert isinstance(body, dict) and body["type"] == "record"
    assert body["name"] == f"{raw['name']}Body"
    assert len(fields) <= 3, "messages carry envelope, body and (bank replies only) seal"


@pytest.mark.parametrize("path", COMMON_FILES, ids=_ids(COMMON_FILES))
def test_common_file_defines_exactly_one_named_type(path: Path) -> None:
    """A shared type must resolve to exactly one file; nested shared types get files of their own."""
    assert len(_named_definitions(_raw(path))) == 1


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_every_enum_has_a_default_symbol(path: Path) -> None:
    """(d) Adding symbols later stays compatible only when old readers have a fallback symbol."""
    enums = [d for d in _named_definitions(_raw(path)) if d["type"] == "enum"]
    for enum in enums:
        assert "default" in enum, f"enum {enum['name']} has no default"
        assert enum["default"] in enum["symbols"], f"enum {enum['name']} default is not a symbol"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_every_field_and_type_has_a_doc(path: Path) -> None:
    """(e) Court clerks and bank adapter teams read these files: everything is documented."""
    raw = _raw(path)
    for definition in _named_definitions(raw):
        assert str(definition.get("doc", "")).strip(), f"type {definition['name']} has no doc"
    for field in _fields(raw):
        assert str(field.get("doc", "")).strip(), f"field {field['name']} has no doc"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_field_conventions(path: Path) -> None:
    """Optional = ["null", T] default null; arrays default []; snake_case names; no floats (money is
    integer fen); ``*_at`` are timestamp-millis and ``*_date`` / ``*_on`` are dates."""
    raw = _raw(path)
    for field in _fields(raw):
        name, ftype = field["name"], field["type"]
        assert name == name.lower() and name.replace("_", "").isalnum(), f"{name} is not snake_case"
        if isinstance(ftype, list):
            assert ftype[0] == "null" and len(ftype) == 2, f"{name}: unions are ['null', T]"
            assert "default" in field and field["default"] is None, f"{name}: optional needs default null"
        if isinstance(ftype, dict) and ftype.get("type") == "array":
            assert field.get("default") == [], f"{name}: arrays default to []"
        inner = ftype[1] if isinstance(ftype, list) else ftype
        if name.endswith("_at"):
            assert inner == TIMESTAMP, f"{name}: *_at fields are timestamp-millis"
        if name.endswith(("_date", "_on")):
            assert inner == DATE, f"{name}: *_date / *_on fields are dates"
    text = json.dumps(raw)
    assert '"float"' not in text and '"double"' not in text, "no floating point anywhere (money is fen)"
    assert '"decimal"' not in text, "money is integer fen, not decimal"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_generated_datum_round_trips(path: Path) -> None:
    """(f) A random datum survives schemaless write → read → write unchanged."""
    schema = load_schema(str(path))
    datum = generate_one(schema)
    first = io.BytesIO()
    fastavro.schemaless_writer(first, schema, datum)
    first.seek(0)
    decoded = fastavro.schemaless_reader(first, schema, schema)
    assert first.read() == b"", "reader must consume exactly what the writer wrote"
    second = io.BytesIO()
    fastavro.schemaless_writer(second, schema, decoded)
    assert second.getvalue() == first.getvalue()
    if _raw(path)["type"] == "enum":
        assert decoded == datum
    else:
        assert isinstance(decoded, dict) and set(decoded) == set(datum)
    if _is_message(path):
        assert decoded["envelope"]["message_id"] == datum["envelope"]["message_id"]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_ids(SCHEMA_FILES))
def test_resolved_schema_accepted_by_apache_avro(path: Path) -> None:
    """(g) The reference implementation accepts the resolved schema (no name defined twice, no duplicate
    field, only valid names, enum defaults among the symbols)."""
    parsed = apache_parse(path)
    assert isinstance(parsed, avro.schema.NamedSchema)
    assert parsed.fullname == _fullname(_raw(path))


# --------------------------------------------------------------------------------- domain details
def test_money_is_integer_fen_with_iso_currency() -> None:
    """SPEC §2: a fractional-fen amount cannot even be expressed."""
    raw = _raw(SCHEMA_DIR / f"{COMMON_NS}.Money.avsc")
    fields = {f["name"]: f["type"] for f in raw["fields"]}
    assert fields == {"amount_fen": "long", "currency": "string"}


def test_envelope_fields() -> None:
    """SPEC §2: every request has a unique id and every reply names the request it answers."""
    raw = _raw(SCHEMA_DIR / f"{ENVELOPE}.avsc")
    fields = {f["name"]: f["type"] for f in raw["fields"]}
    assert fields == {
        "message_id": "string",
        "request_id": "string",
        "correlation_id": ["null", "string"],
        "sender": "string",
        "recipient": "string",
        "sent_at": TIMESTAMP,
        "schema_version": "int",
    }


@pytest.mark.parametrize("name", sorted(BANK_REPLIES))
def test_bank_reply_is_sealed_and_dated(name: str) -> None:
    """000 §8 (sealed receipt), §16 (delivery time), §17 (reason when not executed)."""
    raw = _raw(SCHEMA_DIR / f"cn.court.interop.bank.{name}.avsc")
    seal = raw["fields"][2]
    assert seal["name"] == "seal"
    assert seal["type"] == ["null", f"{COMMON_NS}.Seal"] and seal["default"] is None
    body = {f["name"]: f["type"] for f in raw["fields"][1]["type"]["fields"]}
    assert body["status"] == f"{COMMON_NS}.ExecutionStatus"
    assert body["reason"] == ["null", "string"]
    assert body["delivered_at"] == TIMESTAMP
    assert body["executed_at"] == TIMESTAMP


def test_freeze_request_requires_account_and_amount() -> None:
    """000 §9: a freeze names an explicit account and amount; neither may be left out."""
    raw = _raw(SCHEMA_DIR / "cn.court.interop.bank.FreezeRequest.avsc")
    body = {f["name"]: f for f in raw["fields"][1]["type"]["fields"]}
    assert body["account_number"]["type"] == "string" and "default" not in body["account_number"]
    assert body["amount"]["type"] == f"{COMMON_NS}.Money" and "default" not in body["amount"]


def test_freeze_reply_reports_limited_and_waiting_in_line_freeze() -> None:
    """000 §10: requested vs actually frozen, limited freeze (限额冻结), earlier freeze records (轮候)."""
    raw = _raw(SCHEMA_DIR / "cn.court.interop.bank.FreezeReply.avsc")
    body = {f["name"] for f in raw["fields"][1]["type"]["fields"]}
    assert {
        "requested",
        "frozen",
        "start_at",
        "end_date",
        "limited_freeze",
        "remaining_limit",
        "waiting_in_line",
        "earlier_freezes",
    } <= body


def test_sighting_kinds() -> None:
    """002 §3(一)-(三): sightings at the border, hotels, road checks, inspection, transfer, mortgage."""
    raw = _raw(SCHEMA_DIR / "cn.court.interop.police.Sighting.avsc")
    kind = next(f for f in raw["fields"][1]["type"]["fields"] if f["name"] == "kind")["type"]
    assert set(kind["symbols"]) >= {
        "BORDER_EXIT_ATTEMPT",
        "HOTEL_CHECK_IN",
        "ROAD_CHECK",
        "INSPECTION",
        "TRANSFER_ATTEMPT",
        "MORTGAGE_ATTEMPT",
        "OTHER",
    }


def test_listing_grounds_cover_article_1_items_1_to_6() -> None:
    """失信规定 art. 1 items (一)-(六), plus a fallback symbol."""
    raw = _raw(SCHEMA_DIR / f"{COMMON_NS}.ListingGround.avsc")
    assert len(raw["symbols"]) == 7 and raw["default"] == "UNKNOWN"


# --------------------------------------------------------------------------------- the checker itself
def _write(directory: Path, schema: dict[str, Any]) -> Path:
    path = directory / f"{schema['namespace']}.{schema['name']}.avsc"
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_apache_check_catches_duplicate_field_that_fastavro_tolerates(tmp_path: Path) -> None:
    """Guard for (g): fastavro loads a record with a duplicated field name, Apache Avro refuses it."""
    path = _write(
        tmp_path,
        {
            "type": "record",
            "name": "Dup",
            "namespace": "x.y",
            "doc": "d",
            "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "string"}],
        },
    )
    load_schema(str(path))
    with pytest.raises(avro.errors.SchemaParseException):
        apache_parse(path)


def test_apache_check_resolves_references_across_files(tmp_path: Path) -> None:
    """Guard for (g): a type referenced twice is defined once in the resolved schema, so reuse is fine."""
    _write(
        tmp_path,
        {"type": "enum", "name": "E", "namespace": "x.common", "symbols": ["A", "Z"], "default": "Z"},
    )
    path = _write(
        tmp_path,
        {
            "type": "record",
            "name": "M",
            "namespace": "x.y",
            "fields": [{"name": "a", "type": "x.common.E"}, {"name": "b", "type": "x.common.E"}],
        },
    )
    assert apache_parse(path).fullname == "x.y.M"
