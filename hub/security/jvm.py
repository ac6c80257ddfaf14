"""Run many Kafka admin tool invocations (AclCommand, ConfigCommand) in ONE JVM.

Each ``kafka.admin.*`` tool started as its own JVM costs about a second of start-up on a 2-core
machine; a deployment needs ~40 SCRAM users and ~100 ACL batches, i.e. minutes.  A tiny Java
launcher (run with Java's single-file source launcher, no build step) reads a batch file and calls
each tool's ``main`` inside one JVM (several at a time): the same Kafka tools with the same arguments, in
seconds.  A tool that fails calls ``System.exit(1)`` (Kafka's ``Exit``), so the batch stops at the
first failure with a non-zero exit code.  The batch file holds passwords: it is written 0600 into
the secrets directory and deleted afterwards, so no password appears on a command line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hub.broker.dist import tail
from hub.broker.server import LocalBroker
from hub.errors import BrokerError, BrokerNotRunning

LAUNCHER = "KafkaToolBatch"
TIMEOUT_S = 300.0
PARALLEL = 8  # tool calls in flight at once (each waits on broker round trips, not CPU)
_LOG_LINES = 60

JAVA_SOURCE = """\
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Written by hub.security.jvm: runs "main-class TAB arg TAB arg ..." lines in one JVM, N at a time. */
public class KafkaToolBatch {
    public static void main(String[] argv) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(argv[0]));
        ExecutorService pool = Executors.newFixedThreadPool(Integer.parseInt(argv[1]));
        List<Future<?>> running = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank()) continue;
            String[] parts = line.split("\\t", -1);
            String[] args = Arrays.copyOfRange(parts, 1, parts.length);
            running.add(pool.submit(() -> {
                Class.forName(parts[0]).getMethod("main", String[].class).invoke(null, (Object) args);
                return null;
            }));
        }
        int done = 0;
        for (Future<?> f : running) {
            f.get();
            done++;
        }
        pool.shutdown();
        System.out.println("#hub-batch-done " + done);
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


@dataclass(frozen=True)
class ToolCall:
    main_class: str  # kafka.admin.AclCommand / kafka.admin.ConfigCommand
    args: tuple[str, ...]


@dataclass(frozen=True)
class BatchResult:
    calls: int
    jvms: int
    seconds: float
    output: str


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError("java is not on PATH (Java 17 is needed for the Kafka admin tools)")
    return found


def _admin_base(broker: LocalBroker) -> list[str]:
    return ["--bootstrap-server", broker.bootstrap, "--command-config", str(broker.client_config_file)]


def run_batch(broker: LocalBroker, calls: list[ToolCall]) -> BatchResult:
    """Run ``calls`` as admin against the running secure ``broker`` in one JVM."""
    if not calls:
        return BatchResult(0, 0, 0.0, "")
    if not broker.secure or not broker.client_config_file.is_file():
        raise BrokerError("the Kafka admin tools need the broker in secure mode (broker start --secure)")
    if not broker.status().up:
        raise BrokerNotRunning(f"the broker on {broker.bootstrap} is not running")
    for call in calls:
        if any("\t" in a or "\n" in a for a in call.args):
            raise BrokerError(f"{call.main_class}: tabs and newlines are not allowed in tool arguments")
    broker.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    source = broker.broker_dir / f"{LAUNCHER}.java"
    source.write_text(JAVA_SOURCE, encoding="utf-8")
    log4j = broker.broker_dir / "tools-log4j.properties"
    if not log4j.is_file():
        log4j.write_text(_TOOLS_LOG4J, encoding="utf-8")
    batch = broker.secrets_dir / f"batch-{secrets.token_hex(8)}.tsv"
    fd = os.open(batch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for call in calls:
            handle.write("\t".join([call.main_class, *_admin_base(broker), *call.args]) + "\n")
    cmd = [_java(), "-Xmx256m", "-XX:+UseSerialGC", f"-Dlog4j.configuration=file:{log4j}",
           "-cp", broker.dist.classpath(), str(source), str(batch), str(PARALLEL)]
    started = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            cmd, cwd=broker.broker_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"the Kafka tool batch did not finish within {TIMEOUT_S:.0f} s") from exc
    finally:
        batch.unlink(missing_ok=True)
    if result.returncode != 0:
        raise BrokerError(f"Kafka tool batch failed with exit code {result.returncode}:\n"
                          f"{tail(result.stdout + result.stderr, _LOG_LINES)}")
    if f"#hub-batch-done {len(calls)}" not in result.stdout:
        raise BrokerError(f"Kafka tool batch did not finish its {len(calls)} calls:\n{tail(result.stderr, _LOG_LINES)}")
    return BatchResult(len(calls), 1, time.monotonic() - started, result.stdout)


def run_each(broker: LocalBroker, calls: list[ToolCall]) -> BatchResult:
    """The same calls, one JVM each, through :class:`LocalBroker` (slow; kept for comparison)."""
    started = time.monotonic()
    out: list[str] = []
    for call in calls:
        if call.main_class == "kafka.admin.AclCommand":
            out.append(broker.run_acl_command(list(call.args)))
        else:
            raise BrokerError(f"run_each only runs AclCommand, not {call.main_class}")
    return BatchResult(len(calls), len(calls), time.monotonic() - started, "".join(out))
