"""Pure functions that render the files of a local KRaft broker or cluster (no JVM, no I/O).

A node is combined (``process.roles=broker,controller``): one node alone, or three nodes whose controllers
form a three-voter quorum (``controller.quorum.voters``) — the layout comes from the settings
(:func:`cluster_nodes`: one node per entry of ``HUB_BOOTSTRAP_SERVERS``).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from hub.errors import ConfigError

LISTEN_HOST = "127.0.0.1"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
SCRAM_MECHANISM = "SCRAM-SHA-512"
ADMIN_USER = "admin"
#: the controller listener's own principal (SASL/PLAIN, credentials only in the broker's 0600 config)
CONTROLLER_USER = "controller"
DEFAULT_MESSAGE_MAX_BYTES = 2 * 1024 * 1024
INDEX_INTERVAL_BYTES = 1024 * 1024
DEFAULT_SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class NodeAddress:
    """One node of the local cluster: its id, the host clients and the other nodes reach it at, its ports."""

    node_id: int
    host: str
    port: int
    controller_port: int

    @property
    def voter(self) -> str:
        """Its entry in ``controller.quorum.voters``."""
        return f"{self.node_id}@{self.host}:{self.controller_port}"


@dataclass(frozen=True)
class BrokerConfig:
    """Everything ``server.properties`` depends on.

    ``voters`` is the controller quorum (every node of the cluster, this one included); empty means this
    node alone.  ``replication_factor`` and ``min_insync_replicas`` set the broker's defaults and its
    internal topics (consumer offsets, transaction state): 1 and 1 on one node, 3 and 2 on three.
    """

    port: int
    controller_port: int
    log_dir: Path
    secure: bool = False
    admin_password: str | None = None
    controller_password: str | None = None
    message_max_bytes: int = DEFAULT_MESSAGE_MAX_BYTES
    node_id: int = 1
    host: str = LISTEN_HOST
    listen_host: str = LISTEN_HOST
    voters: tuple[NodeAddress, ...] = ()
    replication_factor: int = 1
    min_insync_replicas: int = 1

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def quorum(self) -> tuple[NodeAddress, ...]:
        return self.voters or (NodeAddress(self.node_id, self.host, self.port, self.controller_port),)


def _host_port(entry: str, *, local: bool) -> tuple[str, int]:
    host, sep, port_text = entry.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"expected host:port, got {entry.strip()!r}", field="bootstrap_servers")
    if local and host not in LOCAL_HOSTS:
        raise ConfigError(
            f"the local broker listens on {LISTEN_HOST}; bootstrap host {host!r} is not local",
            field="bootstrap_servers",
        )
    return host, _port(port_text, "bootstrap_servers")


def _port(text: str, field: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"port {text.strip()!r} out of range", field=field)
    return int(text)


def parse_bootstrap_port(bootstrap_servers: str) -> int:
    """The port of the first ``host:port`` entry; the host must be this machine."""
    return _host_port(bootstrap_servers.split(",")[0], local=True)[1]


def cluster_nodes(bootstrap_servers: str, controller_port: int, controller_ports: str = "", *,
                  local: bool = True) -> tuple[NodeAddress, ...]:
    """The nodes of the local broker or cluster: one per ``bootstrap_servers`` entry, node ids 1, 2, 3 … in
    that order.  A node's controller port is the matching entry of ``controller_ports`` (comma-separated);
    without it one node uses ``controller_port`` and each node of a cluster its client port + 1.  ``local``:
    every host must be this machine (the nodes run here, side by side); otherwise (a container per node) the
    hosts are the nodes' names and only each node's own two ports must differ."""
    entries = [e for e in bootstrap_servers.split(",") if e.strip()]
    if not entries:
        raise ConfigError("no broker address", field="bootstrap_servers")
    # local nodes listen on and advertise 127.0.0.1 whichever local name the bootstrap list spells
    hosts = [(LISTEN_HOST if local else host, port) for host, port in (_host_port(e, local=local) for e in entries)]
    wanted = [p for p in controller_ports.split(",") if p.strip()]
    if wanted and len(wanted) != len(hosts):
        raise ConfigError(f"{len(wanted)} controller ports for {len(hosts)} bootstrap servers: give one per node",
                          field="controller_ports")
    if wanted:
        controllers = [_port(p, "controller_ports") for p in wanted]
    elif len(hosts) == 1:
        controllers = [controller_port]
    else:
        controllers = [port + 1 for _, port in hosts]
    nodes = tuple(NodeAddress(i, host, port, ctl)
                  for i, ((host, port), ctl) in enumerate(zip(hosts, controllers, strict=True), start=1))
    for node in nodes:
        if node.port == node.controller_port:
            raise ConfigError(f"node {node.node_id}: broker and controller ports must differ",
                              field="controller_ports" if wanted else "controller_port")
    if local:
        ports = [p for n in nodes for p in (n.port, n.controller_port)]
        if len(set(ports)) != len(ports):
            raise ConfigError(f"the nodes of a local cluster need distinct ports, got {ports}",
                              field="controller_ports")
    return nodes


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jaas_config(username: str, password: str) -> str:
    """A SCRAM ``sasl.jaas.config`` value (quotes and backslashes escaped)."""
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f"username={_jaas_quote(username)} password={_jaas_quote(password)};"
    )


def controller_jaas_config(password: str) -> str:
    """The controller listener's PLAIN login: the node logs in as, and accepts only, ``controller``."""
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f"username={_jaas_quote(CONTROLLER_USER)} password={_jaas_quote(password)} "
        f"user_{CONTROLLER_USER}={_jaas_quote(password)};"
    )


