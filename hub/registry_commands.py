"""``interop-hub registry publish``: every registered sealing key and every court, sealed by the hub, on the
compacted topics ``registry.keys`` and ``registry.courts`` that every party may read (only what changed is sent;
every worker also does it at start and every few minutes: :mod:`hub.registry_publisher`)."""

from __future__ import annotations

import argparse
import asyncio

from hub.codec import default_codec
from hub.console import echo
from hub.registry_publisher import publish_registry
from hub.seal import KeyStore
from hub.settings import HubSettings


def _publish(args: argparse.Namespace, settings: HubSettings) -> int:
    report = asyncio.run(publish_registry(settings, default_codec(), KeyStore(settings.data_dir)))
    echo(f"registry {report.line()}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    registry = subparsers.add_parser("registry", help="the published registry: sealing keys and courts, signed")
    sub = registry.add_subparsers(dest="registry_cmd", required=True)
    sub.add_parser("publish", help="publish what changed of the keys and the court registry (as the hub)") \
        .set_defaults(func=_publish)
