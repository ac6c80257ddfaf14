"""A real Prometheus beside the main job's worker: it scrapes ``/metrics`` with the project's alert rules.

Debian's ``prometheus`` package (``./dev`` installs it); without it the main job runs and says so.
Prometheus listens on 127.0.0.1 only, keeps its data under ``<data_dir>/prometheus`` and evaluates
the rules every second, so the alerts of a short run show as pending (waiting out their ``for``) or
firing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support.ports import free_ports

RULES = Path(__file__).resolve().parents[1] / "prometheus" / "alerts.yml"


@dataclass(frozen=True)
class Alert:
    name: str
    state: str  # pending / firing
    labels: str


class DemoPrometheus:
    def __init__(self, data_dir: Path, metrics_port: int, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.dir = Path(data_dir) / "prometheus"
        self.metrics_port = metrics_port
        self.host = host  # 127.0.0.1 unless a container publishes it (then on the host's loopback only)
        self.port = port or free_ports(1)[0]
        self.proc: subprocess.Popen[bytes] | None = None
        self.binary = shutil.which("prometheus")

    @property
    def url(self) -> str:
        wildcard = self.host in ("0.0.0.0", "::")  # noqa: S104 - recognising it, not binding
        return f"http://{'127.0.0.1' if wildcard else self.host}:{self.port}"

    def start(self) -> bool:
        """Start it (False, and nothing started, when Prometheus is not installed)."""
        if self.binary is None:
            return False
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.dir / "prometheus.yml"
        rules = [str(RULES)] if RULES.is_file() else []
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rules,
            "scrape_configs": [{"job_name": "interop-hub", "metrics_path": "/metrics",
                                "static_configs": [{"targets": [f"127.0.0.1:{self.metrics_port}"]}]}],
        }), encoding="utf-8")
        log = (self.dir / "prometheus.log").open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own config, a binary found on PATH
            [self.binary, f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address={self.host}:{self.port}", "--storage.tsdb.retention.time=2h"],
            stdout=log, stderr=log,  # the CLI runs with umask 077: its data is owner-only too
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return True
            time.sleep(0.3)
        return True

    def alerts(self) -> list[Alert]:
        """The alerts Prometheus holds now (pending or firing)."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=3) as resp:  # noqa: S310 - loopback
                data = json.loads(resp.read())
        except OSError:
            return []
        out = []
        for a in data.get("data", {}).get("alerts", []):
            labels = {k: v for k, v in a.get("labels", {}).items() if k not in ("alertname", "severity")}
            out.append(Alert(a["labels"].get("alertname", "?"), a.get("state", "?"),
                             ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))))
        return sorted(out, key=lambda a: (a.state != "firing", a.name))

    def wait_for_scrape(self, timeout: float = 10) -> bool:
        """True once the worker's target is up in Prometheus."""
        deadline = time.monotonic() + timeout
        while self.proc is not None and time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError), \
                    urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=2) as resp:  # noqa: S310
                targets = json.loads(resp.read())["data"]["activeTargets"]
                if any(t.get("health") == "up" for t in targets):
                    return True
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
