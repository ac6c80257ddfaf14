"""A joint-punishment unit bootstrapped from ``credit.list.current`` holds the replayed list and follows on.

On the session's broker, under a fresh topic prefix each: the history and the current list are written
the way the hub's publisher writes them (:mod:`support.list_topics`; no worker needed).  The current list
is written as published (superseded values, removed values and tombstones still there, as in the active
segment) or as the log cleaner leaves it (one value per listing in force).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from agents.credit.bootstrap import bootstrap, follow
from agents.credit.joint import JointUnit
from agents.credit.replay import replay
from agents.credit.snapshot import SnapshotUnverified
from agents.credit.store import ListStore
from hub.process import settings_env
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from support.list_topics import CompactedCurrent, Publication, write_current, write_history, write_records
from tests.unit.agents.credit.list_history import CODEC, ListHistory
from tests.unit.hub.flows.credit.test_list_rules import ADULT
from topics.catalog import Role

ROOT = Path(__file__).resolve().parents[2]


async def _list_topics(settings: HubSettings) -> HubSettings:
    """``settings`` under a fresh prefix holding only the list's two topics (as the catalog defines them)."""
    fresh = settings.model_copy(update={"topic_prefix": f"t{secrets.token_hex(4)}."})
    catalog = fresh.catalog
    only = dataclasses.replace(catalog, topics=tuple(t for t in catalog.topics
                                                     if t.role in (Role.LIST_HISTORY, Role.LIST_CURRENT)))
    await apply_catalog(only, fresh)
    return fresh


def _history(listings: int = 120) -> tuple[ListHistory, list[str]]:
    history = ListHistory()
    ids = [history.list() for _ in range(listings)]
    for i, lid in enumerate(ids):
        if i % 3 == 0:
            history.revoke(lid)
        elif i % 7 == 0:
            history.correct(lid)
    history.revoke(ids[-1])  # the list's history ends with removals: nothing in the current list says so
    history.revoke(ids[-2])
    return history, ids


def _compacted(pubs: list[Publication]) -> list[tuple[bytes, bytes | None]]:
    current = CompactedCurrent()
    for pub in pubs:
        current.add(pub)
    return current.records()


@pytest.mark.parametrize("compacted", [False, True], ids=["as-written", "compacted"])
async def test_a_bootstrapped_unit_holds_the_replayed_list_and_follows_new_publications(
        broker_settings: HubSettings, tmp_path: Path, compacted: bool) -> None:
    settings = await _list_topics(broker_settings)
    history, ids = _history()
    await write_history(settings, history.pubs)
    if compacted:
        await write_records(settings, Role.LIST_CURRENT, _compacted(history.pubs))
    else:
        await write_current(settings, history.pubs)

    unit = ListStore(tmp_path / "caac.sqlite", CODEC)
    result = await bootstrap(settings, unit, progress=False, settle_s=2.0)
    full = ListStore(tmp_path / "replayed.sqlite", CODEC)
    replayed = await replay(settings, full, progress=False)
    assert result.base.publication_id == replayed.last_publication_id == history.last
    # as written, the removed values still name their publication; compacted, the removals after the newest
    # surviving value come from the history window
    assert result.window == history.last - result.newest
    assert (result.newest < history.last) if compacted else (result.newest == history.last)
    assert unit.digest() == full.digest() == replayed.published_digest == result.base.digest
    assert list(unit.export_lines()) == list(full.export_lines())
    assert unit.next_offset == full.next_offset

    # the hub publishes on: the unit follows from P + 1, each publication verified
    more = [history.list(), history.list()]
    history.revoke(more[0])
    history.correct(ids[1])
    new = history.pubs[-4:]
    stop = asyncio.Event()
    following = asyncio.create_task(follow(settings, unit.next_offset, unit.apply_batch, stop=stop))
    await write_history(settings, new)
    await write_current(settings, new)
    for _ in range(100):
        if unit.last_publication_id == history.last:
            break
        await asyncio.sleep(0.1)
    stop.set()
    assert await following == 4
    await replay(settings, full, progress=False)
    assert unit.last_publication_id == full.last_publication_id == history.last
    assert unit.digest() == full.digest() and list(unit.export_lines()) == list(full.export_lines())
    unit.close()
    reopened = ListStore(tmp_path / "caac.sqlite", CODEC)
    assert reopened.digest() == full.digest() and reopened.next_offset == full.next_offset
    reopened.close()
    full.close()


async def test_a_current_list_missing_an_update_is_refused_not_trusted(broker_settings: HubSettings) -> None:
    settings = await _list_topics(broker_settings)
    history = ListHistory()
    a = history.list()
    history.list()
    history.correct(a)  # its ListEntry is lost: the current list keeps a's first record
    history.list()
    await write_history(settings, history.pubs)
    await write_records(settings, Role.LIST_CURRENT, _compacted([p for p in history.pubs if p.publication_id != 3]))
    store = ListStore(":memory:", CODEC)
    with pytest.raises(SnapshotUnverified):
        await bootstrap(settings, store, progress=False, settle_s=0.5)
    assert store.last_publication_id == 0 and store.base is None  # nothing unverified was kept
    store.close()


def _cli(settings: HubSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agents", "credit", "bootstrap", *args], cwd=ROOT,
                          env={**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120, check=False)


async def test_the_bootstrap_command_makes_a_restricting_unit_or_falls_back_to_a_replay(
        broker_settings: HubSettings, tmp_path: Path) -> None:
    settings = await _list_topics(broker_settings)
    history, _ = _history(30)
    await write_history(settings, history.pubs)
    await write_current(settings, history.pubs)
    path = tmp_path / "caac.sqlite"
    done = _cli(settings, "--consumer", "caac", "--store", str(path), "--quiet")
    assert done.returncode == 0, done.stderr
    assert f"cut at publication {history.last}" in done.stdout and "restrictions of caac" in done.stdout
    store = ListStore(path, CODEC)
    assert store.digest() == history.replayed().digest()
    assert not JointUnit("caac", store).check(ADULT).allowed
    store.close()
    again = _cli(settings, "--consumer", "caac", "--store", str(path), "--quiet")
    assert again.returncode == 2 and "--wipe" in again.stderr  # a copy is never overwritten silently

    broken = await _list_topics(broker_settings)
    await write_history(broken, history.pubs)
    lost = next(p.publication_id for p in history.pubs if CODEC.decode(p.history).body["action"] == "CORRECT")
    await write_records(broken, Role.LIST_CURRENT,  # the hub lost that correction's ListEntry
                        _compacted([p for p in history.pubs if p.publication_id != lost]))
    refused = _cli(broken, "--consumer", "caac", "--store", str(tmp_path / "b.sqlite"), "--settle-seconds", "0.5")
    assert refused.returncode == 1 and "snapshot_unverified" in refused.stderr
    fallback = _cli(broken, "--consumer", "caac", "--store", str(tmp_path / "b.sqlite"), "--settle-seconds", "0.5",
                    "--fallback-replay", "--wipe")
    assert fallback.returncode == 0, fallback.stderr
    assert "replaying the whole history instead" in fallback.stdout
    store = ListStore(tmp_path / "b.sqlite", CODEC)
    assert store.digest() == history.replayed().digest() and store.last_publication_id == history.last
    assert not JointUnit("caac", store).check(ADULT).allowed
    store.close()
