"""A new unit's copy of the list: bootstrapped from the compacted current list vs a full replay of the history.

N listings in force, from a history made by the hub's own sequencer with the replay bench's mix (4 in 5
publications list a new subject, 1 in 5 revokes a listing in force; every digest real), so about N / 0.6
publications on ``credit.list.history``.  ``credit.list.current`` holds what the log cleaner leaves: one
``ListEntry`` per listing in force, then the uncleaned active segment — every record of the last ~1 % of
publications as the publisher wrote them (superseded values, removed values, tombstones).  Both topics are
written straight with aiokafka (:mod:`support.list_topics`).

In the same run, each into a fresh in-memory :class:`~agents.credit.store.ListStore`:
:func:`agents.credit.bootstrap.bootstrap` (read the current list, decode, hash every entry, find the cut's
publication in the history, check the digest, store) and :func:`agents.credit.replay.replay` of the whole
history (decode, apply and check the digest of every publication, store).  Both copies must end with the
list the generator made.
"""

from __future__ import annotations

import functools
import gc
import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.court.adapter import document, person
from agents.credit.bootstrap import BootstrapResult, bootstrap
from agents.credit.replay import ReplayResult, replay
from agents.credit.store import ListStore
from bench.env import BenchEnv, apply_topics
from bench.replay_bench import CASE, CASE_NO, COURT, DAY
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.domain import parse_resident_id
from hub.flows.credit.sequencer import Sequencer
from support.list_topics import CompactedCurrent, Publication, publication, write_records
from topics.catalog import Role

REVOKE_SHARE = 0.2
#: publications still in the current list's active segment (never cleaned), as a share of the history
DIRTY_SHARE = 0.01


@functools.cache
def _subject(k: int) -> tuple[str, int]:
    """Resident ID and age of subject ``k`` (0-999), as the replay bench makes them."""
    from stdnum.cn import ric

    base = f"110105{1960 + k % 40}0101{k:03d}"
    rid = base + str(ric.calc_check_digit(base + "?"))
    return rid, parse_resident_id(rid).age_on(DAY)


def listing(lid: str, i: int, decided: datetime) -> dict[str, Any]:
    """The replay bench's LIST decision (:func:`bench.replay_bench.list_events`), its subjects computed once."""
    rid, age = _subject(i % 1000)
    content = {
        "subject": {**person(f"被执行人{i}", rid), "gender": "MALE"}, "age": age, "obligation": "支付货款100000元",
        "performance": "全部未履行", "outstanding": None, "dishonest_behaviour": "有履行能力而拒不履行",
        "enforcement_basis_issuer": "朝阳法院", "enforcement_basis_number": "(2023)京0105民初1号", "case": CASE,
        "other_matters": None,
    }
    return {
        "listing_id": lid, "action": "LIST", "ground": "OBSTRUCTING_EXECUTION", "art3_circumstance": "NONE",
        "content": content, "decision_document": document("LISTING_DECISION", "决定书"), "term_start": DAY,
        "term_end": None, "extension_years": None, "deletion_ground": None, "reason": None,
        "requested_by_creditor": False, "officer": None, "decided_at": decided,
    }


@dataclass(frozen=True)
class ListMade:
    """What the generator published: the list at the end, for checking each copy."""

    publications: int
    listings: int
    digest: str


class HistoryMaker:
    """Publications of the hub's sequencer until ``listings`` are in force."""

    def __init__(self, listings: int, seed: int = 7) -> None:
        self.listings, self.seed = listings, seed
        self.made: ListMade | None = None

    def publications(self) -> Iterator[Publication]:
        rng = random.Random(self.seed)  # noqa: S311 - synthetic data
        seq, live = Sequencer(), list[str]()
        codec = default_codec()
        clock = ManualClock(datetime(2025, 1, 2, 2, tzinfo=UTC))
        decided = datetime(2025, 1, 2, 2, tzinfo=UTC)
        ids = itertools.count(1)
        i = 0
        while seq.state.size < self.listings:
            body: dict[str, Any]
            if live and rng.random() < REVOKE_SHARE:
                j = rng.randrange(len(live))
                live[j], live[-1] = live[-1], live[j]
                body = {"listing_id": live.pop(), "action": "REVOKE", "reason": "不应纳入", "deletion_ground": None,
                        "decided_at": decided}
            else:
                lid = f"L{next(ids)}"
                body = listing(lid, i, decided)
                live.append(lid)
            now_ms = int((decided + timedelta(milliseconds=i)).timestamp() * 1000)
            event = seq.decide(body, request_id=f"r-{i}", sender=COURT, key=CASE_NO, now_ms=now_ms)
            if event is None:
                raise RuntimeError(f"decision {i} published nothing")
            yield publication(codec, clock, event)
            i += 1
        self.made = ListMade(seq.state.last_publication_id, seq.state.size, seq.state.hexdigest())


class ListBootstrap:
    def __init__(self, env: BenchEnv, listings: int) -> None:
        self.env, self.listings = env, listings
        self.settings = env.fresh("bootstrap")
        self.made: ListMade | None = None
        self.current_records = 0
        self.prepare_s = 0.0

    async def prepare(self) -> None:
        started = time.monotonic()
        await apply_topics(self.settings)
        maker = HistoryMaker(self.listings)
        current = CompactedCurrent(dirty_tail=max(1, int(self.listings / (1 - 2 * REVOKE_SHARE) * DIRTY_SHARE)))

        def history() -> Iterator[tuple[bytes, bytes | None]]:
            for pub in maker.publications():
                current.add(pub)
                yield pub.listing_id.encode(), pub.history

        gc.disable()  # millions of kept containers (see agents.credit.replay.collector_paused)
        try:
            await write_records(self.settings, Role.LIST_HISTORY, history())
            self.current_records = await write_records(self.settings, Role.LIST_CURRENT, current.records())
        finally:
            gc.enable()
        self.made = maker.made
        self.prepare_s = time.monotonic() - started

    def _check(self, store: ListStore, what: str) -> None:
        made = self.made
        if made is None or (store.last_publication_id, store.state.size, store.digest()) != (
                made.publications, made.listings, made.digest):
            raise RuntimeError(f"{what}: publication {store.last_publication_id}, {store.state.size} listings, "
                               f"digest {store.digest()}; the generator made {made}")

    async def bootstrap_once(self) -> BootstrapResult:
        store = ListStore(":memory:")
        try:
            result = await bootstrap(self.settings, store, progress=False)
            self._check(store, "bootstrap")
        finally:
            store.close()
            del store
            gc.collect()
        return result

    async def replay_once(self) -> ReplayResult:
        store = ListStore(":memory:")
        try:
            result = await replay(self.settings, store, progress=False)
            self._check(store, "replay")
        finally:
            store.close()
            del store
            gc.collect()
        return result
