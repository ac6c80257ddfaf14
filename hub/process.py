"""Running a hub worker, or any ``python -m <module>`` program, as a child process (the demo, the
benchmarks and the broker tests do this)."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any, Self

from pydantic import SecretStr

from hub.errors import HubError
from hub.settings import ENV_PREFIX, HubSettings
from hub.web_token import authorization_header, web_token


class WorkerStartError(HubError):
    code = "worker_start"
    retriable = True


def settings_env(settings: HubSettings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name in HubSettings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[ENV_PREFIX + name.upper()] = str(value)
    return env


def http_json(url: str, timeout: float = 2.0, data: dict[str, Any] | None = None, *,
              token: SecretStr | str | None = None) -> tuple[int, Any]:
    """GET ``url`` (POST ``data`` as JSON when given): (status, decoded JSON body).

    ``token`` is sent as ``Authorization: Bearer``; every page of the worker but ``/health``,
    ``/ready`` and ``/metrics`` needs it (:func:`hub.web_token.web_token`, or :meth:`WorkerProcess.http`).
    """
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET")  # noqa: S310
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", authorization_header(token))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def http_text(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
        return str(resp.read().decode())


class ChildProcess:
    """A ``python -m <module> <args>`` child process bound to ``settings``; stopped by its own pid only.

    ``module`` is ``hub`` (an ``interop-hub <args>`` command) unless told otherwise; ``niceness`` above 0 runs it
    at that lower CPU priority (``nice -n``)."""

    def __init__(self, settings: HubSettings, log_path: Path, args: list[str], *, module: str = "hub") -> None:
        self.settings = settings
        self.log_path = log_path
        self.args = args
        self.module = module
        self.niceness = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Self:
        """Spawned on entry, stopped (by its own pid) on exit."""
        self.spawn()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def spawn(self) -> None:
        env = {**os.environ, **settings_env(self.settings)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            [*(("nice", "-n", str(self.niceness)) if self.niceness > 0 else ()), sys.executable, "-m", self.module,
             *self.args], env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


class WorkerProcess(ChildProcess):
    """A ``interop-hub worker`` child process; ``start`` returns once it is healthy and owns partitions."""

    def __init__(self, settings: HubSettings, log_path: Path) -> None:
        super().__init__(settings, log_path, ["worker"])

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    @functools.cached_property
    def token(self) -> SecretStr:
        """The bearer token of this worker's HTTP port (the same function and settings as the worker's)."""
        return web_token(self.settings)

    def http(self, path: str, data: dict[str, Any] | None = None, timeout: float = 2.0) -> tuple[int, Any]:
        """(status, JSON body) of ``path`` on this worker, with its token: GET, or POST ``data`` when given."""
        return http_json(self.base_url + path, timeout, data, token=self.token)

    def start(self, timeout: float = 90.0) -> None:
        self.spawn()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise WorkerStartError(f"worker exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, report = http_json(self.base_url + "/health")
                if status == 200 and self._assigned():
                    return dict(report)
                last = report
            except (OSError, ValueError) as exc:
                last = exc
            time.sleep(0.5)
        raise WorkerStartError(f"worker not healthy after {timeout}s: {last}; see {self.log_path}")

    def _assigned(self) -> bool:
        """True once the worker's consumer owns partitions (it is ready to process)."""
        status, report = http_json(self.base_url + "/ready")
        return status == 200 and bool(report and report.get("ready"))
