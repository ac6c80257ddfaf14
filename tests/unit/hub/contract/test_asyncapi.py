"""The AsyncAPI contract (issue 16): generated from the catalog and the schemas, committed, and current.

The committed ``docs/asyncapi.yaml`` must be what ``interop-hub contract`` makes now, so a catalog or schema change
without regenerating it fails here.  The document itself: every catalog topic a channel with its Kafka layout and
key, every message schema a message whose standalone payload has the codec's fingerprint, every producer and
consumer an operation with its ACL and consumer groups (the headers: ``test_record_headers.py``).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from hub.cli import build_parser
from hub.codec import SchemaRegistry
from hub.contract.asyncapi import (
    AVRO_SCHEMA_FORMAT,
    COMMAND,
    TABLE_ROW,
    channel_messages,
    message_ids,
    render,
)
from hub.contract.commands import DEFAULT_APP_ID, DEFAULT_OUTPUT, current_document
from hub.settings import HubSettings
from tests.unit.offline_cli import ROOT, run_offline
from topics.catalog import DEFAULT_CATALOG, HUB, Role, acl_grants, consumer_groups

COMMITTED = ROOT / DEFAULT_OUTPUT
REGENERATE = ".venv/bin/interop-hub contract"


def test_the_committed_document_is_what_the_catalog_and_the_schemas_make_now() -> None:
    assert COMMITTED.is_file(), f"{DEFAULT_OUTPUT} is missing: run `{REGENERATE}` and commit it"
    committed, current = COMMITTED.read_text(encoding="utf-8"), current_document()
    if committed != current:
        diff = difflib.unified_diff(committed.splitlines(), current.splitlines(), "committed", "generated", lineterm="",
                                    n=1)
        shown = "\n".join(line[:160] for line in list(diff)[:40])
        pytest.fail(f"{DEFAULT_OUTPUT} is out of date (the catalog or the schemas changed): run `{REGENERATE}` and "
                    f"commit it. First differences:\n{shown}")


def test_the_yaml_reads_back_as_the_document_built(doc: dict[str, Any]) -> None:
    text = render(doc)
    assert "&id" not in text and "*id" not in text, "no YAML anchors or aliases"
    assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == doc  # noqa: S506 - a safe loader


def test_every_catalog_topic_is_a_channel_with_its_partitions_replicas_retention_and_key(doc: dict[str, Any]) -> None:
    channels = doc["channels"]
    assert list(channels) == [spec.name for spec in DEFAULT_CATALOG]
    for spec in DEFAULT_CATALOG:
        channel = channels[spec.name]
        assert channel["address"] == spec.name  # no deployment prefix
        kafka = channel["bindings"]["kafka"]
        assert (kafka["partitions"], kafka["replicas"]) == (spec.partitions, spec.replication_factor)
        config = kafka["topicConfiguration"]
        assert config["cleanup.policy"] == [spec.cleanup.value]
        assert config["retention.ms"] == spec.retention_ms
        assert {k: str(v) for k, v in config.items() if k != "cleanup.policy"} == {
            k: v for k, v in spec.configs().items() if k != "cleanup.policy"}
        assert f"Key: {spec.key}:" in channel["description"]
        assert kafka["x-key"]["type"] == "string" and kafka["x-key"]["description"].startswith(f"{spec.key}: ")


def test_a_channel_carries_the_messages_of_its_value_families(doc: dict[str, Any], registry: SchemaRegistry) -> None:
    ids = message_ids(registry.names())
    for spec in DEFAULT_CATALOG:
        expected = [ids.get(m, m) for m in channel_messages(spec, registry.names())]
        refs = doc["channels"][spec.name]["messages"]
        assert list(refs) == expected
        assert all(ref == {"$ref": f"#/components/messages/{m}"} for m, ref in refs.items())
    assert list(doc["channels"]["hub.table.requests"]["messages"]) == [TABLE_ROW]  # the raw family: faust's rows
    court_requests = doc["channels"]["court.requests"]["messages"]
    assert {"FreezeRequest", "ExitRestrictionRequest", "ListDecision"} <= set(court_requests)


def test_a_message_on_channels_with_different_keys_says_the_key_of_each(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    for spec in DEFAULT_CATALOG:
        shown = spec.name.replace(f".{spec.agency}.", ".<code>.") if spec.agency else spec.name
        for m in doc["channels"][spec.name]["messages"]:
            key = messages[m]["bindings"]["kafka"]["key"]["description"]
            if key.startswith("By channel:"):
                assert f"{spec.key} on " in key and shown in key, (m, spec.name)
            else:
                assert key.startswith(f"{spec.key}: "), (m, spec.name)
    table_key = messages[TABLE_ROW]["bindings"]["kafka"]["key"]["description"]
    assert all(s.name in table_key for s in DEFAULT_CATALOG.by_role(Role.TABLE_CHANGELOG))


def test_every_message_schema_is_a_message_whose_payload_has_the_codecs_fingerprint(
        doc: dict[str, Any], registry: SchemaRegistry) -> None:
    """The payload is the .avsc with the shared types defined inside it: the same schema, standalone."""
    messages = doc["components"]["messages"]
    ids = message_ids(registry.names())
    assert set(messages) == {*ids.values(), TABLE_ROW}
    for name in registry.names():
        message = messages[ids[name]]
        assert message["payload"]["schemaFormat"] == AVRO_SCHEMA_FORMAT
        schema = message["payload"]["schema"]
        canonical = to_parsing_canonical_form(parse_schema(schema, _write_hint=False))
        assert fingerprint(canonical, "CRC-64-AVRO") == registry.by_name(name).fingerprint_hex, name
        assert message["x-avro-fingerprint"] == registry.by_name(name).fingerprint_hex
        assert message["correlationId"] == {"$ref": "#/components/correlationIds/requestId"}
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert Path(ROOT / message["x-schema-file"]).is_file()
    location = doc["components"]["correlationIds"]["requestId"]["location"]
    assert location == "$message.payload#/envelope/request_id"


def _named_types(node: Any, found: list[str]) -> list[str]:
    """Walk an Avro schema: every named type it defines, in order (``found``) ."""
    if isinstance(node, list):
        for branch in node:
            _named_types(branch, found)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed"):
            found.append(node["name"])
            for f in node.get("fields", ()):
                _named_types(f["type"], found)
        for part in ("items", "values"):
            if part in node:
                _named_types(node[part], found)
    return found


def test_a_shared_type_is_defined_once_in_each_payload_and_named_after(doc: dict[str, Any]) -> None:
    schema = doc["components"]["messages"]["FreezeRequest"]["payload"]["schema"]
    defined = _named_types(schema, [])
    assert len(defined) == len(set(defined))
    assert {"Envelope", "CaseRef", "Subject", "Officer", "Money", "DocumentRef"} <= set(defined)
    body = next(f for f in schema["fields"] if f["name"] == "body")["type"]
    notice = next(f for f in body["fields"] if f["name"] == "assistance_notice")
    assert notice["type"] == "cn.court.interop.common.DocumentRef"  # defined earlier (ruling): named here


def test_operations_are_the_producers_and_consumers_of_each_topic_with_their_acl(doc: dict[str, Any]) -> None:
    expected = {(p, "send", s.name) for s in DEFAULT_CATALOG for p in s.producers}
    expected |= {(p, "receive", s.name) for s in DEFAULT_CATALOG for p in s.consumers}
    operations = doc["operations"]
    found = {(op["x-principal"], op["action"], op["channel"]["$ref"].removeprefix("#/channels/"))
             for op in operations.values()}
    assert found == expected and len(operations) == len(expected)
    grants: dict[tuple[str, str], set[str]] = {}
    for g in acl_grants(DEFAULT_CATALOG):
        grants.setdefault((g.principal, g.topic), set()).add(g.operation)
    for op_id, op in operations.items():
        principal, action, topic = op["x-principal"], op["action"], op["channel"]["$ref"].removeprefix("#/channels/")
        assert op_id == f"{principal}.{action}.{topic}"
        assert set(op["x-acl"]) == grants[(principal, topic)]
        assert ("WRITE" if action == "send" else "READ") in op["x-acl"]
        assert op["security"] == [{"$ref": "#/components/securitySchemes/scramSha512"}]


def test_a_receiving_principal_names_its_consumer_groups(doc: dict[str, Any]) -> None:
    groups = consumer_groups(DEFAULT_CATALOG, DEFAULT_APP_ID)
    icbc = doc["operations"]["bank-icbc.receive.agency.icbc.inbox"]
    assert icbc["bindings"]["kafka"]["groupId"]["enum"] == ["interop-hub-sim-icbc"]
    hub = doc["operations"][f"{HUB}.receive.court.requests"]
    assert hub["bindings"]["kafka"]["groupId"]["enum"] == list(groups[HUB])
    assert "bindings" not in doc["operations"]["hub.send.court.replies"]


def test_the_server_is_a_placeholder_behind_scram_sha_512(doc: dict[str, Any]) -> None:
    [server] = doc["servers"].values()
    assert server["host"] == "kafka.example:9092" and server["protocol"] == "kafka"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/scramSha512"}]
    assert doc["components"]["securitySchemes"]["scramSha512"]["type"] == "scramSha512"
    assert "prefix" in doc["info"]["description"]


def test_the_command_writes_the_document_and_check_says_whether_it_is_current(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "docs" / "asyncapi.yaml"
    written = run_offline(tmp_path, "contract", "--output", str(out))  # the CLI end to end
    assert written.returncode == 0, written.stderr
    assert out.read_text(encoding="utf-8") == current_document()

    def check(path: Path) -> int:
        args = build_parser().parse_args(["contract", "--check", "--output", str(path)])
        code: int = args.func(args, HubSettings())
        return code

    assert check(out) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("partitions: 12", "partitions: 11", 1), encoding="utf-8")
    assert check(out) == 1
    assert "out of date" in capsys.readouterr().err
    assert check(tmp_path / "none.yaml") == 1
    assert f"missing: run `{COMMAND}`" in capsys.readouterr().err
