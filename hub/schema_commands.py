"""``interop-hub schemas list | check``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.codec import SchemaRegistry
from hub.console import echo
from hub.evolution import check_against_git
from hub.settings import HubSettings
from schemas import SCHEMA_DIR


def _list(args: argparse.Namespace, settings: HubSettings) -> int:
    registry = SchemaRegistry.from_dir(SCHEMA_DIR)
    for name in registry.names():
        echo(f"{registry.by_name(name).fingerprint_hex}  {name}")
    echo(f"{len(registry)} message schemas")
    return 0


def _check(args: argparse.Namespace, settings: HubSettings) -> int:
    SchemaRegistry.from_dir(SCHEMA_DIR)  # every schema must load and fingerprint uniquely
    report = check_against_git(Path(args.repo), SCHEMA_DIR, args.against)
    echo(f"baseline: {report.baseline}")
    echo(f"compared {len(report.compared)} message schemas, {len(report.added)} new")
    for problem in report.problems:
        echo(f"INCOMPATIBLE {problem}", err=True)
    return 0 if report.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("schemas", help="the Avro contracts")
    sub = parser.add_subparsers(dest="schemas_cmd", required=True)
    sub.add_parser("list", help="every message schema with its CRC-64-AVRO fingerprint").set_defaults(func=_list)
    p_check = sub.add_parser("check", help="evolution check against the last committed version of each schema")
    p_check.add_argument("--against", help="git revision to compare with (default: last committed version)")
    p_check.add_argument("--repo", default=".", help="git work tree holding the schemas")
    p_check.set_defaults(func=_check)
