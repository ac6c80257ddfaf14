"""The anomaly book's rows: what the next owner of partition 0 loads (hub.anomaly_rows)."""

from __future__ import annotations

from hub.anomaly import AnomalyBook, OutboxLag
from hub.anomaly_rows import book_rows, health_key, load_book


def test_the_outbox_partitions_reported_behind_survive_a_round_trip_through_the_rows() -> None:
    book = AnomalyBook()
    book.heartbeat("icbc", "UP", 5000, now_ms=1, wall_ms=1000)
    book.outbox_read("icbc", 3, read_ms=2000, behind=40_000, wall_ms=9000)
    book.outbox_read("icbc", 11, read_ms=1500, behind=7, wall_ms=9100)
    rows = book_rows(book)
    again = load_book(rows)
    assert book_rows(again) == rows
    assert again.health["icbc"].lagging == {3: OutboxLag(2000, 40_000, 9000), 11: OutboxLag(1500, 7, 9100)}


def test_a_health_row_written_before_lagging_was_kept_still_loads() -> None:
    book = AnomalyBook()
    book.heartbeat("icbc", "UP", 5000, now_ms=1, wall_ms=1000)
    rows = book_rows(book)
    old_row = {k: v for k, v in rows[health_key("icbc")].items() if k != "lagging"}
    again = load_book({**rows, health_key("icbc"): old_row})
    assert again.health["icbc"].lagging == {} and again.health["icbc"].last_heartbeat_ms == 1000
