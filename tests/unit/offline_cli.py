"""Run a CLI (``interop-hub``, ``interop-agency``) as a subprocess with nothing listening: every port free, a temp
data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]


def run_offline(tmp_path: Path, *args: str, program: str = "hub", **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m <program> *args`` against unused ports; ``env`` adds or overrides ``HUB_*`` variables."""
    kafka, controller, web = free_ports(3)
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    base.update(
        PYTHONPATH=str(ROOT), HUB_DATA_DIR=str(tmp_path / "data"), HUB_BOOTSTRAP_SERVERS=f"127.0.0.1:{kafka}",
        HUB_CONTROLLER_PORT=str(controller), HUB_WEB_PORT=str(web), HUB_EVENT_LOOP="asyncio",
    )
    base.update(env)
    return subprocess.run([sys.executable, "-m", program, *args], cwd=ROOT, env=base, capture_output=True,
                          text=True, timeout=120, check=False)
