"""docker-compose.yml cannot run here (no Docker engine); check it agrees with the project."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.main_job import build_parser as main_job_parser
from hub.cli import build_parser as hub_parser
from hub.settings import ENV_PREFIX, HubSettings

ROOT = Path(__file__).resolve().parents[2]
#: what a service of the project's image may run, and the parser of its arguments
PROGRAMS: dict[tuple[str, ...], Callable[[], argparse.ArgumentParser]] = {
    ("interop-hub",): hub_parser,
    ("python", "-m", "demo"): main_job_parser,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def _project_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in compose["services"].items() if s.get("build")}


def test_compose_runs_the_main_job_secure_by_default(compose: dict[str, Any]) -> None:
    """The same `python -m demo` as `./dev up` (secure unless --plain), with what it needs in the image."""
    job = compose["services"]["main-job"]
    assert job["build"] == "." and job["command"][:3] == ["python", "-m", "demo"]
    assert "--plain" not in job["command"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for needed in ("openjdk-17-jre-headless", "maven", "prometheus", "interop-hub broker fetch", "COPY prometheus",
                   "COPY demo demo", "COPY support support", "WORKDIR /app"):
        assert needed in dockerfile, needed
    assert "kafka" not in compose["services"], "no second, unauthenticated Kafka beside the main job"


def test_every_project_command_exists_in_the_cli(compose: dict[str, Any]) -> None:
    services = _project_services(compose)
    assert services, "no service runs the project's image"
    for name, svc in services.items():
        cmd = svc["command"]
        argv = cmd if isinstance(cmd, list) else shlex.split(cmd)
        programs = [prefix for prefix in PROGRAMS if tuple(argv[:len(prefix)]) == prefix]
        assert programs, f"{name}: {argv} runs neither interop-hub nor the main job"
        [program] = programs
        try:
            args = PROGRAMS[program]().parse_args(argv[len(program):])
        except SystemExit as exc:  # argparse exits on an unknown command or flag
            raise AssertionError(f"{name}: `{' '.join(argv)}` is not a command of {' '.join(program)}") from exc
        assert callable(args.func)


def test_environment_matches_the_settings_model(compose: dict[str, Any]) -> None:
    known = {ENV_PREFIX + f.upper() for f in HubSettings.model_fields}
    for name, svc in _project_services(compose).items():
        env = svc.get("environment", {})
        hub_vars = {k for k in env if k.startswith(ENV_PREFIX)}
        assert hub_vars, f"{name} sets no {ENV_PREFIX}* variable"
        unknown = hub_vars - known
        assert not unknown, f"{name}: {sorted(unknown)} are not settings"
        HubSettings(**{k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items() if k in hub_vars})


def test_grafana_reads_the_main_jobs_prometheus(compose: dict[str, Any]) -> None:
    env = compose["services"]["main-job"]["environment"]
    port = env["HUB_PROMETHEUS_PORT"]
    assert f"127.0.0.1:{port}:{port}" in compose["services"]["main-job"]["ports"]
    sources = yaml.safe_load((ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
                             .read_text(encoding="utf-8"))
    assert [s["url"] for s in sources["datasources"]] == [f"http://main-job:{port}"]


def test_grafana_dashboard_queries_exported_metrics() -> None:
    import json
    import re

    from prometheus_client import generate_latest

    from hub.metrics import build_metrics

    exposed = generate_latest(build_metrics().registry).decode()
    dash = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "interop-hub.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        for name in re.findall(r"(?:interop_hub|process)_[a-z_]+", expr):
            assert re.sub(r"_(bucket|count|sum)$", "", name) in exposed, name


def test_published_ports_are_bound_to_loopback_only(compose: dict[str, Any]) -> None:
    """No door open to the network: every published port of the stack listens on 127.0.0.1."""
    published = [(name, port) for name, svc in compose["services"].items() for port in svc.get("ports", [])]
    assert published, "the stack publishes its operator ports"
    assert all(str(port).startswith("127.0.0.1:") for _, port in published), published


def test_long_running_project_services_restart_and_write_an_owned_volume(compose: dict[str, Any]) -> None:
    """The worker stops on a lost send and relies on a restart; the image's own user owns /data (0700)."""
    assert compose["services"]["main-job"]["restart"] == "unless-stopped"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "chown hub:hub /data" in dockerfile and "chmod 0700 /data" in dockerfile and "USER hub" in dockerfile
