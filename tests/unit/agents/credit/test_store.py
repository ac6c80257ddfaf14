"""A copy bootstrapped from a snapshot is a replayed copy from its cut on (``agents.credit.store``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agents.credit.joint import JointUnit
from agents.credit.snapshot import BeforeSnapshot
from agents.credit.store import ListStore
from hub.errors import ConfigError, ListDigestMismatch
from support.list_topics import CompactedCurrent
from tests.unit.agents.credit.list_history import CODEC, ListHistory, cut_of
from tests.unit.hub.flows.credit.test_list_rules import ADULT


def _bootstrapped(history: ListHistory, path: Path | str) -> ListStore:
    current = CompactedCurrent()
    for pub in history.pubs:
        current.add(pub)
    cut = cut_of(current.records(), history)
    assert cut.base is not None
    store = ListStore(path, CODEC)
    store.restore(cut.base, cut.raws.items(), cut.state)
    return store


def _history() -> tuple[ListHistory, list[str]]:
    history = ListHistory()
    ids = [history.list() for _ in range(5)]
    history.revoke(ids[0])
    history.correct(ids[1])
    history.revoke(ids[4])  # the last publication is a removal: the cut comes from the history window
    return history, ids


def test_a_bootstrapped_copy_reopens_as_the_replayed_copy_and_continues_after_the_cut(tmp_path: Path) -> None:
    history, ids = _history()
    path = tmp_path / "caac.sqlite"
    store = _bootstrapped(history, path)
    replayed = history.replayed()
    assert store.last_publication_id == replayed.last_publication_id == history.last
    assert store.next_offset == replayed.next_offset == history.last
    assert list(store.export_lines()) == list(replayed.export_lines())
    assert store.digest() == replayed.digest() == store.published_digest()
    store.close()

    history.list()
    history.revoke(ids[2])
    store = ListStore(path, CODEC)
    assert store.digest() == replayed.digest() and store.next_offset == replayed.next_offset
    assert store.apply_batch(history.rows(first=store.last_publication_id + 1)) == 2  # verified, as in a replay
    replayed.apply_batch(history.rows(first=replayed.last_publication_id + 1))
    assert list(store.export_lines()) == list(replayed.export_lines())
    assert store.digest() == replayed.digest() == store.published_digest()
    store.close()
    store = ListStore(path, CODEC)
    assert store.digest() == replayed.digest() and store.last_publication_id == history.last
    store.close()


def test_a_snapshot_copy_answers_from_its_cut_on_and_refuses_the_list_before_it() -> None:
    history, _ = _history()
    store = _bootstrapped(history, ":memory:")
    assert store.lookup(ADULT).listed
    cut_ms = store.state.last_published_at_ms
    assert store.as_of(cut_ms).hexdigest() == store.digest()
    with pytest.raises(BeforeSnapshot):
        store.lookup(ADULT, as_of_ms=cut_ms - 1)


def test_a_copy_that_holds_a_list_is_not_overwritten_by_a_snapshot() -> None:
    history, _ = _history()
    store = history.replayed()
    fresh = _bootstrapped(history, ":memory:")
    assert fresh.base is not None
    with pytest.raises(ConfigError):
        store.restore(fresh.base, [], fresh.state)


def test_a_stored_snapshot_that_no_longer_matches_its_verified_digest_is_refused_on_open(tmp_path: Path) -> None:
    history, _ = _history()
    path = tmp_path / "copy.sqlite"
    _bootstrapped(history, path).close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM base_entries WHERE rowid = (SELECT MIN(rowid) FROM base_entries)")
    db.close()
    with pytest.raises(ListDigestMismatch):
        ListStore(path, CODEC)


def test_a_bootstrapped_unit_restricts_every_listing_in_force_and_lifts_at_deletion() -> None:
    """Tendering notice §4: a unit restricts while listed and stops at the moment of deletion, from a snapshot
    as after a replay."""
    history, ids = _history()
    store = _bootstrapped(history, ":memory:")
    unit = JointUnit("caac", store)
    assert unit.seed(store.state.entries) == store.state.size == 3
    assert not unit.check(ADULT).allowed and unit.check(ADULT).listing_ids == sorted(store.state.entries)
    for lid in ids[1:4]:
        history.revoke(lid)
    unit.apply(history.rows(first=store.last_publication_id + 1))
    assert unit.check(ADULT).allowed and unit.active_count() == 0
    (period, *_rest) = unit.periods(ADULT)
    assert period[2] is not None
