"""``interop-hub broker fetch | start [--secure] [--node N] | stop [--node N] | kill --node N
| status [--node N] [--quorum] | run --node N``.

The broker is one node per entry of ``HUB_BOOTSTRAP_SERVERS``: one entry, the single-node broker; three, a
replicated cluster of three combined broker+controller nodes (:class:`~hub.broker.server.LocalCluster`).
Handlers return the exit code; an error they raise is reported by ``hub.cli`` as one line
(exit code 1 for a failure such as a broker that did not start, 2 for a configuration error).
"""

from __future__ import annotations

import argparse
import sys

from hub.broker.dist import KafkaDistribution
from hub.broker.server import BrokerStatus, LocalBroker, LocalCluster
from hub.settings import HubSettings


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def describe(status: BrokerStatus) -> str:
    """One line such as ``up 127.0.0.1:9092 pid=1234 mode=plain data_dir=/...`` (``node 2: up …`` in a cluster)."""
    state = "up" if status.up else "down"
    pid = f" pid={status.pid}" if status.pid is not None else ""
    mode = "secure" if status.secure else "plain"
    node = f"node {status.node_id}: " if status.clustered else ""
    return f"{node}{state} {status.bootstrap}{pid} mode={mode} data_dir={status.data_dir}"


def _fetch(args: argparse.Namespace, settings: HubSettings) -> int:
    libs = KafkaDistribution(settings.kafka_version, settings.kafka_home).ensure()
    _out(f"kafka {settings.kafka_version} jars in {libs}")
    return 0


def _start(args: argparse.Namespace, settings: HubSettings) -> int:
    cluster = LocalCluster(settings, secure=args.secure)
    if args.node is not None:  # one node of a running cluster, e.g. after a crash
        statuses = [cluster.node(args.node).start(timeout=args.timeout)]
    else:
        statuses = cluster.start(timeout=args.timeout)
    for status in statuses:
        _out(describe(status))
    if len(cluster) > 1 and args.node is None:
        _out(f"cluster of {len(cluster)} nodes, bootstrap {cluster.bootstrap}; topics replicated "
             f"{settings.replication_factor}x, min.insync.replicas {settings.min_insync_replicas}")
    if cluster.secure:
        _out(f"admin password file: {cluster.nodes[0].password_file}")
    return 0 if all(s.up for s in statuses) else 1


def _stop(args: argparse.Namespace, settings: HubSettings) -> int:
    cluster = LocalCluster(settings)
    if args.node is not None:
        nodes = [cluster.node(args.node)]
        stopped = [args.node] if nodes[0].stop(timeout=args.timeout) else []
    else:
        nodes, stopped = cluster.nodes, cluster.stop(timeout=args.timeout)
    for node in nodes:
        label = f"node {node.node_id} " if node.clustered else ""
        if node.node_id in stopped:
            _out(f"stopped broker {label}on {node.bootstrap}")
        else:
            _out(f"no broker {label}of {node.data_dir} was running")
    return 0


def _kill(args: argparse.Namespace, settings: HubSettings) -> int:
    node = LocalCluster(settings).node(args.node)
    pid = node.kill()
    _out(f"SIGKILLed node {node.node_id} (pid {pid})" if pid is not None
         else f"node {node.node_id} of {node.data_dir} was not running")
    return 0


def _status(args: argparse.Namespace, settings: HubSettings) -> int:
    cluster = LocalCluster(settings)
    statuses = [cluster.node(args.node).status()] if args.node is not None else cluster.status()
    for status in statuses:
        _out(describe(status))
    if args.quorum and any(s.up for s in statuses):
        quorum = cluster.describe_quorum()
        _out(f"controller quorum: leader node {quorum.leader_id} (epoch {quorum.epoch}), "
             f"voters {', '.join(map(str, quorum.voters))}")
    return 0 if all(s.up for s in statuses) else 1


def _run(args: argparse.Namespace, settings: HubSettings) -> int:
    LocalBroker(settings, secure=args.secure, node=args.node).run_foreground()
    return 1  # not reached: the process became the JVM


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``broker`` command and its subcommands; each sets ``func(args, settings) -> int``."""
    parser = subparsers.add_parser("broker", help="manage the local Apache Kafka broker or cluster")
    sub = parser.add_subparsers(dest="broker_command", required=True)

    fetch = sub.add_parser("fetch", help="fetch the Kafka jars from Maven Central (cached)")
    fetch.set_defaults(func=_fetch)

    secure_help = "SASL/SCRAM-SHA-512 + ACLs (default: from HUB_SECURITY_PROTOCOL)"
    start = sub.add_parser("start", help="start every node HUB_BOOTSTRAP_SERVERS lists (one: a single broker; "
                                         "three: a replicated cluster) and wait until they accept connections")
    start.add_argument("--secure", action="store_true", default=None, help=secure_help)
    start.add_argument("--node", type=int, help="only this node (1, 2, 3 …), e.g. to restart it in a running cluster")
    start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    start.set_defaults(func=_start)

    stop = sub.add_parser("stop", help="stop the broker JVMs recorded in the data dir")
    stop.add_argument("--node", type=int, help="only this node")
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    stop.set_defaults(func=_stop)

    kill = sub.add_parser("kill", help="SIGKILL one node (a crash: for failover drills)")
    kill.add_argument("--node", type=int, required=True)
    kill.set_defaults(func=_kill)

    status = sub.add_parser("status", help="print up/down and the address of each node; exit 1 when one is down")
    status.add_argument("--node", type=int, help="only this node (a container's health check)")
    status.add_argument("--quorum", action="store_true", help="also the controller quorum's leader (runs a JVM)")
    status.set_defaults(func=_status)

    run = sub.add_parser("run", help="run one node in the foreground (the process becomes its JVM: a container's "
                                     "or a service manager's main process)")
    run.add_argument("--node", type=int, default=1)
    run.add_argument("--secure", action="store_true", default=None, help=secure_help)
    run.set_defaults(func=_run)
