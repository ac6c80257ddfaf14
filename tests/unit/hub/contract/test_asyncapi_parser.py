"""The committed AsyncAPI document passes the AsyncAPI project's own parser (issue 16).

``tools/asyncapi/validate.mjs`` runs ``@asyncapi/parser`` with ``@asyncapi/avro-schema-parser`` registered, and gives
every Avro payload to that parser's own validation (avsc) as well (see the script).  ``./dev test`` installs the
pinned packages (``npm ci`` in ``tools/asyncapi``) before pytest runs, so in CI a missing install fails; a plain
``pytest`` on a checkout without them skips, saying how to install them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.contract.commands import DEFAULT_OUTPUT
from schemas import SCHEMA_DIR
from tests.unit.offline_cli import ROOT

TOOL = ROOT / "tools" / "asyncapi"
INSTALL = "npm ci --ignore-scripts in tools/asyncapi (./dev test does it)"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    missing = ("node is not installed" if found is None
               else None if (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir()
               else "tools/asyncapi/node_modules is missing")
    if missing is None and found is not None:
        return found
    pytest.fail(f"{missing}: run {INSTALL}")  # a contract nobody validated proves nothing: never skipped


def validate(node: str, document: Path) -> tuple[int, list[str], dict[str, Any]]:
    """(exit code, diagnostic lines, summary) of ``node validate.mjs document``."""
    done = subprocess.run([node, "validate.mjs", str(document)], cwd=TOOL, capture_output=True, text=True,
                          timeout=300, check=False, stdin=subprocess.DEVNULL)
    lines = done.stdout.strip().splitlines()
    assert lines, f"validate.mjs printed nothing: {done.stderr}"
    return done.returncode, lines[:-1], json.loads(lines[-1])


def test_the_committed_document_has_no_error_for_the_asyncapi_parser(node: str) -> None:
    document = ROOT / DEFAULT_OUTPUT
    rc, diagnostics, summary = validate(node, document)
    assert [d for d in diagnostics if d.startswith("error")] == []
    assert rc == 0 and summary["errors"] == 0 and summary["parsed"], diagnostics
    committed = yaml.safe_load(document.read_text(encoding="utf-8"))
    avro = [m for m in committed["components"]["messages"].values() if "schemaFormat" in m["payload"]]
    assert summary["avro_payloads"] == len(avro) > 0  # every Avro payload went through the Avro parser
    assert summary["channels"] == len(committed["channels"])
    assert summary["operations"] == len(committed["operations"])
    assert summary["messages"] == len(committed["components"]["messages"])


def _one_channel(payload: Any, *, partitions: int = 1) -> dict[str, Any]:
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "channels": {"c": {"address": "c", "messages": {"m": {"$ref": "#/components/messages/m"}},
                           "bindings": {"kafka": {"partitions": partitions, "bindingVersion": "0.5.0"}}}},
        "operations": {"o": {"action": "send", "channel": {"$ref": "#/channels/c"}}},
        "components": {"messages": {"m": {"payload": {
            "schemaFormat": "application/vnd.apache.avro+json;version=1.9.0", "schema": payload}}}},
    }


def test_the_validation_is_real_a_payload_naming_a_type_it_does_not_define_fails(node: str, tmp_path: Path) -> None:
    """The .avsc as written names cn.court.interop.common.Envelope without defining it: an error (the committed
    document defines it inside each payload)."""
    raw = json.loads((SCHEMA_DIR / "cn.court.interop.bank.FreezeRequest.avsc").read_text(encoding="utf-8"))
    document = tmp_path / "asyncapi.yaml"
    document.write_text(yaml.safe_dump(_one_channel(raw), allow_unicode=True), encoding="utf-8")
    rc, diagnostics, summary = validate(node, document)
    assert rc == 1 and summary["errors"] >= 1
    assert any(d.startswith("error avro-schema") and "cn.court.interop.common.Envelope" in d for d in diagnostics)


def test_the_validation_is_real_a_bad_kafka_binding_fails(node: str, tmp_path: Path) -> None:
    document = tmp_path / "asyncapi.yaml"
    document.write_text(yaml.safe_dump(_one_channel({"type": "string"}, partitions=0)), encoding="utf-8")
    rc, diagnostics, summary = validate(node, document)
    assert rc == 1 and not summary["parsed"]
    assert any(d.startswith("error") and "partitions" in d for d in diagnostics)
