"""Pure functions that render the files of a single-node KRaft broker (no JVM, no I/O)."""

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
DEFAULT_SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class BrokerConfig:
    """Everything ``server.properties`` depends on."""

    port: int
    controller_port: int
    log_dir: Path
    secure: bool = False
    admin_password: str | None = None
    controller_password: str | None = None
    message_max_bytes: int = DEFAULT_MESSAGE_MAX_BYTES

    @property
    def bootstrap(self) -> str:
        return f"{LISTEN_HOST}:{self.port}"


def parse_bootstrap_port(bootstrap_servers: str) -> int:
    """The port of the first ``host:port`` entry; the host must be this machine."""
    first = bootstrap_servers.split(",")[0].strip()
    host, sep, port_text = first.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ConfigError(f"expected host:port, got {first!r}", field="bootstrap_servers")
    if host not in LOCAL_HOSTS:
        raise ConfigError(
            f"the local broker listens on {LISTEN_HOST}; bootstrap host {host!r} is not local",
            field="bootstrap_servers",
        )
    port = int(port_text)
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} out of range", field="bootstrap_servers")
    return port


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
    listener = "SASL_PLAINTEXT" if config.secure else "PLAINTEXT"
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{LISTEN_HOST}:{config.controller_port}",
        "listeners": f"{listener}://{LISTEN_HOST}:{config.port},CONTROLLER://{LISTEN_HOST}:{config.controller_port}",
        "advertised.listeners": f"{listener}://{LISTEN_HOST}:{config.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": listener,
        "listener.security.protocol.map": f"CONTROLLER:{listener},{listener}:{listener}",
        "log.dirs": str(config.log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "33554432",
        "message.max.bytes": str(config.message_max_bytes),
        "replica.fetch.max.bytes": str(config.message_max_bytes),
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
