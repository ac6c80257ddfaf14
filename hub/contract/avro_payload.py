"""A message schema made standalone: every named type it refers to defined inside it, once.

The ``.avsc`` files refer to the shared types of ``cn.court.interop.common`` by name (``"type":
"cn.court.interop.common.Envelope"``); a reader given one file alone (an AsyncAPI tool, Avro's own parsers)
cannot resolve them.  :func:`standalone_schema` copies the message's file as written and replaces the first
reference to each named type not yet defined by that type's own file (recursively, in the same walk order as
Avro's parsers read a schema); later references stay names.  The result has the Parsing Canonical Form, and
so the fingerprint, of the schema the codec loads (checked by ``tests/unit/hub/contract``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.errors import SchemaError

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})


def _fullname(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


class _Inliner:
    def __init__(self, schema_dir: Path) -> None:
        self.schema_dir = schema_dir
        self.defined: set[str] = set()

    def load(self, fullname: str) -> Any:
        path = self.schema_dir / f"{fullname}.avsc"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SchemaError(f"named type {fullname} has no schema file {path.name}", field="schema") from None
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read {path.name}: {exc}", field="schema") from exc

    def type_(self, node: Any, namespace: str | None) -> Any:
        """``node`` (a type: a name, a union or a schema object) with every first reference inlined."""
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            fullname = _fullname(node, namespace)
            if fullname in self.defined:
                return node
            return self.type_(self.load(fullname), None)
        if isinstance(node, list):
            return [self.type_(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            raise SchemaError(f"not an Avro type: {node!r}", field="schema")
        kind = node.get("type")
        out = dict(node)
        if kind in _NAMED:
            if "." in node["name"]:
                own_namespace: str | None = node["name"].rpartition(".")[0]
            else:
                own_namespace = node.get("namespace", namespace)
            self.defined.add(_fullname(node["name"], own_namespace))
            if kind in ("record", "error"):
                out["fields"] = [{**f, "type": self.type_(f["type"], own_namespace)} for f in node["fields"]]
        elif kind == "array":
            out["items"] = self.type_(node["items"], namespace)
        elif kind == "map":
            out["values"] = self.type_(node["values"], namespace)
        elif kind not in PRIMITIVES:  # {"type": "some.Name"}: a reference wrapped in an object
            out["type"] = self.type_(kind, namespace)
        return out


def standalone_schema(fullname: str, schema_dir: Path) -> Any:
    """The schema of message ``fullname`` (``<schema_dir>/<fullname>.avsc``) with its named types defined inside."""
    inliner = _Inliner(schema_dir)
    return inliner.type_(inliner.load(fullname), None)
