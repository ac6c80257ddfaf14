"""`./dev` installs the Debian packages it lacks, or says how to; `.ci/run` only delegates to it.

Each test runs a temp copy of the script with PATH limited to two temp dirs: fakes of java, mvn,
promtool, git, node, npm, python3, apt-get, id and sudo (each logs its call), and symlinks to the few real
tools the scripts need (bash, env, dirname, mktemp, mkdir, touch). The real apt-get and sudo are never on that PATH.
Most runs use HUB_DEV_DRY_RUN=1 (the decisions, the apt-get commands printed, a stop before the
virtualenv); the others let the fake apt-get run and install nothing, so `./dev` stops right after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_TOOLS = ("bash", "env", "dirname", "mktemp", "mkdir", "touch")
ALL_TOOLS = ("java", "mvn", "promtool", "git", "node", "npm")
NODE = ("node", "npm")
APT = "env DEBIAN_FRONTEND=noninteractive apt-get"
INSTALL = f"{APT} install -y -qq --no-install-recommends"


class Machine:
    """A fake machine: which tools exist, who we are, whether sudo and apt-get work."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.bin = tmp_path / "fakebin"
        self.tools = tmp_path / "tools"
        self.log = tmp_path / "calls.log"
        self.repo = tmp_path / "repo"
        self.venv = tmp_path / "venv"
        for d in (self.bin, self.tools, self.repo / ".ci"):
            d.mkdir(parents=True)
        shutil.copy2(REPO / "dev", self.repo / "dev")
        shutil.copy2(REPO / ".ci" / "run", self.repo / ".ci" / "run")
        for name in REAL_TOOLS:
            real = shutil.which(name)
            assert real, f"{name} is needed to run the scripts"
            (self.tools / name).symlink_to(real)
        self.path = f"{self.bin}{os.pathsep}{self.tools}"

    def fake(self, name: str, body: str = "exit 0") -> None:
        script = self.bin / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{self.log}"\n{body}\n', encoding="utf-8")
        script.chmod(0o755)

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    def setup(self, *, present: tuple[str, ...] = ALL_TOOLS, uid: int = 0, sudo: str | None = None,
              apt: bool = True, apt_install_rc: int = 0, ensurepip: bool = True) -> None:
        """sudo: None (no sudo at all), "ok" (passwordless) or "password" (sudo -n fails)."""
        for name in present:
            self.fake(name)
        self.fake("python3", f'case "$*" in *ensurepip*) exit {0 if ensurepip else 1};; esac\nexit 0')
        self.fake("id", f'[ "$1" = -u ] && echo {uid}')
        if sudo is not None:
            # `sudo -n true` answers whether sudo works without a password; anything else it runs.
            self.fake("sudo", f'[ "$*" = "-n true" ] && exit {0 if sudo == "ok" else 1}\n'
                              '[ "$1" = -n ] && shift\nexec "$@"')
        if apt:
            self.fake("apt-get", f'echo "  DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "{self.log}"\n'
                                 f'[ "$1" = install ] && exit {apt_install_rc}\nexit 0')
        # Only our fakes (or nothing) answer for these names: never the machine's apt-get or sudo.
        for name in ("apt-get", "sudo", "id", "python3", *ALL_TOOLS):
            found = shutil.which(name, path=self.path)
            assert found is None or Path(found).parent == self.bin, found
        for name in set(ALL_TOOLS) - set(present):
            assert shutil.which(name, path=self.path) is None, name

    def dev(self, *args: str, dry_run: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": self.path, "HOME": str(self.tmp), "HUB_VENV": str(self.venv)}
        if dry_run:
            env["HUB_DEV_DRY_RUN"] = "1"
        return subprocess.run([str(self.repo / "dev"), *args], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=30, check=False)


def would_run(out: str) -> list[str]:
    return [line.removeprefix("dev: would run: ") for line in out.splitlines() if line.startswith("dev: would run: ")]


def apt_calls(m: Machine) -> list[str]:
    return [c for c in m.calls() if c.startswith(("apt-get", "  DEBIAN")) or (c.startswith("sudo") and "apt" in c)]


@pytest.fixture
def m(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


@pytest.mark.parametrize("cmd", ["up", "test"])
def test_nothing_is_installed_when_everything_is_present(m: Machine, cmd: str) -> None:
    m.setup(sudo="ok")
    done = m.dev(cmd)
    assert done.returncode == 0, done.stderr
    assert "nothing to install" in done.stdout
    assert would_run(done.stdout) == []
    assert apt_calls(m) == []
    assert not any(c.startswith("sudo") for c in m.calls())


@pytest.mark.parametrize(("cmd", "present", "ensurepip", "packages"), [
    ("up", ("mvn", "promtool", "git"), True, "openjdk-17-jre-headless"),
    ("up", (), True, "openjdk-17-jre-headless maven"),
    ("test", ("java", "git", *NODE), True, "maven prometheus"),
    ("test", ("java", "mvn", "promtool", *NODE), True, "git"),
    ("test", ("java", "mvn", "promtool", "git"), True, "nodejs npm"),
    ("test", ("java", "mvn", "promtool", "git", "node"), True, "npm"),
    ("test", (), False, "openjdk-17-jre-headless maven prometheus git nodejs npm python3-venv"),
    ("up", ALL_TOOLS, False, "python3-venv"),
])
def test_the_missing_tools_choose_their_packages(m: Machine, cmd: str, present: tuple[str, ...], ensurepip: bool,
                                                 packages: str) -> None:
    m.setup(present=present, ensurepip=ensurepip)
    done = m.dev(cmd)
    assert done.returncode == 0, done.stderr
    assert would_run(done.stdout) == [f"{APT} update -qq", f"{INSTALL} {packages}"]
    assert apt_calls(m) == []  # a dry run runs nothing


def test_up_does_not_ask_for_prometheus_or_node_but_test_does(m: Machine) -> None:
    m.setup(present=("java", "mvn", "git"))
    up = m.dev("up")
    assert up.returncode == 0, up.stderr
    assert would_run(up.stdout) == []
    test = m.dev("test")
    assert test.returncode == 0, test.stderr
    assert would_run(test.stdout) == [f"{APT} update -qq", f"{INSTALL} prometheus nodejs npm"]
    assert "node (Node.js, runs the AsyncAPI parser" in test.stderr


def test_an_existing_virtualenv_needs_no_python3_venv(m: Machine) -> None:
    m.setup(ensurepip=False)
    (m.venv / "bin").mkdir(parents=True)
    (m.venv / "bin" / "python").symlink_to(m.bin / "python3")
    done = m.dev("test")
    assert done.returncode == 0, done.stderr
    assert "nothing to install" in done.stdout


def test_passwordless_sudo_installs_through_sudo(m: Machine) -> None:
    m.setup(present=("mvn", "git", *NODE), uid=1000, sudo="ok")
    done = m.dev("test")
    assert done.returncode == 0, done.stderr
    assert would_run(done.stdout) == [f"sudo -n {APT} update -qq",
                                      f"sudo -n {INSTALL} openjdk-17-jre-headless prometheus"]
    assert [c for c in m.calls() if c.startswith("sudo")] == ["sudo -n true"]


@pytest.mark.parametrize("sudo", [None, "password"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_without_root_or_sudo_it_names_the_command_and_exits_1(m: Machine, sudo: str | None, dry_run: bool) -> None:
    m.setup(present=("git",), uid=1000, sudo=sudo)
    done = m.dev("test", dry_run=dry_run)
    assert done.returncode == 1
    assert "sudo apt-get install -y openjdk-17-jre-headless maven prometheus nodejs npm\n" in done.stderr
    assert "not root and no passwordless sudo" in done.stderr
    assert "then ./dev test again" in done.stderr
    assert would_run(done.stdout) == []
    assert apt_calls(m) == []
    assert [c for c in m.calls() if c.startswith("sudo")] == ([] if sudo is None else ["sudo -n true"])


def test_without_apt_get_it_names_what_is_missing_and_exits_1(m: Machine) -> None:
    m.setup(present=("java", "git"), apt=False)
    done = m.dev("up", dry_run=False)
    assert done.returncode == 1
    assert "no apt-get" in done.stderr
    assert "mvn (Apache Maven" in done.stderr
    assert "apt-get install -y maven" in done.stderr  # as root: without sudo
    assert "sudo" not in done.stderr


@pytest.mark.parametrize(("uid", "sudo", "prefix"), [(0, None, ""), (1000, "ok", "sudo -n ")])
def test_it_runs_apt_get_update_once_then_install_noninteractive(m: Machine, uid: int, sudo: str | None,
                                                                 prefix: str) -> None:
    m.setup(present=("mvn", "promtool", "git", *NODE), uid=uid, sudo=sudo)
    done = m.dev("test", dry_run=False)
    # The fake apt-get installs nothing: ./dev notices and stops before the virtualenv.
    assert done.returncode == 1
    assert "still missing after installing openjdk-17-jre-headless: java" in done.stderr
    assert [c for c in m.calls() if not c.startswith((*ALL_TOOLS, "python3", "id"))] == [
        *(["sudo -n true", f"sudo -n {APT} update -qq"] if prefix else []),
        "apt-get update -qq",
        "  DEBIAN_FRONTEND=noninteractive",
        *([f"sudo -n {INSTALL} openjdk-17-jre-headless"] if prefix else []),
        "apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless",
        "  DEBIAN_FRONTEND=noninteractive",
    ]
    assert not m.venv.exists()


def test_a_failed_apt_get_says_what_to_run(m: Machine) -> None:
    m.setup(present=("java", "mvn", "git", *NODE), apt_install_rc=100)
    done = m.dev("test", dry_run=False)
    assert done.returncode == 1
    assert "apt-get failed" in done.stderr
    assert "apt-get update && apt-get install -y prometheus" in done.stderr


def test_no_command_prints_the_usage(m: Machine) -> None:
    m.setup()
    done = m.dev(dry_run=False)
    assert done.returncode == 2
    assert "usage: ./dev up" in done.stderr
    assert m.calls() == []


def test_ci_runs_dev_test_in_a_fresh_virtualenv_and_installs_nothing_itself(m: Machine) -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get" not in ci
    record = m.tmp / "dev-args"
    (m.repo / "dev").write_text(f'#!/bin/sh\necho "$* | $HUB_VENV" >> "{record}"\n', encoding="utf-8")
    env = {"PATH": m.path, "HOME": str(m.tmp), "CI": "true", "TMPDIR": str(m.tmp)}
    for _ in range(2):
        done = subprocess.run([str(m.repo / ".ci" / "run")], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
    runs = record.read_text(encoding="utf-8").splitlines()
    assert len(runs) == 2
    venvs = []
    for run in runs:
        args, venv = run.split(" | ")
        assert args == "test -p no:cacheprovider"
        assert Path(venv).name == "venv" and Path(venv).parent.parent == m.tmp and not Path(venv).exists()
        venvs.append(venv)
    assert venvs[0] != venvs[1]


def test_up_ends_in_the_main_job_with_the_extra_arguments(m: Machine) -> None:
    """`./dev up --json` fetches the broker, then runs `python -m demo --json` from the checkout (demo/ is not
    installed): the virtualenv exists and is up to date, so nothing else runs."""
    m.setup()
    m.fake("sha256sum", "echo 0123456789abcdef0123  pyproject.toml")
    m.fake("cut", "while read -r _; do :; done\necho 0123456789abcdef")  # reads its input: no SIGPIPE upstream
    (m.repo / "pyproject.toml").write_text("", encoding="utf-8")
    (m.venv / "bin").mkdir(parents=True)
    for name in ("python", "interop-hub"):
        script = m.venv / "bin" / name
        script.write_text(f'#!/bin/sh\necho "venv/{name} $*" >> "{m.log}"\n', encoding="utf-8")
        script.chmod(0o755)
    (m.venv / ".installed-0123456789abcdef").touch()
    done = m.dev("up", "--json", dry_run=False)
    assert done.returncode == 0, done.stderr
    assert m.calls()[-2:] == ["venv/interop-hub broker fetch", "venv/python -m demo --json"]


def _ready_venv(m: Machine) -> None:
    """A virtualenv that is up to date (its stamp matches the faked checksum) whose tools only log their calls."""
    m.fake("sha256sum", "echo 0123456789abcdef0123  file")
    m.fake("cut", "while read -r _; do :; done\necho 0123456789abcdef")  # reads its input: no SIGPIPE upstream
    (m.repo / "pyproject.toml").write_text("", encoding="utf-8")
    (m.venv / "bin").mkdir(parents=True)
    for name in ("python", "interop-hub", "ruff", "mypy", "pytest"):
        script = m.venv / "bin" / name
        script.write_text(f'#!/bin/sh\necho "venv/{name} $*" >> "{m.log}"\n', encoding="utf-8")
        script.chmod(0o755)
    (m.venv / ".installed-0123456789abcdef").touch()


def test_dev_test_installs_the_asyncapi_parser_once_per_lock_file_before_pytest(m: Machine) -> None:
    """tests/unit/hub/contract/test_asyncapi_parser.py runs it: `npm ci` (no install scripts) in tools/asyncapi when
    node_modules lacks the stamp of the lock file, and not again while the lock file is the same."""
    m.setup()
    m.fake("npm", f'mkdir -p node_modules && echo "  in ${{PWD##*/}}" >> "{m.log}"')
    _ready_venv(m)
    (m.repo / "tools" / "asyncapi").mkdir(parents=True)
    (m.repo / "tools" / "asyncapi" / "package-lock.json").write_text("{}", encoding="utf-8")
    first = m.dev("test", "-x", dry_run=False)
    assert first.returncode == 0, first.stderr
    calls = [c for c in m.calls() if c.startswith(("npm", "  in", "venv/"))]
    assert calls[:3] == ["venv/interop-hub broker fetch",
                         "npm ci --ignore-scripts --no-audit --no-fund --loglevel=error", "  in asyncapi"]
    assert calls[-1] == "venv/pytest -x"
    assert (m.repo / "tools" / "asyncapi" / "node_modules" / ".installed-0123456789abcdef").is_file()
    m.log.unlink()
    second = m.dev("test", dry_run=False)
    assert second.returncode == 0, second.stderr
    assert not any(c.startswith("npm") for c in m.calls())
    assert m.calls()[-1] == "venv/pytest "
