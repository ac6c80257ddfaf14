"""Schema evolution rules: new fields need defaults; old readers read new writers and the reverse."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hub.evolution import check_against_git, compare_dirs
from schemas import SCHEMA_DIR

NAME = "cn.court.interop.ops.Heartbeat"


def _copy_schemas(into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for f in SCHEMA_DIR.glob("*.avsc"):
        shutil.copy(f, into / f.name)
    return into


def _edit(directory: Path, name: str, change: Any) -> None:
    path = directory / f"{name}.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(next(f for f in schema["fields"] if f["name"] == "body")["type"])
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")


def test_identical_schemas_are_compatible(tmp_path: Path) -> None:
    report = compare_dirs(_copy_schemas(tmp_path / "old"), _copy_schemas(tmp_path / "new"), "x", samples=3)
    assert report.ok and len(report.compared) >= 40


def test_new_field_with_default_is_compatible(tmp_path: Path) -> None:
    old, new = _copy_schemas(tmp_path / "old"), _copy_schemas(tmp_path / "new")
    _edit(new, NAME, lambda body: body["fields"].append(
        {"name": "region", "type": ["null", "string"], "default": None, "doc": "new"}))
    report = compare_dirs(old, new, "x", samples=5)
    assert report.ok, report.problems


def test_new_field_without_default_is_refused(tmp_path: Path) -> None:
    old, new = _copy_schemas(tmp_path / "old"), _copy_schemas(tmp_path / "new")
    _edit(new, NAME, lambda body: body["fields"].append({"name": "region", "type": "string", "doc": "new"}))
    report = compare_dirs(old, new, "x", samples=5)
    assert any("region is new and has no default" in p for p in report.problems)
    assert any("new reader cannot read old writer" in p for p in report.problems)


def test_removing_a_field_without_default_is_refused(tmp_path: Path) -> None:
    old, new = _copy_schemas(tmp_path / "old"), _copy_schemas(tmp_path / "new")
    _edit(new, NAME, lambda body: body.update(fields=[f for f in body["fields"] if f["name"] != "agency"]))
    report = compare_dirs(old, new, "x", samples=5)
    assert any("agency was removed but had no default" in p for p in report.problems)
    assert any("old reader cannot read new writer" in p for p in report.problems)


def test_removing_a_message_type_is_refused(tmp_path: Path) -> None:
    old, new = _copy_schemas(tmp_path / "old"), _copy_schemas(tmp_path / "new")
    (new / f"{NAME}.avsc").unlink()
    assert any("message type removed" in p for p in compare_dirs(old, new, "x", samples=1).problems)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.invalid")
    _git(tmp_path, "config", "user.name", "t")
    _copy_schemas(tmp_path / "schemas" / "avro")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "v1")
    return tmp_path


def test_check_compares_the_working_tree_with_the_last_commit(repo: Path) -> None:
    schema_dir = repo / "schemas" / "avro"
    _edit(schema_dir, NAME, lambda body: body["fields"].append({"name": "x", "type": "long", "doc": "new"}))
    report = check_against_git(repo, schema_dir)
    assert report.baseline == "HEAD" and not report.ok


def test_check_on_a_clean_tree_compares_the_last_schema_commit_with_its_parent(repo: Path) -> None:
    """What CI sees: a clean checkout whose last commit changed a schema incompatibly."""
    schema_dir = repo / "schemas" / "avro"
    _edit(schema_dir, NAME, lambda body: body["fields"].append({"name": "x", "type": "long", "doc": "new"}))
    _git(repo, "commit", "-qam", "v2 breaks old writers")
    report = check_against_git(repo, schema_dir)
    assert report.baseline != "HEAD" and len(report.compared) >= 40
    assert any("x is new and has no default" in p for p in report.problems)
