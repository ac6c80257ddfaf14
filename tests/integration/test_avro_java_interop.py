"""The hub's Avro single-object encoding interoperates with the Apache Avro Java reference implementation.

Java's ``org.apache.avro.message.BinaryMessageDecoder``/``BinaryMessageEncoder`` implement the
single-object encoding natively and ``SchemaNormalization.parsingFingerprint64`` the Parsing
Canonical Form fingerprint, so Java is the tie-breaker on what the wire must look like (the Python
``avro`` package computes the canonical form of logical-type primitives wrongly; fastavro and
Java agree with the spec).

For EVERY message schema in the registry the test writes the expanded schema and three datums
encoded by :class:`hub.codec.AvroCodec` (the third with CJK and non-BMP text), runs
``tests/interop/AvroSoeInterop.java`` ONCE for all of them, and checks per schema that Java
decoded our bytes (which proves the fingerprint, since its decoder knows only that schema), that
Java's re-encoding is byte-identical to ours, that our codec decodes Java's bytes to the same
datum, and that Java's fingerprint equals ours.  A negative test proves the Java side can fail.

The Avro Java jars are fetched with Maven once into ``~/.cache/interop-hub/avro-java-<version>``
(the only network access); if Maven fails the test fails, it is not skipped.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import fastavro.utils
import pytest
from fastavro.schema import load_schema
from fastavro.utils import generate_one

from hub.codec import HEADER_LEN, MARKER, AvroCodec, SchemaRegistry
from schemas import SCHEMA_DIR

INTEROP_DIR = Path(__file__).resolve().parents[1] / "interop"
POM = INTEROP_DIR / "pom.xml"
JAVA_PROGRAM = INTEROP_DIR / "AvroSoeInterop.java"
DATUMS_PER_SCHEMA = 3
SEED = 20240601
MVN_TIMEOUT_S = 600
JAVA_TIMEOUT_S = 180


def avro_java_version() -> str:
    """The Avro Java version pinned in ``tests/interop/pom.xml`` (its single source of truth)."""
    match = re.search(r"<avro\.version>\s*([^<\s]+)\s*</avro\.version>", POM.read_text(encoding="utf-8"))
    assert match, f"no <avro.version> property in {POM}"
    return match.group(1)


def _registry_names() -> list[str]:
    return SchemaRegistry.from_dir().names()


MESSAGE_SCHEMAS = _registry_names()


def _cjk_text() -> str:
    """Random text with CJK, full-width and non-BMP characters (multi-byte UTF-8, surrogate pairs in Java)."""
    alphabet = "法院银行冻结扣划查询失信被执行人限制消费（）：，。¥€😀𠀋abcXYZ 09"
    return "".join(random.choices(alphabet, k=random.randint(1, 12)))


def _datums(parsed: Any) -> list[dict[str, Any]]:
    datums = [generate_one(parsed) for _ in range(DATUMS_PER_SCHEMA - 1)]
    with mock.patch.object(fastavro.utils, "_gen_utf8", _cjk_text):
        datums.append(generate_one(parsed))
    return datums


# --------------------------------------------------------------------------------------------- jars


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "interop-hub"


@pytest.fixture(scope="session")
def avro_java_jars() -> Path:
    """Directory with avro-<version>.jar and its runtime dependencies (fetched once, then cached)."""
    version = avro_java_version()
    target = _cache_root() / f"avro-java-{version}"
    complete = target / ".complete"
    if complete.is_file() and (target / f"avro-{version}.jar").is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        pytest.fail("Maven (mvn) is not on PATH; it is needed to fetch the Apache Avro Java jars")
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=MVN_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Maven did not fetch the Avro Java jars within {MVN_TIMEOUT_S} s")
    if proc.returncode != 0 or not (staging / f"avro-{version}.jar").is_file():
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(
            f"Maven failed to fetch org.apache.avro:avro:{version} (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    (staging / ".complete").write_text(version, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


# ------------------------------------------------------------------------------------ java program


@dataclass
class JavaRun:
    returncode: int
    stdout: str
    stderr: str
    fingerprints: dict[str, str] = field(default_factory=dict)  # schema file -> 16 hex chars
    canonical: dict[str, str] = field(default_factory=dict)  # schema file -> Java's canonical form
    ok: dict[str, str] = field(default_factory=dict)  # our bytes file -> Java bytes file
    failed: dict[str, str] = field(default_factory=dict)  # our bytes file -> Java's error

    def explain(self) -> str:
        return f"java exit {self.returncode}\nstderr:\n{self.stderr[-4000:]}"


def run_java(jars: Path, manifest: Path) -> JavaRun:
    """Run AvroSoeInterop.java once over ``manifest`` and parse its tab-separated report."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is not on PATH; a JDK 17+ is needed for the Avro Java interop test")
    cmd = [java, "-cp", f"{jars}{os.sep}*", str(JAVA_PROGRAM), str(manifest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=JAVA_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"AvroSoeInterop.java did not finish within {JAVA_TIMEOUT_S} s")
    run = JavaRun(proc.returncode, proc.stdout, proc.stderr)
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "schema":
            path, fp, canonical = rest.split("\t", 2)
            run.fingerprints[path] = fp
            run.canonical[path] = canonical
        elif kind == "ok":
            ours, java_out = rest.split("\t", 1)
            run.ok[ours] = java_out
        elif kind == "fail":
            ours, error = rest.split("\t", 1)
            run.failed[ours] = error
    return run


@dataclass
class Case:
    fullname: str
    schema_file: Path
    our_files: list[Path]
    java_files: list[Path]


@dataclass
class Interop:
    registry: SchemaRegistry
    codec: AvroCodec
    cases: dict[str, Case]
    run: JavaRun


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return SchemaRegistry.from_dir()


@pytest.fixture(scope="session")
def interop(
    avro_java_jars: Path, registry: SchemaRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Interop:
    """Every message schema with its datums, encoded by us and round-tripped by ONE Java run."""
    work = tmp_path_factory.mktemp("avro-java-interop")
    codec = AvroCodec(registry)
    cases: dict[str, Case] = {}
    manifest_lines: list[str] = []
    state = random.getstate()
    random.seed(SEED)
    try:
        for fullname in registry.names():
            ms = registry.by_name(fullname)
            expanded = load_schema(str(SCHEMA_DIR / ms.source), _write_hint=False)
            schema_file = work / f"{fullname}.avsc"
            schema_file.write_text(json.dumps(expanded, ensure_ascii=False), encoding="utf-8")
            case = Case(fullname, schema_file, [], [])
            for i, datum in enumerate(_datums(ms.parsed)):
                ours = work / f"{fullname}.{i}.py.bin"
                java_out = work / f"{fullname}.{i}.java.bin"
                ours.write_bytes(codec.encode(fullname, datum))
                case.our_files.append(ours)
                case.java_files.append(java_out)
                manifest_lines.append(f"{schema_file}\t{ours}\t{java_out}")
            cases[fullname] = case
    finally:
        random.setstate(state)
    manifest = work / "manifest.tsv"
    manifest.write_text("\n".join(manifest_lines) + "\n", encoding="utf-8")
    return Interop(registry, codec, cases, run_java(avro_java_jars, manifest))


# ------------------------------------------------------------------------------------------- tests


def test_java_run_covers_every_message_schema(interop: Interop) -> None:
    """The single Java run succeeded and reported a fingerprint for each message schema in the registry."""
    assert interop.run.returncode == 0, interop.run.explain()
    assert len(interop.cases) == len(interop.registry) > 0
    reported = set(interop.run.fingerprints)
    assert reported == {str(c.schema_file) for c in interop.cases.values()}
    assert len(interop.run.ok) == DATUMS_PER_SCHEMA * len(interop.cases)


@pytest.mark.parametrize("fullname", MESSAGE_SCHEMAS)
def test_java_fingerprint_equals_ours(interop: Interop, fullname: str) -> None:
    """Java's SchemaNormalization.parsingFingerprint64 (little-endian) equals our CRC-64-AVRO fingerprint."""
    case = interop.cases.get(fullname)
    assert case is not None, f"{fullname} is no longer in the registry (schema changed mid-run? re-run)"
    ms = interop.registry.by_name(fullname)
    java_fp = interop.run.fingerprints.get(str(case.schema_file))
    assert java_fp is not None, f"Java reported no fingerprint for {fullname}\n{interop.run.explain()}"
    assert java_fp == ms.fingerprint_hex, (
        f"{fullname}: Java fingerprint {java_fp} != ours {ms.fingerprint_hex}\n"
        f"java canonical: {interop.run.canonical[str(case.schema_file)]}\nour canonical:  {ms.canonical}"
    )
    assert interop.run.canonical[str(case.schema_file)] == ms.canonical


@pytest.mark.parametrize("fullname", MESSAGE_SCHEMAS)
def test_java_round_trip_is_byte_identical(interop: Interop, fullname: str) -> None:
    """Java decodes our bytes, re-encodes them byte for byte, and we decode Java's bytes to the same datum."""
    case = interop.cases.get(fullname)
    assert case is not None, f"{fullname} is no longer in the registry (schema changed mid-run? re-run)"
    for ours_file, java_file in zip(case.our_files, case.java_files, strict=True):
        key = str(ours_file)
        assert key not in interop.run.failed, (
            f"Java could not decode {ours_file.name}: {interop.run.failed[key]}"
        )
        assert interop.run.ok.get(key) == str(java_file), f"Java reported nothing for {ours_file.name}"
        ours = ours_file.read_bytes()
        theirs = java_file.read_bytes()
        assert theirs[:2] == MARKER
        assert theirs == ours, (
            f"{ours_file.name}: Java bytes differ\njava: {theirs.hex()}\nours: {ours.hex()}"
        )
        from_java = interop.codec.decode(theirs)
        from_ours = interop.codec.decode(ours)
        assert from_java.schema == fullname
        assert from_java.fingerprint == interop.registry.by_name(fullname).fingerprint
        assert from_java.datum == from_ours.datum


def test_java_rejects_bytes_with_a_wrong_fingerprint(
    avro_java_jars: Path, interop: Interop, tmp_path: Path
) -> None:
    """A flipped fingerprint bit makes Java fail with MissingSchemaException; so does a trailing byte."""
    case = next(iter(interop.cases.values()))
    good = case.our_files[0].read_bytes()
    flipped = bytearray(good)
    flipped[HEADER_LEN - 1] ^= 0x01  # a bit of the fingerprint, which the header covers
    tampered = tmp_path / "wrong-fingerprint.bin"
    tampered.write_bytes(bytes(flipped))
    trailing = tmp_path / "trailing-byte.bin"
    trailing.write_bytes(good + b"\x00")
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        "".join(
            f"{case.schema_file}\t{p}\t{tmp_path / (p.stem + '.java.bin')}\n" for p in (tampered, trailing)
        ),
        encoding="utf-8",
    )

    run = run_java(avro_java_jars, manifest)

    assert run.returncode == 1, run.explain()
    assert not run.ok
    assert "org.apache.avro.message.MissingSchemaException" in run.failed[str(tampered)]
    assert "trailing bytes" in run.failed[str(trailing)]
    assert not (tmp_path / "wrong-fingerprint.java.bin").exists()
