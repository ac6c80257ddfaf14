"""Apache Kafka (KRaft) run as local JVM processes: one node (:class:`LocalBroker`) or a cluster of nodes
(:class:`LocalCluster`, one :class:`LocalBroker` per node), as ``HUB_BOOTSTRAP_SERVERS`` lists them.

Every node is combined (broker and controller); three nodes form a three-voter controller quorum, so the
cluster keeps its metadata and its data with one node lost.  Data-dir layout of one node::

    <data_dir>/kafka-logs/              log.dirs (formatted once)
    <data_dir>/broker/server.properties
    <data_dir>/broker/log4j.properties
    <data_dir>/broker/broker.pid
    <data_dir>/broker/broker.log        JVM stdout/stderr (warnings and errors)
    <data_dir>/broker/server.log        log4j rolling file (INFO, size-capped)
    <data_dir>/broker/mode              "plain" or "secure", fixed at format time
    <data_dir>/secrets/                 admin and controller passwords, tool client config (0600)

and of a cluster: the same ``kafka-logs/`` and ``broker/`` per node under ``<data_dir>/node-<id>/``, one
``<data_dir>/secrets/`` for all (the same admin and controller logins on every node, and the cluster id,
``secrets/cluster-id``).  With a container per node (``HUB_BROKER_LISTEN_HOST=0.0.0.0``, ``broker run``) the
nodes see one ``secrets/`` (a shared volume); whichever node comes first writes each shared file (created
exclusively: the others read it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from hub.broker.config import (
    ADMIN_USER,
    LISTEN_HOST,
    LOCAL_HOSTS,
    BrokerConfig,
    NodeAddress,
    cluster_nodes,
    new_cluster_id,
    render_client_properties,
    render_scram_config_file,
    render_server_properties,
    scram_credential_spec,
)
from hub.broker.dist import KafkaDistribution, tail
from hub.errors import BrokerError, BrokerNotRunning, BrokerStartError, ConfigError
from hub.file_modes import PRIVATE_UMASK, make_private
from hub.settings import HubSettings

MAIN_CLASS = "kafka.Kafka"
TOOL_TIMEOUT_S = 120.0
LOG_TAIL_LINES = 60
POLL_INTERVAL_S = 0.2
_PRIVATE = 0o600


@dataclass(frozen=True)
class BrokerStatus:
    up: bool
    pid: int | None
    bootstrap: str
    secure: bool
    data_dir: Path
    node_id: int = 1
    clustered: bool = False


@dataclass(frozen=True)
class QuorumStatus:
    """The KRaft controller quorum as the active controller describes it."""

    leader_id: int
    epoch: int
    voters: tuple[int, ...]


def _port_accepts(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((LISTEN_HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LISTEN_HOST, port))
        except OSError:
            return False
        return True


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it when it is our own exited child (a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0] if ")" in stat else "?"
    if state in ("Z", "X"):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (mode 0600 from creation on)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, _PRIVATE)


def _read_stripped(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def _shared_value(path: Path, make: str) -> str:
    """The value in ``path``; when there is none, ``make`` is written there first (0600, created exclusively,
    so that nodes starting at once on a shared secrets dir all end up with the first one's value)."""
    value = _read_stripped(path)
    if value:
        return value
    staged = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    _write_private(staged, make + "\n")
    try:
        os.link(staged, path)  # atomic: fails if another node was first
    except FileExistsError:
        pass
    finally:
        staged.unlink(missing_ok=True)
    value = _read_stripped(path)
    if not value:  # an empty file left behind by an older version
        _write_private(path, make + "\n")
        value = make
    return value


def _read_tail(path: Path, lines: int = LOG_TAIL_LINES, start: int = 0) -> str:
    """The last ``lines`` lines of ``path`` written after byte offset ``start``."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(start, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return tail(text, lines)


def settings_nodes(settings: HubSettings) -> tuple[NodeAddress, ...]:
    """The local nodes ``settings`` describe: one per ``bootstrap_servers`` entry."""
    return cluster_nodes(settings.bootstrap_servers, settings.controller_port, settings.controller_ports,
                         local=settings.broker_listen_host in LOCAL_HOSTS)


class LocalBroker:
    """Start, stop and inspect one node of the hub's local Kafka: the broker, or node ``node`` of a cluster."""

    def __init__(
        self,
        settings: HubSettings,
        *,
        secure: bool | None = None,
        dist: KafkaDistribution | None = None,
        node: int = 1,
    ) -> None:
        self.settings = settings
        self.nodes = settings_nodes(settings)
        if not 1 <= node <= len(self.nodes):
            raise ConfigError(f"no node {node}: the bootstrap servers list {len(self.nodes)}", field="node")
        self.address = self.nodes[node - 1]
        self.node_id = node
        self.clustered = len(self.nodes) > 1
        self.port = self.address.port
        self.controller_port = self.address.controller_port
        self.secure = settings.security_protocol == "SASL_PLAINTEXT" if secure is None else secure
        self.dist = dist or KafkaDistribution(settings.kafka_version, settings.kafka_home)
        self.data_dir = settings.data_dir.expanduser().resolve()
        home = self.data_dir / f"node-{node}" if self.clustered else self.data_dir
        self.broker_dir = home / "broker"
        self.log_dir = home / "kafka-logs"
        self.secrets_dir = self.data_dir / "secrets"
        self.cluster_id_file = self.secrets_dir / "cluster-id"
        self.server_properties = self.broker_dir / "server.properties"
        self.log4j_properties = self.broker_dir / "log4j.properties"
        self.pid_file = self.broker_dir / "broker.pid"
        self.log_file = self.broker_dir / "broker.log"
        self.mode_file = self.broker_dir / "mode"
        self.password_file = self.secrets_dir / "admin.password"
        self.controller_password_file = self.secrets_dir / "controller.password"
        self.client_config_file = self.secrets_dir / "admin-client.properties"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def bootstrap(self) -> str:
        return f"{LISTEN_HOST}:{self.port}"

    # --- status ------------------------------------------------------------------------
    def recorded_mode(self) -> str | None:
        """``"plain"`` or ``"secure"`` once the data dir is formatted, else None."""
        try:
            return self.mode_file.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def recorded_pid(self) -> int | None:
        """The pid in the pid file if that process is still our broker JVM."""
        try:
            pid = int(self.pid_file.read_text(encoding="ascii").strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._is_our_jvm(pid) else None

    def _is_our_jvm(self, pid: int) -> bool:
        if not _pid_alive(pid):
            return False
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return MAIN_CLASS.encode() in argv and str(self.server_properties).encode() in argv

    def status(self) -> BrokerStatus:
        pid = self.recorded_pid()
        mode = self.recorded_mode()
        return BrokerStatus(
            up=pid is not None and _port_accepts(self.port),
            pid=pid,
            bootstrap=self.bootstrap,
            secure=self.secure if mode is None else mode == "secure",
            data_dir=self.data_dir,
            node_id=self.node_id,
            clustered=self.clustered,
        )

    # --- start -------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> BrokerStatus:
        """Start the broker and wait until its listener accepts connections (idempotent).

        A node of a cluster accepts connections only once the controller quorum has a leader, i.e. once a
        majority of the nodes runs: start a whole cluster with :meth:`LocalCluster.start`."""
        deadline = time.monotonic() + timeout
        running = self.recorded_pid()
        pid = self.launch()
        try:
            self.wait_ready(pid, deadline)
        except BrokerStartError:
            if running is None:
                self._kill_quietly(pid)
            raise
        return self.status()

    def launch(self) -> int:
        """Start the JVM without waiting for it; its pid (the running one's when it is up already)."""
        self._check_mode()
        self._check_layout()
        pid = self.recorded_pid()
        if pid is not None:  # already running (perhaps still starting)
            return pid
        for port in (self.port, self.controller_port):
            if not _port_free(port):
                raise BrokerStartError(f"port {LISTEN_HOST}:{port} is already in use by another process")
        cmd = self._setup()
        with os.fdopen(os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _PRIVATE), "ab") as log:
            self._log_offset = log.tell()
            log.write(f"\n=== starting broker {time.strftime('%Y-%m-%dT%H:%M:%S%z')} ===\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                cmd,
                cwd=self.broker_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=PRIVATE_UMASK,  # log segments, snapshots, server.log: owner-only
            )
        _write_private(self.pid_file, f"{self._proc.pid}\n")
        return self._proc.pid

    def run_foreground(self) -> None:
        """Become this node's JVM (``exec``; a container's or a service manager's main process): the same
        configuration, format and pid file as :meth:`launch`, its output on this process's stdout."""
        self._check_mode()
        self._check_layout()
        if self.recorded_pid() is not None:
            raise BrokerStartError(f"node {self.node_id} of {self.data_dir} is running already")
        cmd = self._setup()
        _write_private(self.pid_file, f"{os.getpid()}\n")  # exec keeps the pid
        os.chdir(self.broker_dir)
        os.umask(PRIVATE_UMASK)
        os.execv(cmd[0], cmd)  # noqa: S606 - fixed argument list, no shell

    def _setup(self) -> list[str]:
        """Write the configuration, format the log dir once; the JVM's command line."""
        classpath = self.dist.classpath()
        java = self._java()
        self._prepare()
        self._format(java, classpath)
        make_private(self.data_dir)  # segments, configs, logs: owner-only (the JVM creates them so too)
        return [
            java,
            f"-Xms{min(256, self.settings.broker_heap_mb)}m",
            f"-Xmx{self.settings.broker_heap_mb}m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.broker_dir}",
            f"-Dlog4j.configuration=file:{self.log4j_properties}",
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.server_properties),
        ]

    def wait_ready(self, pid: int, deadline: float) -> None:
        """Wait until the node's listener accepts connections (it is unfenced); BrokerStartError when the JVM
        exits or ``deadline`` (``time.monotonic()``) passes."""
        while True:
            if _port_accepts(self.port):
                return
            if self._proc is not None and self._proc.pid == pid:
                exited = self._proc.poll() is not None
            else:
                exited = not _pid_alive(pid)
            if exited:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerStartError(f"the broker JVM{self._which()} exited during startup:\n{self._log_tail()}")
            if time.monotonic() >= deadline:
                raise BrokerStartError(f"the broker{self._which()} did not accept connections on {self.bootstrap} "
                                       f"in time:\n{self._log_tail()}")
            time.sleep(POLL_INTERVAL_S)

    def _log_tail(self) -> str:
        """This run's part of broker.log (warnings, errors, JVM output), else server.log's tail."""
        return (
            _read_tail(self.log_file, start=self._log_offset)
            or _read_tail(self.broker_dir / "server.log", 30)
            or "(no broker log)"
        )

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").is_file():
            return str(Path(java_home) / "bin" / "java")
        found = shutil.which("java")
        if found is None:
            raise BrokerStartError("java is not on PATH (Java 17 is needed to run Kafka)")
        return found

    def _which(self) -> str:
        return f" of node {self.node_id}" if self.clustered else ""

    def _check_layout(self) -> None:
        """A data dir holds one node or a cluster, never both (a cluster's nodes live under ``node-<id>/``)."""
        if self.clustered and (self.data_dir / "kafka-logs" / "meta.properties").is_file():
            raise BrokerError(f"data dir {self.data_dir} holds a single-node broker; a cluster of "
                              f"{len(self.nodes)} nodes needs a data dir of its own (HUB_DATA_DIR)")
        if not self.clustered and (self.data_dir / "node-1" / "kafka-logs").is_dir():
            raise BrokerError(f"data dir {self.data_dir} holds a cluster's nodes; list every node in "
                              "HUB_BOOTSTRAP_SERVERS, or use another data dir for one node")

    def _check_mode(self) -> None:
        mode = self.recorded_mode()
        wanted = "secure" if self.secure else "plain"
        if mode is not None and mode != wanted:
            hint = "pass --secure" if mode == "secure" else "drop --secure"
            raise BrokerError(
                f"data dir {self.data_dir} was formatted in {mode} mode and cannot be switched to {wanted} "
                f"mode; {hint} (or HUB_SECURITY_PROTOCOL) or use another data dir"
            )

    def _prepare(self) -> None:
        for directory in (self.data_dir, self.broker_dir, self.log_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        password: str | None = None
        if self.secure:
            password = self.admin_password()
            if password is None:
                if (self.log_dir / "meta.properties").is_file():
                    raise BrokerError(
                        f"{self.password_file} is missing but {self.log_dir} is already formatted; "
                        "the admin credentials cannot be recovered: use a fresh data dir"
                    )
                password = _shared_value(self.password_file, secrets.token_urlsafe(24))
            _write_private(self.client_config_file, render_client_properties(ADMIN_USER, password))
        # the internal topics are replicated like the catalog's, as far as the nodes go (1/1 on one node)
        replication = min(self.settings.replication_factor, len(self.nodes))
        config = BrokerConfig(
            port=self.port,
            controller_port=self.controller_port,
            log_dir=self.log_dir,
            secure=self.secure,
            admin_password=password,
            controller_password=self._controller_password() if self.secure else None,
            node_id=self.node_id,
            host=self.address.host,
            listen_host=self.settings.broker_listen_host,
            voters=self.nodes if self.clustered else (),
            replication_factor=replication,
            min_insync_replicas=min(self.settings.min_insync_replicas, replication),
        )
        _write_private(self.server_properties, render_server_properties(config))
        template = files("hub.broker").joinpath("log4j.properties").read_text(encoding="utf-8")
        _write_private(self.log4j_properties, template)

    def _format(self, java: str, classpath: str) -> None:
        if (self.log_dir / "meta.properties").is_file():
            return
        # the nodes of a cluster share one cluster id
        cluster_id = _shared_value(self.cluster_id_file, new_cluster_id()) if self.clustered else new_cluster_id()
        args = ["format", "-t", cluster_id, "-c", str(self.server_properties), "--ignore-formatted"]
        password = self.admin_password() if self.secure else None
        if password is not None:
            args += ["-S", scram_credential_spec(password, ADMIN_USER)]
        self._run_tool(java, classpath, "kafka.tools.StorageTool", args, error=BrokerStartError)
        _write_private(self.mode_file, ("secure" if self.secure else "plain") + "\n")

    # --- stop --------------------------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the recorded broker JVM; False when none of ours was running."""
        return self.finish_stop(self.terminate(), timeout)

    def terminate(self) -> int | None:
        """Ask the recorded JVM to shut down (SIGTERM) without waiting; its pid, None when none was running."""
        pid = self.recorded_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        return pid

    def kill(self) -> int | None:
        """SIGKILL the recorded JVM (a crash, for drills and fault tests) and wait until it is gone."""
        pid = self.recorded_pid()
        if pid is not None:
            self._kill_quietly(pid)
        return pid

    def finish_stop(self, pid: int | None, timeout: float = 30.0) -> bool:
        """Wait for the JVM :meth:`terminate` signalled to exit (SIGKILL after ``timeout``)."""
        if pid is None:
            return False
        if not self._wait_exit(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, 10.0)
        self.pid_file.unlink(missing_ok=True)
        if self._proc is not None and self._proc.pid == pid:
            self._proc = None
        return True

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                try:
                    self._proc.wait(timeout=POLL_INTERVAL_S)
                    return True
                except subprocess.TimeoutExpired:
                    continue
            if not _pid_alive(pid):
                return True
            time.sleep(POLL_INTERVAL_S)
        return False

    def _kill_quietly(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._wait_exit(pid, 10.0)
        self.pid_file.unlink(missing_ok=True)
        if self._proc is not None and self._proc.pid == pid:
            self._proc = None

    # --- secure mode -------------------------------------------------------------------
    def _controller_password(self) -> str:
        """The controller listener's PLAIN password: generated once, kept in the secrets dir (0600), the same
        for every node of a cluster (their controllers log in to each other with it).

        PLAIN credentials live only in the node's own config, so a data dir formatted before the
        controller listener authenticated simply gets one now.
        """
        return _shared_value(self.controller_password_file, secrets.token_urlsafe(24))

    def admin_password(self) -> str | None:
        """The generated SCRAM password of ``admin`` (secure mode only, after the first start)."""
        if not self.secure:
            return None
        try:
            return self.password_file.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def add_scram_user(self, name: str, password: str) -> None:
        """Create or update SCRAM-SHA-512 credentials of ``name`` on the running broker."""
        self._require_secure_running()
        config_file = self.secrets_dir / f"scram-{secrets.token_hex(8)}.properties"
        _write_private(config_file, render_scram_config_file(password))
        try:
            self._admin_tool(
                "kafka.admin.ConfigCommand",
                [
                    "--alter",
                    "--add-config-file",
                    str(config_file),
                    "--entity-type",
                    "users",
                    "--entity-name",
                    name,
                ],
            )
        finally:
            config_file.unlink(missing_ok=True)

    def run_acl_command(self, args: list[str]) -> str:
        """Run ``kafka.admin.AclCommand`` as admin with ``args``; returns its output."""
        self._require_secure_running()
        return self._admin_tool("kafka.admin.AclCommand", args)

    def _require_secure_running(self) -> None:
        if not self.secure:
            raise BrokerError("this needs the broker in secure (SASL/SCRAM + ACL) mode")
        if not self.status().up:
            raise BrokerNotRunning(f"the broker on {self.bootstrap} is not running")
        if not self.client_config_file.is_file():
            raise BrokerError(f"missing admin client config {self.client_config_file}")

    def _admin_tool(self, main_class: str, args: list[str]) -> str:
        base = ["--bootstrap-server", self.bootstrap, "--command-config", str(self.client_config_file)]
        return self._run_tool(self._java(), self.dist.classpath(), main_class, base + args, error=BrokerError)

    def describe_quorum(self) -> QuorumStatus:
        """The controller quorum through this node (Admin ``describeMetadataQuorum``, forwarded to the active
        controller): which node leads it.  Runs a small Java program (the JDK's source launcher)."""
        if not self.status().up:
            raise BrokerNotRunning(f"the broker on {self.bootstrap} is not running")
        source = self.broker_dir / "QuorumStatus.java"
        if _read_stripped(source) != _QUORUM_SOURCE.strip():
            _write_private(source, _QUORUM_SOURCE)
        args = [self.bootstrap] + ([str(self.client_config_file)] if self.secure else [])
        out = self._run_tool(self._java(), self.dist.classpath(), str(source), args, error=BrokerError)
        fields = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        try:
            return QuorumStatus(int(fields["leader"]), int(fields["epoch"]),
                                tuple(int(v) for v in fields["voters"].split(",") if v))
        except (KeyError, ValueError) as exc:
            raise BrokerError(f"unexpected quorum description: {out!r}") from exc

    def _run_tool(
        self, java: str, classpath: str, main_class: str, args: list[str], *, error: type[BrokerError]
    ) -> str:
        tools_log4j = self.broker_dir / "tools-log4j.properties"
        if not tools_log4j.is_file():
            self.broker_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(tools_log4j, _TOOLS_LOG4J)
        cmd = [
            java,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j.configuration=file:{tools_log4j}",
            "-cp",
            classpath,
            main_class,
            *args,
        ]
        try:
            result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                cmd,
                cwd=self.broker_dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TOOL_TIMEOUT_S,
                check=False,
                umask=PRIVATE_UMASK,  # the storage tool formats the log dir
            )
        except subprocess.TimeoutExpired as exc:
            raise error(f"{main_class} did not finish within {TOOL_TIMEOUT_S:.0f} s") from exc
        if result.returncode != 0:
            raise error(
                f"{main_class} failed with exit code {result.returncode}:\n"
                f"{tail(result.stdout + result.stderr, LOG_TAIL_LINES)}"
            )
        return result.stdout


class LocalCluster:
    """Every node ``HUB_BOOTSTRAP_SERVERS`` lists, run on this machine: one :class:`LocalBroker` per node.

    A single entry is the single-node broker.  Three are a replicated cluster: combined broker+controller
    nodes whose three controllers form the KRaft quorum (see the README, "A replicated cluster").
    """

    def __init__(self, settings: HubSettings, *, secure: bool | None = None,
                 dist: KafkaDistribution | None = None) -> None:
        first = LocalBroker(settings, secure=secure, dist=dist)
        self.settings = settings
        self.nodes = [first] + [LocalBroker(settings, secure=first.secure, dist=first.dist, node=n.node_id)
                                for n in first.nodes[1:]]
        self.secure = first.secure

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: int) -> LocalBroker:
        if not 1 <= node_id <= len(self.nodes):
            raise ConfigError(f"no node {node_id}: the cluster has {len(self.nodes)}", field="node")
        return self.nodes[node_id - 1]

    @property
    def bootstrap(self) -> str:
        """Every node's client address (what clients are given)."""
        return ",".join(n.bootstrap for n in self.nodes)

    def status(self) -> list[BrokerStatus]:
        return [n.status() for n in self.nodes]

    def start(self, timeout: float = 120.0) -> list[BrokerStatus]:
        """Start every node that is not running, then wait for all (a node is ready once the controller quorum
        has a leader, so they start together); idempotent.  A start that fails stops what it started."""
        deadline = time.monotonic() + timeout
        running = {n.node_id for n in self.nodes if n.recorded_pid() is not None}
        pids: dict[int, int] = {}
        try:
            for node in self.nodes:
                pids[node.node_id] = node.launch()
            for node in self.nodes:
                node.wait_ready(pids[node.node_id], deadline)
        except BrokerError:
            for node in self.nodes:
                if node.node_id in pids and node.node_id not in running:
                    node.kill()
            raise
        return self.status()

    def stop(self, timeout: float = 30.0) -> list[int]:
        """Stop every running node (all asked at once, so none waits for a quorum that is going away); the ids
        of the nodes that were running."""
        pids = {n.node_id: n.terminate() for n in self.nodes}
        return [n.node_id for n in self.nodes if n.finish_stop(pids[n.node_id], timeout)]

    def kill(self, node_id: int) -> int | None:
        """SIGKILL one node (a crash); its pid, None when it was not running."""
        return self.node(node_id).kill()

    def describe_quorum(self) -> QuorumStatus:
        """The controller quorum, asked through the first node that is up."""
        for node in self.nodes:
            if node.status().up:
                return node.describe_quorum()
        raise BrokerNotRunning(f"no node of the cluster at {self.bootstrap} is running")


_QUORUM_SOURCE = """\
import java.io.FileInputStream;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.QuorumInfo;

/** Written by hub.broker.server: prints the KRaft quorum's leader, epoch and voters. */
public class QuorumStatus {
    public static void main(String[] argv) throws Exception {
        Properties props = new Properties();
        if (argv.length > 1) {
            try (FileInputStream in = new FileInputStream(argv[1])) { props.load(in); }
        }
        props.put("bootstrap.servers", argv[0]);
        props.put("request.timeout.ms", "10000");
        props.put("default.api.timeout.ms", "30000");
        try (Admin admin = Admin.create(props)) {
            QuorumInfo quorum = admin.describeMetadataQuorum().quorumInfo().get();
            System.out.println("leader " + quorum.leaderId());
            System.out.println("epoch " + quorum.leaderEpoch());
            System.out.println("voters " + quorum.voters().stream()
                .map(v -> Integer.toString(v.replicaId())).collect(Collectors.joining(",")));
        }
    }
}
"""

_TOOLS_LOG4J = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
