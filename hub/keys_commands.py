"""``interop-hub keys generate|rotate|list``: the agencies' sealing key pairs and the hub's key, created at setup
(one registry every worker of a deployment shares; its format: :mod:`hub.seal`)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from hub.console import echo
from hub.errors import ConfigError
from hub.seal import KeyStore, RegisteredKey
from hub.settings import HubSettings
from hub.tree_heads import HUB_KEY
from topics.catalog import DEFAULT_CATALOG


def _generate(args: argparse.Namespace, settings: HubSettings) -> int:
    codes = [*(a.code for a in DEFAULT_CATALOG.agencies if a.has_mailbox), HUB_KEY]
    created = KeyStore(settings.data_dir).generate(codes)
    echo(f"{len(created)} key pairs generated, {len(codes) - len(created)} already present "
         f"({KeyStore(settings.data_dir).registry_path})")
    return 0


def _rotate(args: argparse.Namespace, settings: HubSettings) -> int:
    if args.agency == HUB_KEY:  # the parties' trust anchor: handed to each of them out of band, not rotated here
        raise ConfigError("the hub's key is every party's trust anchor for the published registry and the audit "
                          "tree heads; it is not rotated by this command", field="agency")
    retired, new = KeyStore(settings.data_dir).rotate(args.agency)
    echo(f"{args.agency}: new key {new.key_id} active from {_when(new.valid_from_ms)}; {retired.key_id} retired "
         f"(verifies what it sealed before that); published by the worker within minutes, or now with "
         f"`interop-hub registry publish`")
    return 0


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else "(before validity)"


def _row(key: RegisteredKey) -> dict[str, object]:
    return {"agency": key.owner, "key_id": key.key_id, "status": "ACTIVE" if key.active else "RETIRED",
            "valid_from": key.valid_from_ms, "valid_until": key.valid_until_ms}


def _list(args: argparse.Namespace, settings: HubSettings) -> int:
    keys = [k for k in KeyStore(settings.data_dir).registered_keys() if not args.agency or k.owner == args.agency]
    if args.json:
        echo(json.dumps([_row(k) for k in keys], indent=1))
        return 0
    for k in keys:
        echo(f"{k.owner:10} {k.key_id:24} {'ACTIVE' if k.active else 'RETIRED':8} "
             f"{_when(k.valid_from_ms)} .. {_when(k.valid_until_ms)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="agencies' sealing keys and the hub's tree-head key (Ed25519)")
    keys_sub = keys.add_subparsers(dest="keys_cmd", required=True)
    keys_sub.add_parser("generate", help="create missing key pairs under <data_dir>/keys").set_defaults(func=_generate)
    rotate = keys_sub.add_parser("rotate", help="a new key for an agency; its old key is retired and kept")
    rotate.add_argument("--agency", required=True, help="agency code, e.g. icbc")
    rotate.set_defaults(func=_rotate)
    listing = keys_sub.add_parser("list", help="every registered key with its validity")
    listing.add_argument("--agency", help="only this agency's keys")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
