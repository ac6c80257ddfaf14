"""Outstanding and overdue requests by agency and type, kept up to date row by row.

Counting by scanning the ``requests`` table every few seconds costs O(rows): with a million
outstanding requests in RocksDB that is seconds of CPU each time.  :class:`RequestCounts` is built
by one scan after the table is recovered (:meth:`rebuild`, synchronous, so no write slips between
the scan and the first update) and then moved by each written row's old and new state
(:meth:`observe`, called for every write to ``requests``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hub.lifecycle import OPEN, RequestRow, State

Key = tuple[str, str]  # (agency, message type)


class RequestCounts:
    def __init__(self) -> None:
        self.outstanding: Counter[Key] = Counter()
        self.overdue: Counter[Key] = Counter()
        #: agency -> (partition, court, message type) -> open requests: who waits on an agency (anomaly notices)
        self.waiting: dict[str, Counter[tuple[int, str, str]]] = {}
        self.built = False

    def _add(self, row: RequestRow | None, sign: int) -> None:
        if row is None or row.state not in OPEN:
            return
        key = (row.agency, row.message_type)
        self.outstanding[key] += sign
        self.waiting.setdefault(key[0], Counter())[(row.partition, row.court, key[1])] += sign
        if row.state is State.OVERDUE:
            self.overdue[key] += sign

    def courts_waiting_on(self, agency: str, partition: int) -> list[tuple[str, str, int]]:
        """(court, message type, requests) outstanding to ``agency`` in hub partition ``partition``."""
        return sorted((court, type_, n) for (p, court, type_), n in (self.waiting.get(agency) or Counter()).items()
                      if p == partition and n > 0)

    def rebuild(self, rows: Iterable[RequestRow]) -> None:
        self.outstanding.clear()
        self.overdue.clear()
        self.waiting.clear()
        for row in rows:
            self._add(row, 1)
        self.built = True

    def observe(self, row: RequestRow, old: RequestRow | None) -> None:
        """A row was written (``old``: the row it replaced); ignored until the first rebuild."""
        if not self.built or (old is not None and old.state is row.state):
            return
        self._add(old, -1)
        self._add(row, 1)

    def nonzero(self, counter: Counter[Key]) -> dict[Key, int]:
        return {k: n for k, n in counter.items() if n}
