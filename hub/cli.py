"""The ``interop-hub`` command line: one sub-command per area, each registered by its module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from hub import event_loop
from hub.console import echo
from hub.errors import HubError
from hub.masking import install_masking
from hub.settings import get_settings

#: modules that add a sub-command through ``register(subparsers)``
COMMAND_MODULES = (
    "hub.broker.commands",
    "topics.commands",
    "hub.schema_commands",
    "hub.worker_commands",
    "hub.agency_commands",
    "hub.ops_commands",
    "hub.calendar_commands",
    "agents.court.commands",
    "agents.credit.commands",
    "hub.demo",
    "hub.bench.commands",
    "hub.security.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interop-hub",
        description="Interop hub between enforcement courts and banks, police and the credit platform.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_masking()  # every process (worker, simulators): no resident ID, account or phone in a log line
    event_loop.install(settings)
    try:
        code: int = args.func(args, settings)
    except HubError as exc:
        echo(f"error [{exc.code}]: {exc}", err=True)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
