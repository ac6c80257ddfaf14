"""``interop-hub keys generate``: the agencies' sealing key pairs, created at setup."""

from __future__ import annotations

import argparse

from hub.console import echo
from hub.seal import KeyStore
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG


def _generate(args: argparse.Namespace, settings: HubSettings) -> int:
    codes = [a.code for a in DEFAULT_CATALOG.agencies if a.has_mailbox]
    created = KeyStore(settings.data_dir).generate(codes)
    echo(f"{len(created)} sealing key pairs generated, {len(codes) - len(created)} already present "
         f"({KeyStore(settings.data_dir).registry_path})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="agencies' sealing keys (Ed25519), generated at setup")
    keys_sub = keys.add_subparsers(dest="keys_cmd", required=True)
    keys_sub.add_parser("generate", help="create missing key pairs under <data_dir>/keys").set_defaults(func=_generate)
