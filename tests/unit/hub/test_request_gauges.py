"""Outstanding / overdue gauges move row by row after one scan (SPEC §6 deadlines are watched per agency)."""

from __future__ import annotations

from hub.deadlines import deadline_ms
from hub.lifecycle import RequestRow, State, new_record, transition
from hub.request_gauges import RequestCounts
from hub.working_calendar import WorkingCalendar

T0 = 1_735_779_600_000  # 2025-01-02 09:00 +08:00


def _row(i: int, agency: str = "icbc") -> RequestRow:
    rec = new_record(f"r{i}", type_="QueryRequest", court="京0105", case=f"c{i}", agency=agency, now_ms=T0,
                     partition=0, deadline=deadline_ms("QueryRequest", T0, WorkingCalendar()))
    return transition(transition(rec, State.ROUTED, T0), State.DELIVERED, T0)


def test_the_first_scan_counts_open_and_overdue_rows_only() -> None:
    counts = RequestCounts()
    delivered, overdue = _row(1), transition(_row(2), State.OVERDUE, 5)
    answered = transition(_row(3), State.ANSWERED, 5)
    counts.rebuild([delivered, overdue, answered])
    assert counts.nonzero(counts.outstanding) == {("icbc", "QueryRequest"): 2}
    assert counts.nonzero(counts.overdue) == {("icbc", "QueryRequest"): 1}


def test_transitions_move_the_counts_and_rewrites_in_the_same_state_do_not() -> None:
    counts = RequestCounts()
    counts.rebuild([])
    row = _row(1, "ccb")
    counts.observe(row, None)
    counts.observe(RequestRow.from_json(row.to_json()), row)  # rewritten unchanged
    assert counts.outstanding[("ccb", "QueryRequest")] == 1
    late = transition(row, State.OVERDUE, 10)
    counts.observe(late, row)
    assert counts.overdue[("ccb", "QueryRequest")] == 1
    counts.observe(transition(late, State.ANSWERED_LATE, 20), late)
    assert counts.nonzero(counts.outstanding) == {} and counts.nonzero(counts.overdue) == {}


def test_rows_written_before_the_first_scan_are_left_to_the_scan() -> None:
    counts = RequestCounts()
    counts.observe(_row(1), None)
    assert not counts.built and counts.nonzero(counts.outstanding) == {}
