"""A single-node Apache Kafka broker (KRaft) run as a local JVM process.

Data-dir layout::

    <data_dir>/kafka-logs/              log.dirs (formatted once)
    <data_dir>/broker/server.properties
    <data_dir>/broker/log4j.properties
    <data_dir>/broker/broker.pid
    <data_dir>/broker/broker.log        JVM stdout/stderr (warnings and errors)
    <data_dir>/broker/server.log        log4j rolling file (INFO, size-capped)
    <data_dir>/broker/mode              "plain" or "secure", fixed at format time
    <data_dir>/secrets/                 admin and controller passwords, tool client config (0600)
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
    BrokerConfig,
    new_cluster_id,
    parse_bootstrap_port,
    render_client_properties,
    render_scram_config_file,
    render_server_properties,
    scram_credential_spec,
)
from hub.broker.dist import KafkaDistribution, tail
from hub.errors import BrokerError, BrokerNotRunning, BrokerStartError
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


class LocalBroker:
    """Start, stop and inspect the hub's local Kafka broker."""

    def __init__(
        self,
        settings: HubSettings,
        *,
        secure: bool | None = None,
        dist: KafkaDistribution | None = None,
    ) -> None:
        self.settings = settings
        self.port = parse_bootstrap_port(settings.bootstrap_servers)
        self.controller_port = settings.controller_port
        self.secure = settings.security_protocol == "SASL_PLAINTEXT" if secure is None else secure
        self.dist = dist or KafkaDistribution(settings.kafka_version, settings.kafka_home)
        self.data_dir = settings.data_dir.expanduser().resolve()
        self.broker_dir = self.data_dir / "broker"
        self.log_dir = self.data_dir / "kafka-logs"
        self.secrets_dir = self.data_dir / "secrets"
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
        )

    # --- start -------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> BrokerStatus:
        """Start the broker and wait until its listener accepts connections (idempotent)."""
        self._check_mode()
        deadline = time.monotonic() + timeout
        pid = self.recorded_pid()
        if pid is not None:  # already running (perhaps still starting): just wait for it
            self._wait_ready(pid, deadline)
            return self.status()
        for port in (self.port, self.controller_port):
            if not _port_free(port):
                raise BrokerStartError(f"port {LISTEN_HOST}:{port} is already in use by another process")
        classpath = self.dist.classpath()
        java = self._java()
        self._prepare()
        self._format(java, classpath)
        make_private(self.data_dir)  # segments, configs, logs: owner-only (the JVM creates them so too)
        cmd = [
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
        try:
            self._wait_ready(self._proc.pid, deadline)
        except BrokerStartError:
            self._kill_quietly(self._proc.pid)
            raise
        return self.status()

    def _wait_ready(self, pid: int, deadline: float) -> None:
        while True:
            if _port_accepts(self.port):
                return
            if self._proc is not None and self._proc.pid == pid:
                exited = self._proc.poll() is not None
            else:
                exited = not _pid_alive(pid)
            if exited:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerStartError(f"the broker JVM exited during startup:\n{self._log_tail()}")
            if time.monotonic() >= deadline:
                raise BrokerStartError(
                    f"the broker did not accept connections on {self.bootstrap} in time:\n{self._log_tail()}"
                )
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
                password = secrets.token_urlsafe(24)
                _write_private(self.password_file, password + "\n")
            _write_private(self.client_config_file, render_client_properties(ADMIN_USER, password))
        config = BrokerConfig(
            port=self.port,
            controller_port=self.controller_port,
            log_dir=self.log_dir,
            secure=self.secure,
            admin_password=password,
            controller_password=self._controller_password() if self.secure else None,
        )
        _write_private(self.server_properties, render_server_properties(config))
        template = files("hub.broker").joinpath("log4j.properties").read_text(encoding="utf-8")
        _write_private(self.log4j_properties, template)

    def _format(self, java: str, classpath: str) -> None:
        if (self.log_dir / "meta.properties").is_file():
            return
        args = ["format", "-t", new_cluster_id(), "-c", str(self.server_properties), "--ignore-formatted"]
        password = self.admin_password() if self.secure else None
        if password is not None:
            args += ["-S", scram_credential_spec(password, ADMIN_USER)]
        self._run_tool(java, classpath, "kafka.tools.StorageTool", args, error=BrokerStartError)
        _write_private(self.mode_file, ("secure" if self.secure else "plain") + "\n")

    # --- stop --------------------------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the recorded broker JVM; False when none of ours was running."""
        pid = self.recorded_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
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

    # --- secure mode -------------------------------------------------------------------
    def _controller_password(self) -> str:
        """The controller listener's PLAIN password: generated once, kept in the secrets dir (0600).

        PLAIN credentials live only in the node's own config, so a data dir formatted before the
        controller listener authenticated simply gets one now.
        """
        try:
            password = self.controller_password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            password = ""
        if not password:
            password = secrets.token_urlsafe(24)
            _write_private(self.controller_password_file, password + "\n")
        return password

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


_TOOLS_LOG4J = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
