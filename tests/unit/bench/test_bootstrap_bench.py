"""The list bootstrap benchmark's data: a real history and the current list compaction would leave of it."""

from __future__ import annotations

from agents.credit.snapshot import ConsistentCut
from bench.bootstrap_bench import HistoryMaker
from hub.codec import default_codec
from support.list_topics import CompactedCurrent

CODEC = default_codec()


def test_the_generated_history_ends_with_the_listings_asked_for_and_its_current_list_is_verified() -> None:
    maker = HistoryMaker(300)
    current = CompactedCurrent(dirty_tail=5)
    pubs = list(maker.publications())
    for pub in pubs:
        current.add(pub)
    made = maker.made
    assert made is not None and made.listings == 300 and made.publications == len(pubs) > 300
    records = current.records()
    values = [v for _, v in records if v is not None]
    assert len({k for k, _ in records}) <= len(records) <= 300 + 2 * 5  # one per listing + the dirty tail
    cut = ConsistentCut()
    for key, value in records:
        cut.current(key.decode(), value, CODEC.decode(value).body if value is not None else None)
    assert cut.start(0) is None and cut.newest == made.publications and values
    last = pubs[-1]
    base = cut.history(last.publication_id - 1, last.history, CODEC.decode(last.history).body)
    assert base is not None and (base.publication_id, base.size, base.digest) == (
        made.publications, made.listings, made.digest)
