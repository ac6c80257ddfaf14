"""The main job's summary: every flow by outcome, in tables whose columns line up with Chinese labels."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console

from demo.summary import FLOW_LABELS, FlowSummary, Summary, render


def _summary() -> Summary:
    s = Summary(broker="127.0.0.1:9092", security="secure", topics_total=77, list_digest_matches=True,
                list_deletion_due="2026-12-01", audit_chain_verified=True, audit_records=900, seconds=33.7,
                scenario_seconds=7.4, alerts=["RequestsOverdue pending (agency=cgb)"],
                prometheus_url="http://127.0.0.1:9090")
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
