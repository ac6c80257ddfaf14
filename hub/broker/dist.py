"""The Apache Kafka jars, obtained from Maven Central through Maven and cached locally.

The first :meth:`KafkaDistribution.ensure` runs Maven's ``copy-dependencies`` goal on a
pinned ``pom.xml``; later calls find the marker file written after a complete copy and
do nothing.  A file lock keeps two processes from fetching into the same directory.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

from hub.errors import BrokerDistributionError

DEFAULT_KAFKA_VERSION = "3.9.1"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
MARKER_NAME = ".complete"
MVN_TIMEOUT_S = 900.0
OUTPUT_TAIL_LINES = 40


def default_home(version: str) -> Path:
    """``~/.cache/interop-hub/kafka-<version>`` (honours ``XDG_CACHE_HOME``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "interop-hub" / f"kafka-{version}"


def render_pom(version: str) -> str:
    """The packaged ``pom.xml`` template with the Kafka version filled in."""
    template = files("hub.broker").joinpath("pom.xml").read_text(encoding="utf-8")
    return template.replace("@KAFKA_VERSION@", version)


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class KafkaDistribution:
    """Kafka ``version`` as a directory of jars under ``home``."""

    def __init__(self, version: str = DEFAULT_KAFKA_VERSION, home: Path | None = None) -> None:
        self.version = version
        self.home = (home if home is not None else default_home(version)).expanduser().resolve()

    @property
    def libs_dir(self) -> Path:
        return self.home / "libs"

    @property
    def marker(self) -> Path:
        return self.home / MARKER_NAME

    def is_cached(self) -> bool:
        """True when a previous fetch of this version completed."""
        if not self.marker.is_file() or not self.libs_dir.is_dir():
            return False
        return self.marker.read_text(encoding="utf-8").strip() == self.version

    def ensure(self) -> Path:
        """The directory of jars, fetched through Maven unless already cached."""
        if self.is_cached():
            return self.libs_dir
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not self.is_cached():  # another process may have fetched while we waited
                    self._fetch()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return self.libs_dir

    def classpath(self) -> str:
        """Every jar of the distribution, sorted, joined with the path separator."""
        libs = self.ensure()
        jars = sorted(str(jar) for jar in libs.glob("*.jar"))
        if not jars:
            raise BrokerDistributionError(f"no jars in {libs}; remove {self.marker} to fetch again")
        return os.pathsep.join(jars)

    def _fetch(self) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerDistributionError("Maven (mvn) is not on PATH; it is needed to fetch Kafka once")
        pom = self.home / "pom.xml"
        pom.write_text(render_pom(self.version), encoding="utf-8")
        staging = self.home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        self.marker.unlink(missing_ok=True)
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom),
            DEPENDENCY_PLUGIN,
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        try:
            result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                cmd,
                cwd=self.home,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=MVN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = exc.output if isinstance(exc.output, str) else ""
            raise BrokerDistributionError(
                f"mvn did not finish within {MVN_TIMEOUT_S:.0f} s:\n{tail(output)}"
            ) from exc
        if result.returncode != 0:
            raise BrokerDistributionError(
                f"mvn failed with exit code {result.returncode} fetching Kafka {self.version}:\n"
                f"{tail(result.stdout)}"
            )
        if not any(staging.glob("kafka_2.13-*.jar")):
            raise BrokerDistributionError(f"mvn finished but copied no Kafka jar:\n{tail(result.stdout)}")
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        staging.rename(self.libs_dir)
        self.marker.write_text(self.version + "\n", encoding="utf-8")
