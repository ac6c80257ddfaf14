"""Issue 16's claim, kept from rotting: ``tests/acceptance/outside_adapter`` imports only the standard library,
aiokafka, fastavro and cryptography (and its own modules, relatively) — no module of this project."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "acceptance" / "outside_adapter"
ALLOWED = frozenset({"aiokafka", "fastavro", "cryptography"})


def foreign_imports(source: str) -> list[str]:
    """Every import of ``source`` that is neither the standard library, an allowed library, nor a sibling
    module (``from .x import y``); and every dynamic import (``__import__``, ``importlib``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if not _allowed(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1 or (node.level == 0 and not _allowed(node.module or "")):
                found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append("__import__()")
    return found


def _allowed(module: str) -> bool:
    top = module.split(".")[0]
    return top != "importlib" and (top in ALLOWED or top in sys.stdlib_module_names)


def test_the_outside_adapter_imports_no_module_of_the_project() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 5, f"the package moved? {PACKAGE}"
    offending = {f.name: bad for f in files if (bad := foreign_imports(f.read_text(encoding="utf-8")))}
    assert offending == {}


def test_the_import_check_catches_project_and_parent_imports() -> None:
    source = ("import hub.codec\nfrom agents.court import adapter\nfrom topics.catalog import HUB\n"
              "from support import ports\nfrom tests.conftest import x\nfrom .. import conftest\n"
              "import bench, demo\nimport importlib\n__import__('hub')\n"
              "import json\nfrom fastavro import schemaless_reader\nfrom .wire import Codec\n")
    assert foreign_imports(source) == ["hub.codec", "agents.court", "topics.catalog", "support", "tests.conftest",
                                       "..", "bench", "demo", "importlib", "__import__()"]
