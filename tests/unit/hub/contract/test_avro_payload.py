"""A message schema made standalone for the contract: its named types defined inside it once, resolved as Avro
resolves names (full names, or short names in the enclosing namespace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastavro.schema import parse_schema

from hub.contract.avro_payload import standalone_schema
from hub.errors import SchemaError


def _write(directory: Path, schema: dict[str, object]) -> None:
    name = f"{schema['namespace']}.{schema['name']}" if "namespace" in schema else str(schema["name"])
    (directory / f"{name}.avsc").write_text(json.dumps(schema), encoding="utf-8")


def test_each_named_type_is_defined_at_its_first_use_and_named_after(tmp_path: Path) -> None:
    _write(tmp_path, {"type": "enum", "name": "Kind", "namespace": "x.common", "symbols": ["A", "B"]})
    _write(tmp_path, {"type": "record", "name": "Part", "namespace": "x.common",
                      "fields": [{"name": "kind", "type": "Kind"}]})  # a short name: the enclosing namespace's
    _write(tmp_path, {"type": "record", "name": "Msg", "namespace": "x.msg", "fields": [
        {"name": "first", "type": "x.common.Part"},
        {"name": "second", "type": ["null", "x.common.Part"], "default": None},
        {"name": "kinds", "type": {"type": "array", "items": "x.common.Kind"}},
    ]})
    schema = standalone_schema("x.msg.Msg", tmp_path)
    first, second, kinds = schema["fields"]
    assert first["type"]["name"] == "Part" and first["type"]["fields"][0]["type"]["name"] == "Kind"
    assert second["type"] == ["null", "x.common.Part"]
    assert kinds["type"] == {"type": "array", "items": "x.common.Kind"}
    parse_schema(schema, _write_hint=False)  # standalone: Avro resolves every name


def test_a_named_type_without_its_file_is_a_schema_error(tmp_path: Path) -> None:
    _write(tmp_path, {"type": "record", "name": "Msg", "namespace": "x.msg",
                      "fields": [{"name": "gone", "type": "x.common.Gone"}]})
    with pytest.raises(SchemaError, match=r"x\.common\.Gone"):
        standalone_schema("x.msg.Msg", tmp_path)
