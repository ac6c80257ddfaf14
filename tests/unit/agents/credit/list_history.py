"""A small list history made by the hub's own sequencer, with the records its publisher writes (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents.credit.snapshot import ConsistentCut
from agents.credit.store import ListStore
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.flows.credit.list_state import Entry
from hub.flows.credit.sequencer import Sequencer
from support.list_topics import Publication, Record, publication
from tests.unit.hub.flows.credit.test_list_rules import content, decision, publish

CODEC = default_codec()
CLOCK = ManualClock(datetime(2025, 1, 2, 1, tzinfo=UTC))


class ListHistory:
    """Publications in order (history offset = publication id - 1) and the list after each."""

    def __init__(self) -> None:
        self.seq = Sequencer()
        self.pubs: list[Publication] = []
        self.lists: list[dict[str, Entry]] = [{}]  # the list after publication i (0: before any)

    def _add(self, event: dict[str, Any]) -> Publication:
        pub = publication(CODEC, CLOCK, event)
        self.pubs.append(pub)
        self.lists.append(dict(self.seq.state.entries))
        return pub

    def list(self) -> str:
        return self._add(publish(self.seq, decision())).listing_id

    def correct(self, listing_id: str, performance: str = "部分履行") -> None:
        self._add(publish(self.seq, decision("CORRECT", listing_id, content=content(performance=performance))))

    def revoke(self, listing_id: str) -> None:
        self._add(publish(self.seq, decision("REVOKE", listing_id, reason="不应纳入")))

    @property
    def last(self) -> int:
        return len(self.pubs)

    def rows(self, first: int = 1, last: int | None = None) -> list[tuple[int, bytes, dict[str, Any]]]:
        """(offset, raw, body) of publications ``first`` .. ``last`` as a store applies them."""
        return [(p.publication_id - 1, p.history, CODEC.decode(p.history).body)
                for p in self.pubs[first - 1:last]]

    def replayed(self) -> ListStore:
        """A copy replayed from the whole history."""
        store = ListStore(":memory:", CODEC)
        store.apply_batch(self.rows())
        return store


def cut_of(current: list[Record], history: ListHistory, *, until: int | None = None,
           skip: frozenset[int] = frozenset()) -> ConsistentCut:
    """The cut as :func:`agents.credit.bootstrap.bootstrap` makes it: the current list, then the history from
    publication ``M`` (up to ``until``; publications in ``skip`` missing, a gap)."""
    cut = ConsistentCut()
    for key, value in current:
        cut.current(key.decode(), value, CODEC.decode(value).body if value is not None else None)
    if cut.start(0) is not None:
        return cut
    for pub in history.pubs[max(cut.newest - 1, 0):until]:
        if pub.publication_id in skip:
            continue
        if cut.history(pub.publication_id - 1, pub.history, CODEC.decode(pub.history).body) is not None:
            break
    return cut
