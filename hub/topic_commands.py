"""``interop-hub topics apply | list``."""

from __future__ import annotations

import argparse
import asyncio

from hub.console import echo
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from topics.render import catalog_json, catalog_table


def _apply(args: argparse.Namespace, settings: HubSettings) -> int:
    report = asyncio.run(apply_catalog(settings.catalog, settings, timeout_s=args.timeout))
    for line in report.lines():
        echo(line)
    return 1 if report.drift else 0


def _list(args: argparse.Namespace, settings: HubSettings) -> int:
    echo(catalog_json(settings.catalog, settings.topic_prefix) if args.json
         else catalog_table(settings.catalog, settings.topic_prefix))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("topics", help="the topic catalog")
    sub = parser.add_subparsers(dest="topics_cmd", required=True)
    p_apply = sub.add_parser("apply", help="create or align every catalog topic on the broker (idempotent)")
    p_apply.add_argument("--timeout", type=float, default=30.0)
    p_apply.set_defaults(func=_apply)
    p_list = sub.add_parser("list", help="print the catalog")
    p_list.add_argument("--json", action="store_true")
    p_list.set_defaults(func=_list)
