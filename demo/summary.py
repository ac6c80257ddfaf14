"""What the main job reports: every flow's requests by outcome, deadlines, anomalies, the list, the sweep and
the watch, the audit chain and Prometheus's alerts — as JSON, or as tables (rich aligns the Chinese labels by
display width)."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from demo.bank_police_scenario import TERMINAL, Scenario

#: flow -> its name as a court clerk reads it
FLOW_LABELS = {
    "list decision": "失信名单决定",
    "sweep": "终本统查",
    "intensive query": "集约查询",
    "freeze": "冻结",
    "limited freeze": "限额冻结",
    "deduct": "扣划",
    "query": "查询",
    "police look-up": "公安查询",
    "police measure": "边控 / 查封车辆",
    "police release": "解除布控",
    "freeze (outage bank)": "冻结（故障银行）",
}


@dataclass
class FlowSummary:
    sent: int = 0
    answered: int = 0
    late: int = 0
    rejected: int = 0
    failed: int = 0
    open: int = 0


@dataclass
class Summary:
    broker: str = ""
    security: str = ""
    topics_created: int = 0
    topics_total: int = 0
    flows: dict[str, FlowSummary] = field(default_factory=dict)
    deadlines_met: int = 0
    deadlines_missed: int = 0
    anomalies: int = 0
    anomalies_resolved: int = 0
    notices_to_courts: int = 0
    notices_overdue: float = 0.0
    sightings: int = 0
    list_deletion_due: str | None = None
    list_unit_listings: int = 0
    list_unit_publications: int = 0
    list_digest_matches: bool = False
    sweep_case: str = ""
    sweep_outcome: str | None = None  # FOUND, EMPTY or INCONCLUSIVE once complete (失信规定 art. 10(四))
    sweep_units: int = 0
    sweep_found_at: list[str] = field(default_factory=list)
    sweep_no_response: list[str] = field(default_factory=list)
    sweep_viewed: bool = False
    watch_kept: bool = False  # the watched bank kept the watch (a hit was then possible)
    watch_hits: int = 0
    watch_hit: str = ""
    dead_letters: float = 0.0
    audit_records: int = 0
    audit_chain_verified: bool = False
    metrics_url: str = ""
    prometheus_url: str | None = None
    alerts: list[str] = field(default_factory=list)
    scenario_seconds: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["totals"] = asdict(self.total())
        return data

    def total(self) -> FlowSummary:
        t = FlowSummary()
        for f in self.flows.values():
            for k in asdict(t):
                setattr(t, k, getattr(t, k) + getattr(f, k))
        return t

    @property
    def ok(self) -> bool:
        return (self.audit_chain_verified and self.total().open == 0 and self.list_digest_matches
                and self.anomalies_resolved == self.anomalies and self.sweep_outcome in ("FOUND", "EMPTY")
                and self.watch_hits >= 1)


def summarise(scenario: Scenario, summary: Summary) -> None:
    """Each request's final row, read back from the worker, by flow."""
    states: Counter[str] = Counter()
    for flow, ids in scenario.track.sent.items():
        fs = FlowSummary(sent=len(ids))
        for rid in ids:
            row = scenario.row(rid)
            state = str(row.get("state", "unknown"))
            states[state] += 1
            if state == "answered":
                fs.answered += 1
            elif state == "answered_late":
                fs.late += 1
            elif state == "rejected":
                fs.rejected += 1
            elif state == "failed":
                fs.failed += 1
            else:
                fs.open += 1
            if row.get("due") is not None and state in TERMINAL:
                if state == "answered":
                    summary.deadlines_met += 1
                elif state == "answered_late":
                    summary.deadlines_missed += 1
            elif row.get("due") is not None and state == "overdue":
                summary.deadlines_missed += 1
        summary.flows[flow] = fs
    summary.anomalies = len(scenario.track.anomaly_ids)
    summary.anomalies_resolved = len(scenario.track.resolved_ids)
    summary.notices_to_courts = len([m for m in scenario.court.received if m.schema.endswith("AnomalyNotice")])
    summary.sightings = scenario.track.sightings
    outcome = scenario.list_outcome
    summary.list_deletion_due = outcome.deletion_due.isoformat() if outcome.deletion_due else None
    summary.list_unit_listings = outcome.unit_listings
    summary.list_unit_publications = outcome.unit_publications
    summary.list_digest_matches = outcome.digests_match
    sweep = scenario.sweep
    summary.sweep_case, summary.sweep_outcome, summary.sweep_units = sweep.case_number, sweep.outcome, sweep.units
    summary.sweep_found_at, summary.sweep_no_response = sweep.found_at, sweep.no_response
    summary.sweep_viewed, summary.watch_hits, summary.watch_hit = sweep.viewed, sweep.watch_hits, sweep.hit
    summary.watch_kept = sweep.watch_kept


