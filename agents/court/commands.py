"""``interop-agency court verify-receipt FILE [--hub-public-key KEY]``: check a stored sealed reply, with the local
key files or with the keys the hub published (read from ``registry.keys``, checked with the hub's key)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from agents.court.adapter import verify_receipt
from agents.registry import hub_public_key, read_registry
from hub.console import echo, readable_file
from hub.security.users import as_principal
from hub.settings import HubSettings
from topics.catalog import COURT_GATEWAY


def _verify(args: argparse.Namespace, settings: HubSettings) -> int:
    published = None
    if args.hub_public_key:  # the keys the hub published, read as the court gateway, checked with the trust anchor
        anchor = hub_public_key(args.hub_public_key)
        published = asyncio.run(read_registry(as_principal(settings, COURT_GATEWAY), anchor))
    msg = verify_receipt(args.file.read_bytes(), Path(args.data_dir or settings.data_dir), published=published)
    body = msg.body
    echo(f"valid seal of {msg.envelope['sender']} (key {msg.datum['seal']['key_id']}) on {msg.message_type} "
         f"for request {msg.request_id}: status {body.get('status')}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("court", help="court-side tools")
    sub = parser.add_subparsers(dest="court_cmd", required=True)
    verify = sub.add_parser("verify-receipt", help="verify the bank's electronic seal on a stored reply (000 §8)")
    verify.add_argument("file", type=readable_file, help="the reply's bytes as received from court.replies")
    verify.add_argument("--data-dir", help="where the registered public keys are (default: HUB_DATA_DIR)")
    verify.add_argument("--hub-public-key", metavar="BASE64",
                        help="verify with the keys the hub published on registry.keys, trusting this hub key "
                             "(given out of band) instead of the local key files")
    verify.set_defaults(func=_verify)
