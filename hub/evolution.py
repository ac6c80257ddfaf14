"""Schema evolution check: every message schema against its last committed version.

Rules (Avro schema resolution, both directions must work):
- a field added to a record needs a default (old writers -> new readers);
- a field removed from a record must have had a default (new writers -> old readers);
- enum symbols may be added only when the enum has a default symbol;
- beyond the static rules, sample data written with each version is read with the other.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.schema import load_schema
from fastavro.utils import generate_many

from hub.codec import is_message_file
from hub.errors import SchemaError

SAMPLES = 25
_RESOLUTION_FAILURES = (
    SchemaResolutionError, ValueError, TypeError, KeyError, IndexError, EOFError, AttributeError,
)


@dataclass
class EvolutionReport:
    baseline: str
    compared: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _load_dir(directory: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(directory.glob("*.avsc")):
        if is_message_file(path):
            out[path.name.removesuffix(".avsc")] = load_schema(str(path), _write_hint=False)
    return out


def _records(schema: Any, seen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every named record/enum inside an expanded schema, by full name."""
    seen = {} if seen is None else seen
    if isinstance(schema, list):
        for s in schema:
            _records(s, seen)
    elif isinstance(schema, dict):
        t = schema.get("type")
        if t in ("record", "enum", "error") and schema.get("name") not in seen:
            seen[schema["name"]] = schema
        for f in schema.get("fields", []):
            _records(f["type"], seen)
        for key in ("items", "values"):
            if key in schema:
                _records(schema[key], seen)
        if isinstance(t, dict | list):
            _records(t, seen)
    return seen


def static_problems(name: str, old: Any, new: Any) -> Iterator[str]:
    old_types, new_types = _records(old), _records(new)
    for tname, new_t in new_types.items():
        old_t = old_types.get(tname)
        if old_t is None or old_t.get("type") != new_t.get("type"):
            continue
        if new_t["type"] == "enum":
            added = set(new_t["symbols"]) - set(old_t["symbols"])
            if added and "default" not in old_t:
                yield f"{name}: enum {tname} adds {sorted(added)} but the old enum has no default symbol"
            continue
        old_fields = {f["name"]: f for f in old_t["fields"]}
        new_fields = {f["name"]: f for f in new_t["fields"]}
        for fname in new_fields.keys() - old_fields.keys():
            if "default" not in new_fields[fname]:
                yield f"{name}: {tname}.{fname} is new and has no default (old writers break new readers)"
        for fname in old_fields.keys() - new_fields.keys():
            if "default" not in old_fields[fname]:
                yield f"{name}: {tname}.{fname} was removed but had no default (new writers break old readers)"


def _roundtrip(writer: Any, reader: Any, samples: int) -> str | None:
    for datum in generate_many(writer, samples):
        buf = io.BytesIO()
        schemaless_writer(buf, writer, datum)
        buf.seek(0)
        try:
            schemaless_reader(buf, writer, reader)
        except _RESOLUTION_FAILURES as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


def compare_dirs(old_dir: Path, new_dir: Path, baseline: str, samples: int = SAMPLES) -> EvolutionReport:
    report = EvolutionReport(baseline)
    old, new = _load_dir(old_dir), _load_dir(new_dir)
    for name in sorted(old.keys() - new.keys()):
        report.problems.append(f"{name}: message type removed (consumers of it would break)")
    for name in sorted(new):
        if name not in old:
            report.added.append(name)
            continue
        report.compared.append(name)
        report.problems.extend(static_problems(name, old[name], new[name]))
        err = _roundtrip(new[name], old[name], samples)
        if err:
            report.problems.append(f"{name}: old reader cannot read new writer: {err}")
        err = _roundtrip(old[name], new[name], samples)
        if err:
            report.problems.append(f"{name}: new reader cannot read old writer: {err}")
    return report


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False  # noqa: S607
    )
    if done.returncode != 0:
        raise SchemaError(f"git {' '.join(args)}: {done.stderr.strip()}", field="baseline")
    return done.stdout


def default_baseline(repo: Path, rel_dir: str) -> str | None:
    """HEAD if the working tree changed the schemas, else the parent of the last commit that did."""
    changed = _git(repo, "status", "--porcelain", "--", rel_dir).strip()
    if changed:
        return "HEAD"
    last = _git(repo, "log", "-n", "1", "--format=%H", "--", rel_dir).strip()
    if not last:
        return None
    parents = _git(repo, "log", "-n", "1", "--format=%P", last).split()
    return parents[0] if parents else None


def export_dir(repo: Path, rev: str, rel_dir: str, into: Path) -> int:
    listing = _git(repo, "ls-tree", "--name-only", f"{rev}:{rel_dir}").split()
    count = 0
    for name in listing:
        if name.endswith(".avsc"):
            (into / name).write_text(_git(repo, "show", f"{rev}:{rel_dir}/{name}"), encoding="utf-8")
            count += 1
    return count


def check_against_git(repo: Path, schema_dir: Path, against: str | None = None) -> EvolutionReport:
    rel_dir = str(schema_dir.resolve().relative_to(repo.resolve()))
    baseline = against or default_baseline(repo, rel_dir)
    if baseline is None:
        return EvolutionReport("none (no earlier committed version)")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            export_dir(repo, baseline, rel_dir, Path(tmp))
        except SchemaError:
            return EvolutionReport(f"{baseline} (no schemas at that revision)")
        return compare_dirs(Path(tmp), schema_dir, baseline)
