"""How long input records waited for the worker, and how far it has read each partition (hub.input_progress)."""

from __future__ import annotations

from hub.deadletter import RawRecord
from hub.input_progress import InputProgress


def record(offset: int, appended_ms: int | None, topic: str = "agency.icbc.outbox", partition: int = 0) -> RawRecord:
    return RawRecord(topic, partition, offset, b"k", b"v", (), appended_ms)


class Wall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_a_record_waited_from_its_append_to_its_handling() -> None:
    wall = Wall(10_000)
    progress = InputProgress(clock_ms=wall)
    assert progress.read(record(0, 9_700)) == 300
    assert progress.read(record(1, None)) is None, "no append time: no wait measured"
    assert progress.read(record(2, 10_500)) == 0, "a clock behind the broker's never makes a negative wait"


def test_the_recent_wait_is_a_quantile_of_the_last_window_only() -> None:
    wall = Wall(10_000)
    progress = InputProgress(clock_ms=wall, window_ms=2_000)
    assert progress.recent_delay_ms() is None, "nothing read: no figure"
    for i in range(9):
        progress.read(record(i, wall.ms - 10))
    progress.read(record(9, wall.ms - 900))
    assert progress.recent_delay_ms(0.5) == 10
    assert progress.recent_delay_ms(0.95) == 900
    wall.ms += 2_001
    assert progress.recent_delay_ms() is None, "waits older than the window are forgotten"


def test_a_paced_record_is_read_but_its_wait_does_not_steer_the_sweeps() -> None:
    """A sweep's replies wait behind each other (its own burst): only live records' waits make the recent wait."""
    wall = Wall(10_000)
    progress = InputProgress(clock_ms=wall)
    assert progress.read(record(0, wall.ms - 400), live=False) == 400, "its wait is still measured"
    assert progress.recent_delay_ms() is None
    assert progress.read_through("agency.icbc.outbox", 0) is not None, "and its position kept"
    progress.read(record(1, wall.ms - 20))
    assert progress.recent_delay_ms() == 20


def test_read_through_says_how_many_records_are_behind_the_last_one_read() -> None:
    ends = {("agency.icbc.outbox", 0): 10}
    progress = InputProgress(highwater=lambda t, p: ends.get((t, p)), clock_ms=Wall(5_000))
    assert progress.read_through("agency.icbc.outbox", 0) is None, "nothing read yet"
    progress.read(record(3, 4_000))
    through = progress.read_through("agency.icbc.outbox", 0)
    assert through is not None and through.next_offset == 4 and through.behind == 6 and through.appended_ms == 4_000
    assert not through.caught_up
    progress.read(record(9, 4_900))
    caught = progress.read_through("agency.icbc.outbox", 0)
    assert caught is not None and caught.caught_up


def test_an_unknown_high_watermark_counts_as_caught_up() -> None:
    progress = InputProgress(clock_ms=Wall(5_000))
    progress.read(record(3, 4_000))
    through = progress.read_through("agency.icbc.outbox", 0)
    assert through is not None and through.caught_up


def test_lost_partitions_are_forgotten_on_every_input_topic() -> None:
    progress = InputProgress(clock_ms=Wall(5_000))
    progress.read(record(1, 4_000, "court.requests", 2))
    progress.read(record(1, 4_000, "agency.icbc.outbox", 2))
    progress.read(record(1, 4_000, "agency.icbc.outbox", 3))
    progress.forget({2})
    assert progress.read_partitions() == [("agency.icbc.outbox", 3)]


def test_an_end_the_broker_reported_counts_though_the_consumer_has_not_fetched_it() -> None:
    """While a burst on court.requests fills the streams' buffers, the outboxes are not fetched: the consumer's
    high watermark says caught up, the broker's end offset (asked every 10 s) says there is more."""
    progress = InputProgress(highwater=lambda t, p: 10, clock_ms=Wall(5_000))
    progress.read(record(9, 4_000))
    caught = progress.read_through("agency.icbc.outbox", 0)
    assert caught is not None and caught.caught_up
    progress.broker_end("agency.icbc.outbox", 0, 14)
    behind = progress.read_through("agency.icbc.outbox", 0)
    assert behind is not None and behind.behind == 4
    progress.forget({0})
    assert progress.broker_ends == {}


def test_the_sweeps_are_steered_only_once_enough_live_records_make_a_99th_percentile() -> None:
    """With a handful of live records the 99th percentile is their maximum, and one slow heartbeat would halve the
    sweeps.  Below STEER_MIN_RECORDS in the window there is no figure (the pace grows back)."""
    from hub.input_progress import STEER_MIN_RECORDS

    wall = Wall(10_000)
    progress = InputProgress(clock_ms=wall)
    for i in range(STEER_MIN_RECORDS - 1):
        progress.read(record(i, wall.ms - (900 if i == 0 else 10)))
    assert progress.steering_delay_ms() is None
    progress.read(record(STEER_MIN_RECORDS, wall.ms - 10))
    assert progress.steering_delay_ms() == 900, "then the 99th percentile of the window"
