"""Finding the cut's publication in the history without reading up to it (``agents.credit.bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from agents.credit.bootstrap import HistoryProbe
from agents.credit.snapshot import SnapshotUnverified
from tests.unit.agents.credit.list_history import CODEC, ListHistory


@dataclass(frozen=True)
class _Record:
    offset: int
    value: bytes


class _History:
    """The consumer calls a probe makes, over records at the given offsets (one per publication, in order)."""

    def __init__(self, offsets: list[int], raws: list[bytes]) -> None:
        self.records = [_Record(o, r) for o, r in zip(offsets, raws, strict=True)]
        self.position = 0
        self.fetches = 0

    def assign(self, tps: list[Any]) -> None:
        pass

    def seek(self, tp: Any, offset: int) -> None:
        self.position = offset

    async def beginning_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tps[0]: self.records[0].offset if self.records else 0}

    async def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tps[0]: self.records[-1].offset + 1 if self.records else 0}

    async def getmany(self, tp: Any, timeout_ms: int, max_records: int) -> dict[Any, list[_Record]]:
        self.fetches += 1
        out = [r for r in self.records if r.offset >= self.position][:max_records]
        if out:
            self.position = out[-1].offset + 1
        return {tp: out}


def _probe(offsets: list[int], publications: int = 40) -> tuple[HistoryProbe, _History]:
    history = ListHistory()
    for _ in range(publications):
        history.list()
    fake = _History(offsets, [p.history for p in history.pubs])
    return HistoryProbe(fake, "credit.list.history", CODEC), fake  # type: ignore[arg-type]


async def test_the_newest_publication_is_the_last_record_in_one_probe() -> None:
    probe, _ = _probe(list(range(40)))
    assert await probe.offset_of(40, settle_s=0) == 39 and probe.probes == 1


async def test_a_publication_is_one_probe_away_when_offsets_are_publication_ids_minus_one() -> None:
    probe, _ = _probe(list(range(40)))
    assert await probe.offset_of(17, settle_s=0) == 16 and probe.probes == 2


async def test_a_publication_is_found_by_bisection_when_offsets_are_not_publication_ids() -> None:
    probe, _ = _probe([100 + 3 * i for i in range(40)])  # e.g. a topic that began later, with markers between
    for pub in (1, 2, 17, 39):
        assert await probe.offset_of(pub, settle_s=0) == 100 + 3 * (pub - 1)
    assert probe.probes < 4 * 10


async def test_a_publication_the_history_has_not_reached_is_refused_after_the_settle_time() -> None:
    probe, _ = _probe(list(range(40)))
    with pytest.raises(SnapshotUnverified):
        await probe.offset_of(41, settle_s=0.3)
