"""``interop-agency court verify-receipt FILE``: check a stored sealed reply offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.court.adapter import verify_receipt
from hub.console import echo, readable_file
from hub.settings import HubSettings


def _verify(args: argparse.Namespace, settings: HubSettings) -> int:
    msg = verify_receipt(args.file.read_bytes(), Path(args.data_dir or settings.data_dir))
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
    verify.set_defaults(func=_verify)
