"""``interop-hub topics apply | list [--live] [--json]``."""

from __future__ import annotations

import argparse
import asyncio

from hub.console import echo
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog, describe_live
from topics.render import catalog_json, catalog_table


def _apply(args: argparse.Namespace, settings: HubSettings) -> int:
    report = asyncio.run(apply_catalog(settings.catalog, settings, timeout_s=args.timeout))
    for line in report.lines():
        echo(line)
    return 1 if report.drift else 0


def _list(args: argparse.Namespace, settings: HubSettings) -> int:
    live = asyncio.run(describe_live(settings.catalog, settings, timeout_s=args.timeout)) if args.live else None
    echo(catalog_json(settings.catalog, settings.topic_prefix, live) if args.json
         else catalog_table(settings.catalog, settings.topic_prefix, live))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("topics", help="the topic catalog")
    sub = parser.add_subparsers(dest="topics_cmd", required=True)
    p_apply = sub.add_parser("apply", help="create or align every catalog topic on the broker (idempotent)")
    p_apply.add_argument("--timeout", type=float, default=30.0)
    p_apply.set_defaults(func=_apply)
    p_list = sub.add_parser("list", help="print the catalog (partitions, replication factor, min.insync.replicas)")
    p_list.add_argument("--json", action="store_true")
    p_list.add_argument("--live", action="store_true",
                        help="also each topic's replicas, in-sync replicas and partition leaders on the cluster")
    p_list.add_argument("--timeout", type=float, default=30.0)
    p_list.set_defaults(func=_list)
