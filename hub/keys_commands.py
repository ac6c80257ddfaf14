"""``interop-hub keys generate``: the agencies' sealing key pairs and the hub's tree-head key, created at setup
(one registry every worker of a deployment shares)."""

from __future__ import annotations

import argparse

from hub.console import echo
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.tree_heads import HUB_KEY
from topics.catalog import DEFAULT_CATALOG


def _generate(args: argparse.Namespace, settings: HubSettings) -> int:
    codes = [*(a.code for a in DEFAULT_CATALOG.agencies if a.has_mailbox), HUB_KEY]
    created = KeyStore(settings.data_dir).generate(codes)
    echo(f"{len(created)} key pairs generated, {len(codes) - len(created)} already present "
         f"({KeyStore(settings.data_dir).registry_path})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="agencies' sealing keys and the hub's tree-head key (Ed25519)")
    keys_sub = keys.add_subparsers(dest="keys_cmd", required=True)
    keys_sub.add_parser("generate", help="create missing key pairs under <data_dir>/keys").set_defaults(func=_generate)
