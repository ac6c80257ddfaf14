"""The main job's summary: every flow by outcome, in tables whose columns line up with Chinese labels; the sweep
and the watch in lines of their own."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console

from demo.summary import FLOW_LABELS, FlowSummary, Summary, render, sweep_line
from demo.sweep_scenario import RESULT, SweepOutcome, read_result
from hub.codec import AvroMessage


def _summary() -> Summary:
    s = Summary(broker="127.0.0.1:9092", security="secure", topics_total=112, list_digest_matches=True,
                list_deletion_due="2026-12-01", audit_chain_verified=True, audit_records=900, seconds=33.7,
                scenario_seconds=7.4, alerts=["RequestsOverdue pending (agency=cgb)"],
                prometheus_url="http://127.0.0.1:9090", sweep_case="（2025）京0105执1002号", sweep_outcome="FOUND",
                sweep_units=26, sweep_found_at=["icbc"], sweep_no_response=["cgb"], sweep_viewed=True,
                watch_hits=1, watch_hit="NEW_ACCOUNT at icbc")
    for i, flow in enumerate(FLOW_LABELS):
        s.flows[flow] = FlowSummary(sent=i + 2, answered=i + 1, rejected=1)
    return s


def test_flow_table_columns_line_up_with_chinese_labels() -> None:
    console = Console(record=True, width=118, force_terminal=False)
    render(_summary(), console)
    text = console.export_text()
    rows = [line for line in text.splitlines() if line.startswith(("│", "┃", "┏", "┡", "├", "└"))]
    assert len(rows) >= len(FLOW_LABELS) + 4
    widths = {cell_len(line) for line in rows}
    assert len(widths) == 1, widths  # every line of the table has the same display width
    assert all(label in text for label in FLOW_LABELS.values())
    assert "集约查询 intensive query" in text and "RequestsOverdue pending" in text


def test_summary_is_ok_only_when_everything_closed_and_the_list_copy_agrees() -> None:
    s = _summary()
    assert s.ok and s.total().sent == sum(f.sent for f in s.flows.values())
    s.list_digest_matches = False
    assert not s.ok
    s.list_digest_matches, s.flows["freeze"].open = True, 1
    assert not s.ok


def test_the_sweep_and_the_watch_have_their_lines() -> None:
    console = Console(record=True, width=118, force_terminal=False)
    render(_summary(), console)
    text = console.export_text()
    assert "终本统查 sweep" in text
    assert ("terminated-case sweep   1 case registered, swept through 26 units: FOUND, property at icbc, viewed in "
            "time") in text
    assert "no response from cgb" in text
    assert "standing watch          1 hit reached the court (NEW_ACCOUNT at icbc, case （2025）京0105执1002号)" in text


def test_a_sweep_that_did_not_complete_or_a_watch_without_hit_fails_the_main_job() -> None:
    s = _summary()
    s.sweep_outcome = None
    assert not s.ok and "did NOT complete" in sweep_line(s)
    s.sweep_outcome, s.watch_hits = "FOUND", 0
    assert not s.ok
    s.watch_hits, s.sweep_outcome = 1, "INCONCLUSIVE"  # a unit silent and nothing found: no sweep to count
    assert not s.ok


def test_a_sweep_is_counted_as_the_hub_counts_it_art_10_4() -> None:
    """失信规定 art. 10(四): FOUND if a unit reported property; EMPTY only if every unit answered; else
    INCONCLUSIVE."""
    assert SweepOutcome(complete=True, found_at=["icbc"], no_response=["cgb"]).outcome == "FOUND"
    assert SweepOutcome(complete=True).outcome == "EMPTY"
    assert SweepOutcome(complete=True, no_response=["cgb"]).outcome == "INCONCLUSIVE"
    assert SweepOutcome(found_at=["icbc"]).outcome is None  # not complete yet


def test_the_sweep_is_read_from_the_merged_result_the_court_got() -> None:
    units = [{"unit_code": "icbc", "state": "HIT"}, {"unit_code": "ccb", "state": "NO_HIT"},
             {"unit_code": "cgb", "state": "NO_RESPONSE"}]
    out = SweepOutcome()
    read_result(out, AvroMessage(RESULT, {"envelope": {}, "body": {"units": units, "complete": True}}))
    assert (out.units, out.found_at, out.no_response, out.outcome) == (3, ["icbc"], ["cgb"], "FOUND")
