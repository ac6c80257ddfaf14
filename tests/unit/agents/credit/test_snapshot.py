"""The consistent cut of a copy bootstrapped from the compacted current list (``agents.credit.snapshot``).

Every copy must be the list at one publication, proven by the digest the hub published with it (失信规定
art. 9-10 and the tendering notice §4 bind a unit to the published list and its changes); listings
are added and removed around the cut.
"""

from __future__ import annotations

import pytest

from agents.credit.snapshot import ConsistentCut
from hub.errors import InternalError
from hub.flows.credit.list_state import EMPTY_DIGEST, PublicationOrderError, list_digest
from support.list_topics import CompactedCurrent, Record
from tests.unit.agents.credit.list_history import CODEC, ListHistory, cut_of


def _compacted(history: ListHistory, *, upto: int | None = None, **options: int | bool) -> list[Record]:
    current = CompactedCurrent(**options)  # type: ignore[arg-type]
    for pub in history.pubs[:upto]:
        current.add(pub)
    return current.records()


def _history(listings: int = 6) -> tuple[ListHistory, list[str]]:
    history = ListHistory()
    ids = [history.list() for _ in range(listings)]
    history.revoke(ids[1])
    history.correct(ids[2])
    history.revoke(ids[4])
    ids.append(history.list())
    return history, ids


def test_the_compacted_list_is_verified_at_its_newest_publication() -> None:
    history, _ = _history()
    cut = cut_of(_compacted(history), history)
    assert cut.base is not None and cut.base.publication_id == cut.newest == history.last
    assert cut.window == 0
    assert cut.state.entries == history.lists[-1] == history.replayed().state.entries
    assert cut.base.digest == cut.state.hexdigest() == history.replayed().digest()
    assert cut.base.next_offset == history.last  # offset of publication P is P - 1
    assert {CODEC.decode(raw).schema.rsplit(".", 1)[1] for raw in cut.raws.values()} == {"ListEntry"}


@pytest.mark.parametrize("keep_tombstones", [False, True])
def test_removals_after_the_newest_value_carry_no_publication_id_so_the_history_replays_them(
        keep_tombstones: bool) -> None:
    history, ids = _history()
    for lid in (ids[5], ids[0], ids[3]):
        history.revoke(lid)
    cut = cut_of(_compacted(history, keep_tombstones=keep_tombstones), history)
    # the newest value is the last listing's: M says nothing of the three removals after it
    assert cut.newest == history.last - 3
    assert cut.base is not None and cut.base.publication_id == history.last and cut.window == 3
    assert cut.state.entries == history.lists[-1]
    assert cut.state.last_publication_id == history.last


def test_a_tombstone_already_read_does_not_pass_for_the_list_at_the_newest_value() -> None:
    """With the tombstones still there the snapshot is *ahead* of M: the list at M had those listings."""
    history, ids = _history()
    history.revoke(ids[0])
    cut = ConsistentCut()
    for key, value in _compacted(history, keep_tombstones=True):
        cut.current(key.decode(), value, CODEC.decode(value).body if value is not None else None)
    cut.start(0)
    assert cut.newest == history.last - 1
    assert cut.state.hexdigest() != list_digest(history.lists[cut.newest].values())
    assert cut.state.hexdigest() == list_digest(history.lists[-1].values())


def test_a_listing_compacted_away_for_a_record_written_after_the_read_comes_back_from_the_history() -> None:
    history = ListHistory()
    a, _b, _c = history.list(), history.list(), history.list()
    history.correct(a)  # publication 4: supersedes a's record of publication 1
    history.list()  # publication 5
    # the reader stopped at the end offset it saw (publication 3's record); the cleaner had seen 5
    read = [(key, value) for key, value in _compacted(history)
            if value is not None and CODEC.decode(value).body["last_publication_id"] <= 3]
    cut = cut_of(read, history)
    assert cut.newest == 3
    assert cut.base is not None and cut.base.publication_id == 4 and cut.window == 1
    assert cut.state.entries == history.lists[4]
    assert CODEC.decode(cut.raws[a]).schema.endswith("ListEvent")  # a's entry came from the history


def test_a_current_list_that_lost_an_update_is_never_verified() -> None:
    history = ListHistory()
    a = history.list()
    history.list()
    history.correct(a)  # publication 3: its ListEntry never reached the current list
    history.list()
    history.list()
    current = CompactedCurrent()
    for pub in history.pubs:
        if pub.publication_id != 3:
            current.add(pub)
    cut = cut_of(current.records(), history)
    assert cut.newest == history.last and cut.base is None  # every publication offered, none matches


def test_a_gap_in_the_history_is_refused() -> None:
    history, ids = _history()
    history.revoke(ids[0])
    history.revoke(ids[3])
    with pytest.raises(PublicationOrderError):
        cut_of(_compacted(history), history, skip=frozenset({history.last - 1}))


def test_a_current_list_without_values_is_the_empty_list_at_publication_zero() -> None:
    history = ListHistory()
    a = history.list()
    history.revoke(a)
    cut = cut_of(_compacted(history), history)
    assert cut.base is not None and cut.base.publication_id == 0 and cut.base.next_offset == 0
    assert cut.base.digest == EMPTY_DIGEST and cut.records == 0
    empty = cut_of([], ListHistory())
    assert empty.base is not None and empty.base.publication_id == 0


def test_a_snapshot_read_while_the_hub_publishes_is_cut_at_the_newest_publication_read() -> None:
    history, ids = _history()
    history.correct(ids[0])
    history.revoke(ids[3])
    history.list()
    # the last three publications are still in the uncleaned active segment, superseded values included
    cut = cut_of(_compacted(history, dirty_tail=3, keep_tombstones=True), history)
    assert cut.base is not None and cut.base.publication_id == history.last
    assert cut.state.entries == history.lists[-1]


def test_the_current_list_is_read_once_and_before_the_history() -> None:
    history, _ = _history()
    cut = ConsistentCut()
    pub = history.pubs[0]
    with pytest.raises(InternalError):
        cut.history(0, pub.history, CODEC.decode(pub.history).body)
    cut.start(0)
    with pytest.raises(InternalError):
        cut.current("L1", None, None)
