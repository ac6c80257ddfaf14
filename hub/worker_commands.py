"""``interop-hub worker``: run the hub's faust worker."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hub.file_modes import make_private
from hub.settings import HubSettings

log = logging.getLogger(__name__)


def _worker(args: argparse.Namespace, settings: HubSettings) -> int:
    # Imported here: building the worker reads the schemas, which other commands don't need.
    from hub.hub_watches import RUNNING_MARKER
    from hub.registry_publisher import keep_published
    from hub.worker_app import build_worker

    make_private(settings.data_dir)  # tables, keys, logs (and the broker's segments if it shares the dir)

    worker = build_worker(settings)
    app = worker.app
    app.task(keep_published(settings, worker.ctx.codec))  # keys and courts on the registry topics; never fatal
    for line in worker.ctx.runtime.calendar.report:  # what the schedule files add, and where they disagree
        log.info("working calendar: %s", line)

    # --quiet: no banner table on stdout, where JSON log lines are expected (logging is unchanged)
    umbrella = ["--quiet"] if settings.log_format == "json" else []
    argv = ["interop-hub worker", *umbrella, "worker", "--loglevel", args.loglevel,
            "--web-port", str(settings.web_port), "--web-host", settings.web_host]
    if args.without_web:
        argv.append("--without-web")
    sys.argv = argv  # faust's umbrella command reads sys.argv
    Path(app.conf.datadir).parent.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    marker = settings.data_dir / RUNNING_MARKER  # left behind only by an unclean stop (hub.hub_watches)
    # The previous run's marker is read by hub.hub_watches at start-up, then (re)written for this run.
    try:
        app.main()
    finally:
        marker.unlink(missing_ok=True)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("worker", help="run the hub worker (faust), serving /metrics and /health")
    parser.add_argument("--loglevel", default="info")
    parser.add_argument("--without-web", action="store_true", help="do not serve HTTP")
    parser.set_defaults(func=_worker)