def sweep_line(s: Summary) -> str:
    """The sweep as the court saw it: what the hub counts it as, where property was found, who was silent."""
    if not s.sweep_outcome:
        return f"{s.sweep_case or 'no case'} registered; the sweep did NOT complete"
    found = f"property at {', '.join(s.sweep_found_at)}" if s.sweep_found_at else "no property"
    silent = f"; no response from {', '.join(s.sweep_no_response)}" if s.sweep_no_response else ""
    viewed = ", viewed in time (seed 001 §(一)2)" if s.sweep_viewed else ""
    return f"1 case registered, swept through {s.sweep_units} units: {s.sweep_outcome}, {found}{viewed}{silent}"


def render(s: Summary, console: Console | None = None) -> None:
    """The summary as two tables on ``console`` (stdout by default)."""
    # a file or a pipe gets a fixed width that fits the tables (rich would wrap them at 80 columns)
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 118)
    flows = Table(title="interop-hub main job", title_justify="left")
    flows.add_column("flow")
    for name in ("sent", "answered", "late", "rejected", "failed", "open"):
        flows.add_column(name, justify="right")
    for flow, f in [*s.flows.items(), ("total", s.total())]:
        label = f"{FLOW_LABELS[flow]} {flow}" if flow in FLOW_LABELS else flow
        flows.add_row(label, *(str(getattr(f, k)) for k in ("sent", "answered", "late", "rejected", "failed", "open")),
                      end_section=flow == list(s.flows)[-1])
    console.print(flows)
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("deadlines met / missed", f"{s.deadlines_met} / {s.deadlines_missed}")
    facts.add_row("anomalies (resolved)", f"{s.anomalies} ({s.anomalies_resolved}); notices to courts "
                  f"{s.notices_to_courts}; notices late (24 h) {s.notices_overdue:.0f}")
    facts.add_row("police sightings", str(s.sightings))
    facts.add_row("dishonest list", f"deletion due {s.list_deletion_due or '-'} (3 working days, 失信规定 art. 10); "
                  f"a unit joining late replayed {s.list_unit_publications} publications to "
                  f"{s.list_unit_listings} listings in force, digest "
                  f"{'matches the hub' if s.list_digest_matches else 'DIFFERS'}")
    facts.add_row("terminated-case sweep", sweep_line(s))
    facts.add_row("standing watch", f"{s.watch_hits} hit{'' if s.watch_hits == 1 else 's'} reached the court"
                  + (f" ({s.watch_hit}, case {s.sweep_case})" if s.watch_hit else ""))
    facts.add_row("dead letters", f"{s.dead_letters:.0f}")
    facts.add_row("audit log", f"{'verified' if s.audit_chain_verified else 'BROKEN'} ({s.audit_records} entries, "
                               "every chain and signed tree head)")
    facts.add_row("broker / topics", f"{s.broker} ({s.security}) / {s.topics_total} "
                  f"({s.topics_created} created this run)")
    facts.add_row("metrics", s.metrics_url)
    if s.prometheus_url:
        facts.add_row("prometheus", f"{s.prometheus_url} — alerts: {'; '.join(s.alerts) or 'none'}")
    else:
        facts.add_row("prometheus", "not installed (apt-get install prometheus): no alert evaluation")
    facts.add_row("elapsed", f"{s.seconds}s (scenario {s.scenario_seconds}s)")
    console.print(facts)
