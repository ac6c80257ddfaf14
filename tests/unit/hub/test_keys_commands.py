"""``interop-hub keys generate|rotate|list``: a rotation gives the agency a new key id and keeps the old one as
retired (000 §8); the hub's key, every party's trust anchor, is not rotated by the command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.offline_cli import run_offline


def test_rotate_retires_the_old_key_and_keeps_it_listed(tmp_path: Path) -> None:
    assert run_offline(tmp_path, "keys", "generate").returncode == 0
    before = json.loads(run_offline(tmp_path, "keys", "list", "--agency", "icbc", "--json").stdout)
    rotated = run_offline(tmp_path, "keys", "rotate", "--agency", "icbc")
    assert rotated.returncode == 0, rotated.stderr
    after = json.loads(run_offline(tmp_path, "keys", "list", "--agency", "icbc", "--json").stdout)
    assert [k["status"] for k in before] == ["ACTIVE"]
    assert (after[0]["key_id"], after[0]["status"]) == (before[0]["key_id"], "RETIRED")
    assert after[1]["status"] == "ACTIVE" and after[0]["valid_until"] == after[1]["valid_from"]
    assert after[1]["key_id"] in rotated.stdout


def test_the_hubs_key_and_unknown_agencies_are_not_rotated(tmp_path: Path) -> None:
    assert run_offline(tmp_path, "keys", "generate").returncode == 0
    hub = run_offline(tmp_path, "keys", "rotate", "--agency", "hub")
    assert hub.returncode == 2 and "trust anchor" in hub.stderr
    unknown = run_offline(tmp_path, "keys", "rotate", "--agency", "nobank")
    assert unknown.returncode == 2 and "no registered key" in unknown.stderr
