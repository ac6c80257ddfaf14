"""``interop-hub broker fetch | start [--secure] [--timeout S] | stop | status``.

Handlers return the exit code; an error they raise is reported by ``hub.cli`` as one line
(exit code 1 for a failure such as a broker that did not start, 2 for a configuration error).
"""

from __future__ import annotations

import argparse
import sys

from hub.broker.dist import KafkaDistribution
from hub.broker.server import BrokerStatus, LocalBroker
from hub.settings import HubSettings


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def describe(status: BrokerStatus) -> str:
    """One line such as ``up 127.0.0.1:9092 pid=1234 mode=plain data_dir=/...``."""
    state = "up" if status.up else "down"
    pid = f" pid={status.pid}" if status.pid is not None else ""
    mode = "secure" if status.secure else "plain"
    return f"{state} {status.bootstrap}{pid} mode={mode} data_dir={status.data_dir}"


def _fetch(args: argparse.Namespace, settings: HubSettings) -> int:
    libs = KafkaDistribution(settings.kafka_version, settings.kafka_home).ensure()
    _out(f"kafka {settings.kafka_version} jars in {libs}")
    return 0


def _start(args: argparse.Namespace, settings: HubSettings) -> int:
    broker = LocalBroker(settings, secure=args.secure)
    status = broker.start(timeout=args.timeout)
    _out(describe(status))
    if status.secure:
        _out(f"admin password file: {broker.password_file}")
    return 0 if status.up else 1


def _stop(args: argparse.Namespace, settings: HubSettings) -> int:
    broker = LocalBroker(settings)
    if broker.stop(timeout=args.timeout):
        _out(f"stopped broker on {broker.bootstrap}")
    else:
        _out(f"no broker of {broker.data_dir} was running")
    return 0


def _status(args: argparse.Namespace, settings: HubSettings) -> int:
    status = LocalBroker(settings).status()
    _out(describe(status))
    return 0 if status.up else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``broker`` command and its subcommands; each sets ``func(args, settings) -> int``."""
    parser = subparsers.add_parser("broker", help="manage the local Apache Kafka broker")
    sub = parser.add_subparsers(dest="broker_command", required=True)

    fetch = sub.add_parser("fetch", help="fetch the Kafka jars from Maven Central (cached)")
    fetch.set_defaults(func=_fetch)

    start = sub.add_parser("start", help="start the single-node broker and wait until it accepts connections")
    start.add_argument(
        "--secure",
        action="store_true",
        default=None,
        help="SASL/SCRAM-SHA-512 + ACLs (default: from HUB_SECURITY_PROTOCOL)",
    )
    start.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness")
    start.set_defaults(func=_start)

    stop = sub.add_parser("stop", help="stop the broker JVM recorded in the data dir")
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    stop.set_defaults(func=_stop)

    status = sub.add_parser("status", help="print up/down and the bootstrap address; exit 1 when down")
    status.set_defaults(func=_status)
