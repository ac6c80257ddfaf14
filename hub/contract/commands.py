"""``interop-hub contract [--output PATH] [--check]``: write the AsyncAPI document, or check it is current."""

from __future__ import annotations

import argparse
from importlib.metadata import version
from pathlib import Path

from hub.broker.dist import DEFAULT_KAFKA_VERSION
from hub.console import echo
from hub.contract.asyncapi import COMMAND, build_document, render
from hub.settings import HubSettings
from schemas import SCHEMA_DIR
from topics.catalog import DEFAULT_CATALOG

#: where the committed document lives, from the checkout's root
DEFAULT_OUTPUT = Path("docs/asyncapi.yaml")
#: the consumer groups of the document are named after the default app id (a deployment's may differ)
DEFAULT_APP_ID = str(HubSettings.model_fields["app_id"].default)


def current_document() -> str:
    """The document as the catalog and the schemas make it now: the production catalog, whatever this process's
    ``HUB_*`` settings say (a deployment's prefix, partitions and replication are not the contract's)."""
    return render(build_document(DEFAULT_CATALOG, SCHEMA_DIR, version=version("interop-hub"), app_id=DEFAULT_APP_ID,
                                 kafka_version=DEFAULT_KAFKA_VERSION))


def _contract(args: argparse.Namespace, settings: HubSettings) -> int:
    text = current_document()
    path: Path = args.output
    if args.check:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            echo(f"{path}: current")
            return 0
        echo(f"{path}: {'out of date' if path.exists() else 'missing'}: run `{COMMAND}` and commit it", err=True)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    echo(f"wrote {path} ({len(text.encode()):,} bytes)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("contract", help="the AsyncAPI 3.0 document generated from the catalog and the "
                                                    "schemas")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"the document to write or check (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 unless the file equals what the generator makes now")
    parser.set_defaults(func=_contract)
