"""Files on disk are owner-only: the data-dir walk fixes what is group/other-accessible and logs counts only."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hub.file_modes import PRIVATE_UMASK, ModeFixes, make_private, private_mode, restrict_umask

RESIDENT_ID = "11010519900307001X"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _data_dir(root: Path) -> dict[str, Path]:
    """A data dir as a default umask (022) leaves it: dirs 0755, segments 0644."""
    paths = {
        "data": root / "data",
        "logs": root / "data" / "kafka-logs",
        "partition": root / "data" / "kafka-logs" / "court.requests-0",
        "segment": root / "data" / "kafka-logs" / "court.requests-0" / "00000000000000000000.log",
        "table": root / "data" / "faust" / "interop-hub" / "v1" / "tables" / "requests-0.db" / "000001.sst",
        "key": root / "data" / "keys" / "icbc.pem",
        "script": root / "data" / "tools" / "run.sh",
        "outside": root / "outside.txt",
        "link": root / "data" / "link-to-outside",
    }
    for key in ("partition",):
        paths[key].mkdir(parents=True)
    for key in ("table", "key", "script"):
        paths[key].parent.mkdir(parents=True, exist_ok=True)
    for d in (paths["data"], paths["logs"], paths["partition"], paths["table"].parent, paths["key"].parent,
              paths["script"].parent, *paths["table"].parents[:4]):
        d.chmod(0o755)
    paths["segment"].write_text(f"record with {RESIDENT_ID}", encoding="utf-8")
    paths["segment"].chmod(0o644)
    paths["table"].write_bytes(b"sst")
    paths["table"].chmod(0o640)
    paths["key"].write_text("private key", encoding="utf-8")
    paths["key"].chmod(0o600)  # already private: untouched
    paths["script"].write_text("#!/bin/sh\n", encoding="utf-8")
    paths["script"].chmod(0o755)
    paths["outside"].write_text("not ours to change", encoding="utf-8")
    paths["outside"].chmod(0o644)
    paths["link"].symlink_to(paths["outside"])
    return paths


def test_private_mode_is_0700_for_dirs_and_0600_for_files() -> None:
    assert private_mode(stat.S_IFDIR | 0o755) == 0o700
    assert private_mode(stat.S_IFREG | 0o644) == 0o600
    assert private_mode(stat.S_IFREG | 0o444) == 0o600
    assert private_mode(stat.S_IFREG | 0o755) == 0o700, "the owner's execute bit is kept"


def test_the_data_dir_walk_makes_everything_owner_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = _data_dir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="hub.file_modes"):
        fixes = make_private(p["data"])
    for path in Path(p["data"]).rglob("*"):
        if not path.is_symlink():
            assert not _mode(path) & 0o077, f"{path} is still group/other-accessible"
    assert _mode(p["data"]) == 0o700 and _mode(p["logs"]) == 0o700 and _mode(p["partition"]) == 0o700
    assert _mode(p["segment"]) == 0o600 and _mode(p["table"]) == 0o600 and _mode(p["key"]) == 0o600
    assert _mode(p["script"]) == 0o700
    assert _mode(p["outside"]) == 0o644, "a symbolic link is not followed"
    dirs = 1 + sum(1 for path in p["data"].rglob("*") if path.is_dir() and not path.is_symlink())
    assert fixes == ModeFixes(dirs=dirs, files=3, failed=0)
    # what was fixed is logged as counts: no file contents, no file names
    assert f"made {dirs} directories and 3 files owner-only" in caplog.text
    assert RESIDENT_ID not in caplog.text and "00000000000000000000.log" not in caplog.text


def test_a_second_walk_finds_nothing_to_fix_and_logs_nothing(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    p = _data_dir(tmp_path)
    make_private(p["data"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hub.file_modes"):
        assert make_private(p["data"]) == ModeFixes()
    assert not caplog.records
    assert make_private(tmp_path / "missing") == ModeFixes()


def test_restrict_umask_makes_new_files_and_dirs_owner_only(tmp_path: Path) -> None:
    previous = restrict_umask()
    try:
        (tmp_path / "new-dir").mkdir()
        (tmp_path / "new-file").write_text("x", encoding="utf-8")
        assert os.umask(0o077) & PRIVATE_UMASK == PRIVATE_UMASK
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "new-dir") == 0o700 and _mode(tmp_path / "new-file") == 0o600


def test_every_hub_process_runs_with_the_private_umask(tmp_path: Path) -> None:
    """``hub.cli.run`` sets it, so a worker, a simulator or the broker JVM started by one inherit it."""
    probe = (
        "import os, sys\nfrom hub import cli\nfrom hub.broker import commands\n"
        "def show(args, settings):\n    print(oct(os.umask(0)))\n    return 0\n"
        "commands._status = show\nsys.exit(cli.main(['broker', 'status']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(tmp_path), HUB_EVENT_LOOP="asyncio",
               PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip(), 8) & 0o077 == 0o077