def _escape_value(value: str) -> str:
    """Escape a Java properties value (backslash is the escape character)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def render_server_properties(config: BrokerConfig) -> str:
    """``server.properties`` of a combined broker+controller node in plain or SASL/SCRAM mode."""
    if config.port == config.controller_port:
        raise ConfigError("broker and controller ports must differ", field="controller_port")
    quorum = config.quorum
    if config.node_id not in {v.node_id for v in quorum}:
        raise ConfigError(f"node {config.node_id} is not a voter of the quorum", field="controller_ports")
    if not 1 <= config.min_insync_replicas <= config.replication_factor <= len(quorum):
        raise ConfigError(
            f"{len(quorum)} node(s) cannot hold replication factor {config.replication_factor} with "
            f"min.insync.replicas {config.min_insync_replicas}", field="replication_factor")
    rf, min_isr = str(config.replication_factor), str(config.min_insync_replicas)
    listener = "SASL_PLAINTEXT" if config.secure else "PLAINTEXT"
    bind = config.listen_host
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(config.node_id),
        "controller.quorum.voters": ",".join(v.voter for v in quorum),
        "listeners": f"{listener}://{bind}:{config.port},CONTROLLER://{bind}:{config.controller_port}",
        "advertised.listeners": f"{listener}://{config.host}:{config.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": listener,
        "listener.security.protocol.map": f"CONTROLLER:{listener},{listener}:{listener}",
        "log.dirs": str(config.log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        # the internal topics follow the deployment's replication: on one node 1/1 (the group and transaction
        # coordinators never start otherwise), on three nodes 3/2 like every catalog topic
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "1",
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        # a replica that was not in sync never becomes leader: an acknowledged write is never truncated away
        "unclean.leader.election.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "33554432",
        "message.max.bytes": str(config.message_max_bytes),
        "replica.fetch.max.bytes": str(config.message_max_bytes),
        # an offset/time index entry per MiB appended instead of per 4 KiB: a partition written a few times a
        # minute (a sweep touches ~900) no longer writes into its memory-mapped index pages each time, which a
        # host that pages out cold memory had dropped — request handlers stalled on the faults (README, sweeps)
        "log.index.interval.bytes": str(INDEX_INTERVAL_BYTES),
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    if config.secure:
        if not config.admin_password:
            raise ConfigError("secure mode needs the admin password", field="admin_password")
        if not config.controller_password:
            raise ConfigError("secure mode needs the controller password", field="controller_password")
        props.update(
            {
                "listener.name.sasl_plaintext.sasl.enabled.mechanisms": SCRAM_MECHANISM,
                "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
                f"listener.name.sasl_plaintext.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas_config(
                    ADMIN_USER, config.admin_password
                ),
                # The controller listener authenticates too (SCRAM credentials live in the metadata log the
                # controller serves, so it uses PLAIN with its one credential in this 0600 file); nobody is
                # anonymous, and only admin (the hub's operator) and the node itself may administer.
                "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
                "listener.name.controller.plain.sasl.jaas.config": controller_jaas_config(config.controller_password),
                "sasl.mechanism.controller.protocol": "PLAIN",
                "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "super.users": f"User:{ADMIN_USER};User:{CONTROLLER_USER}",
                "allow.everyone.if.no.acl.found": "false",
            }
        )
    lines = ["# Written by hub.broker; edits are overwritten at the next start."]
    lines += [f"{key}={_escape_value(value)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def render_client_properties(username: str, password: str) -> str:
    """Client config (``--command-config``) of the Kafka admin tools in secure mode."""
    return (
        "security.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism={SCRAM_MECHANISM}\n"
        f"sasl.jaas.config={_escape_value(jaas_config(username, password))}\n"
    )


def scram_credential_spec(password: str, username: str | None = None) -> str:
    """``SCRAM-SHA-512=[name=...,password=...]`` for StorageTool / ConfigCommand.

    Kafka parses the bracketed list by commas and ``=``; a password holding those
    characters (or brackets) would be cut, so it is rejected.
    """
    for value in (password, username or ""):
        if any(ch in value for ch in ',=[]"\n'):
            raise ConfigError('SCRAM names and passwords may not contain , = [ ] " or newlines')
    parts = ([f"name={username}"] if username else []) + [f"password={password}"]
    return f"{SCRAM_MECHANISM}=[{','.join(parts)}]"


def render_scram_config_file(password: str, iterations: int = DEFAULT_SCRAM_ITERATIONS) -> str:
    """A ``ConfigCommand --add-config-file`` body (keeps the password off the command line).

    The value is what goes between the brackets of ``--add-config``; the bracketed form
    itself is rejected by ConfigCommand when read from a file.
    """
    scram_credential_spec(password)  # same character rules
    return f"{SCRAM_MECHANISM}={_escape_value(f'iterations={iterations},password={password}')}\n"


def new_cluster_id() -> str:
    """A random KRaft cluster id like ``kafka.tools.StorageTool random-uuid`` prints."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text
