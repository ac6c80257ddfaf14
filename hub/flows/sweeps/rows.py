"""Terminated cases under sweeps (终本统查, seed 001 §(二)): the hub's row of each case and the pure functions that
change it, and the per-partition schedule of due sweeps.

A registered case is due for a sweep ``sweep_interval_days`` after its termination (at the earliest the day it
was registered) and again that many days after each sweep completes.  A sweep is an intensive query the hub
runs for the court (:meth:`hub.flows.bank.handlers.BankFlow.fan_out`), its unit queries on the agencies' sweep
lanes; its outcome is FOUND (a unit reported property), EMPTY (every unit answered: no account) or INCONCLUSIVE
(nothing found, but a unit was silent or failed: not a query that "found nothing", 失信规定 art. 10(四)).
Consecutive EMPTY sweeps are counted (a FOUND sweep or a clue that finds property starts the count again); at
two, with no clue check open, a listed debtor's case meets ground art. 10(四).

Rows of the ``terminated_cases`` table (key: case number) are :meth:`TerminatedCase.to_json`.  The
``sweep_schedule`` table holds, per partition ``p``: ``p:day:<ordinal>`` (number of chunks) and
``p:day:<ordinal>:<n>`` (at most :data:`CHUNK` case numbers due that day), ``p:cursor`` (the last day whose
entries are all taken), ``p:active`` (cases being swept) and ``p:watched`` (cases with open watches): a tick
reads the days up to today and the active cases, never the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from hub.flows.bank.rows import IntensiveQuery, UnitState, json_safe
from hub.transport import RowTable

CHUNK = 64
SWEEP_MARK = ".sweep-"
GROUND_MARK = ".art10-4"
EMPTY_SWEEPS_FOR_GROUND = 2  # 失信规定 art. 10(四): 两次以上 … 未发现有可供执行财产


class CaseStatus(StrEnum):
    SCHEDULED = "SCHEDULED"  # waiting for its next due day (or for the lane, once due)
    SWEEPING = "SWEEPING"  # a sweep is out
    CLOSED = "CLOSED"  # resumed or closed otherwise: no more sweeps


class SweepOutcome(StrEnum):
    FOUND = "FOUND"
    EMPTY = "EMPTY"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True, slots=True)
class Watch:
    """A standing watch on the case's debtor: which agencies were told, for what, until when."""

    watch_id: str
    agencies: tuple[str, ...]
    kinds: tuple[str, ...]
    until_ordinal: int
    ended_ms: int | None = None
    end_reason: str | None = None

    def active_on(self, day: date) -> bool:
        return self.ended_ms is None and day.toordinal() <= self.until_ordinal

    def to_json(self) -> dict[str, Any]:
        return {"agencies": list(self.agencies), "kinds": list(self.kinds), "until": self.until_ordinal,
                "ended": self.ended_ms, "reason": self.end_reason}

    @classmethod
    def from_json(cls, watch_id: str, row: Mapping[str, Any]) -> Watch:
        return cls(watch_id, tuple(row["agencies"]), tuple(row["kinds"]), int(row["until"]), row["ended"],
                   row["reason"])


@dataclass(frozen=True, slots=True)
class TerminatedCase:
    """One case terminated for lack of property, as the hub sweeps it."""

    case_number: str
    registration_id: str  # the TerminatedCaseRegistered request id: sweeps are '<it>.sweep-<n>'
    court: dict[str, Any]  # court_code, court_name, place_code
    filing_date_ordinal: int
    subject: dict[str, Any]  # the Subject record, dates as ISO strings
    officer: dict[str, Any]  # the Officer record, dates as ISO strings
    assistance_notice: dict[str, Any]  # the DocumentRef, dates as ISO strings
    termination_ordinal: int
    units: dict[str, str]  # the debtor's intensive set: unit code -> category
    listing_id: str | None
    partition: int
    registered_ms: int
    status: CaseStatus = CaseStatus.SCHEDULED
    next_due_ordinal: int | None = None
    sweeps: int = 0  # sweeps started
    current_sweep: str | None = None
    outcomes: tuple[tuple[str, SweepOutcome], ...] = ()  # (sweep id, outcome) of every completed sweep
    empty_sweeps: int = 0  # consecutive EMPTY sweeps (art. 10(四))
    open_clues: tuple[str, ...] = ()  # request ids of clue checks not answered yet
    ground_id: str | None = None  # the art. 10(四) notice's tracked request, once sent
    closed_reason: str | None = None
    closed_ms: int | None = None
    watches: dict[str, Watch] = field(default_factory=dict)

    @property
    def court_code(self) -> str:
        return str(self.court["court_code"])

    @property
    def id_number(self) -> str:
        return str(self.subject["id_number"])

    def open_watches(self) -> list[Watch]:
        """The watches not ended yet."""
        return [w for w in self.watches.values() if w.ended_ms is None]

    @property
    def empty_sweep_ids(self) -> list[str]:
        """The sweeps counted towards art. 10(四): the trailing run of EMPTY outcomes."""
        run: list[str] = []
        for sweep_id, outcome in self.outcomes:
            if outcome is SweepOutcome.EMPTY:
                run.append(sweep_id)
            elif outcome is SweepOutcome.FOUND:
                run = []
        return run[-self.empty_sweeps:] if self.empty_sweeps else []

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_number, "reg": self.registration_id, "court": self.court,
            "filing_date": self.filing_date_ordinal, "subject": self.subject, "officer": self.officer,
            "notice": self.assistance_notice, "terminated": self.termination_ordinal, "units": self.units,
            "listing": self.listing_id, "p": self.partition, "registered": self.registered_ms,
            "status": self.status.value, "due": self.next_due_ordinal, "sweeps": self.sweeps,
            "current": self.current_sweep, "outcomes": [[s, o.value] for s, o in self.outcomes],
            "empty": self.empty_sweeps, "clues": list(self.open_clues), "ground": self.ground_id,
            "closed_reason": self.closed_reason, "closed_at": self.closed_ms,
            "watches": {wid: w.to_json() for wid, w in self.watches.items()},
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> TerminatedCase:
        return cls(
            case_number=row["case"], registration_id=row["reg"], court=dict(row["court"]),
            filing_date_ordinal=int(row["filing_date"]), subject=dict(row["subject"]), officer=dict(row["officer"]),
            assistance_notice=dict(row["notice"]), termination_ordinal=int(row["terminated"]),
            units=dict(row["units"]), listing_id=row["listing"], partition=int(row["p"]),
            registered_ms=int(row["registered"]), status=CaseStatus(row["status"]), next_due_ordinal=row["due"],
            sweeps=int(row["sweeps"]), current_sweep=row["current"],
            outcomes=tuple((s, SweepOutcome(o)) for s, o in row["outcomes"]), empty_sweeps=int(row["empty"]),
            open_clues=tuple(row["clues"]), ground_id=row["ground"], closed_reason=row["closed_reason"],
            closed_ms=row["closed_at"],
            watches={wid: Watch.from_json(wid, w) for wid, w in row["watches"].items()},
        )


def new_case(body: dict[str, Any], *, registration_id: str, units: dict[str, str], partition: int, now_ms: int,
             today: date, interval_days: int) -> TerminatedCase:
    """A case just registered, due ``interval_days`` after its termination (today at the earliest)."""
    termination: date = body["termination_date"]
    return TerminatedCase(
        case_number=body["case"]["case_number"], registration_id=registration_id, court=dict(body["case"]["court"]),
        filing_date_ordinal=body["case"]["filing_date"].toordinal(), subject=json_safe(body["subject"]),
        officer=json_safe(body["officer"]), assistance_notice=json_safe(body["assistance_notice"]),
        termination_ordinal=termination.toordinal(), units=units, listing_id=body.get("listing_id"),
        partition=partition, registered_ms=now_ms,
        next_due_ordinal=max(termination.toordinal() + interval_days, today.toordinal()),
    )


def next_sweep_id(case: TerminatedCase) -> str:
    return f"{case.registration_id}{SWEEP_MARK}{case.sweeps + 1}"


def is_sweep_id(request_id: str) -> bool:
    return SWEEP_MARK in request_id


def start_sweep(case: TerminatedCase, sweep_id: str) -> TerminatedCase:
    return replace(case, status=CaseStatus.SWEEPING, sweeps=case.sweeps + 1, current_sweep=sweep_id,
                   next_due_ordinal=None)


def sweep_outcome(query: IntensiveQuery) -> SweepOutcome:
    """FOUND if a unit reported property, EMPTY if every unit answered "no account", else INCONCLUSIVE."""
    if query.property_reported_ms is not None:
        return SweepOutcome.FOUND
    if all(unit.state is UnitState.NO_HIT for unit in query.units.values()):
        return SweepOutcome.EMPTY
    return SweepOutcome.INCONCLUSIVE


def finish_sweep(case: TerminatedCase, outcome: SweepOutcome, today: date, interval_days: int) -> TerminatedCase:
    """The case once its current sweep completed: counted, and due again ``interval_days`` later (unless closed)."""
    empty = case.empty_sweeps + 1 if outcome is SweepOutcome.EMPTY else (
        0 if outcome is SweepOutcome.FOUND else case.empty_sweeps)
    closed = case.status is CaseStatus.CLOSED
    return replace(case, status=CaseStatus.CLOSED if closed else CaseStatus.SCHEDULED, current_sweep=None,
                   outcomes=(*case.outcomes, (case.current_sweep or "", outcome)), empty_sweeps=empty,
                   next_due_ordinal=None if closed else today.toordinal() + interval_days)


def ground_met(case: TerminatedCase) -> bool:
    """失信规定 art. 10(四): a listed debtor, two or more empty sweeps, no clue open, not yet told, not closed."""
    return (case.listing_id is not None and case.empty_sweeps >= EMPTY_SWEEPS_FOR_GROUND and not case.open_clues
            and case.ground_id is None and case.status is not CaseStatus.CLOSED)


def clue_answered(case: TerminatedCase, request_id: str, found: bool) -> TerminatedCase:
    """A clue check answered; property found through a clue starts the empty-sweep count again."""
    return replace(case, open_clues=tuple(c for c in case.open_clues if c != request_id),
                   empty_sweeps=0 if found else case.empty_sweeps)


def close_case(case: TerminatedCase, reason: str, now_ms: int) -> TerminatedCase:
    return replace(case, status=CaseStatus.CLOSED, next_due_ordinal=None, closed_reason=reason, closed_ms=now_ms)


def end_watch(case: TerminatedCase, watch_id: str, now_ms: int, reason: str) -> TerminatedCase:
    watch = case.watches[watch_id]
    return replace(case, watches={**case.watches, watch_id: replace(watch, ended_ms=now_ms, end_reason=reason)})


def stored_record(stored: Mapping[str, Any], *date_fields: str) -> dict[str, Any]:
    """A stored record (:func:`json_safe`) as a message's record again: the named fields dates again."""
    out = dict(stored)
    for name in date_fields:
        if out.get(name):
            out[name] = date.fromisoformat(out[name])
    return out


def query_body(case: TerminatedCase) -> dict[str, Any]:
    """What each unit query of a sweep carries: the case, the debtor, the officer and the query list's notice."""
    officer = dict(case.officer)
    officer["official_id"] = stored_record(officer["official_id"], "issued_on")
    return {
        "case": {"case_number": case.case_number, "court": case.court,
                 "filing_date": date.fromordinal(case.filing_date_ordinal)},
        "subject": stored_record(case.subject, "birth_date"), "officer": officer,
        "assistance_notice": stored_record(case.assistance_notice, "issued_on"), "transaction_window": None,
    }


class CaseTable:
    """The ``terminated_cases`` table row by row as :class:`TerminatedCase`."""

    def __init__(self, rows: RowTable) -> None:
        self.rows = rows

    def get(self, case_number: str) -> TerminatedCase | None:
        row = self.rows.get(case_number)
        return TerminatedCase.from_json(row) if isinstance(row, dict) else None

    def put(self, case: TerminatedCase) -> TerminatedCase:
        self.rows[case.case_number] = case.to_json()
        return case


class Schedule:
    """The ``sweep_schedule`` table: due days in chunks, the active and the watched cases, per partition."""

    def __init__(self, rows: RowTable) -> None:
        self.rows = rows

    def _cursor(self, p: int, today: int) -> int:
        cursor = self.rows.get(f"{p}:cursor")
        if cursor is None:
            cursor = today - 1
            self.rows[f"{p}:cursor"] = cursor
        return int(cursor)

    def add_due(self, p: int, day: int, case_number: str, today: int) -> None:
        """``case_number`` is due on ``day`` (never before the partition's cursor: then the day after it)."""
        day = max(day, self._cursor(p, today) + 1)
        count = int(self.rows.get(f"{p}:day:{day}") or 0)
        last = self.rows.get(f"{p}:day:{day}:{count - 1}") if count else None
        if last is not None and len(last) < CHUNK:
            self.rows[f"{p}:day:{day}:{count - 1}"] = [*last, case_number]
            return
        self.rows[f"{p}:day:{day}:{count}"] = [case_number]
        self.rows[f"{p}:day:{day}"] = count + 1

    def due(self, p: int, today: int) -> Iterator[tuple[int, int, list[str]]]:
        """(day, chunk, case numbers) of every chunk due by ``today``, oldest first."""
        for day in range(self._cursor(p, today) + 1, today + 1):
            for n in range(int(self.rows.get(f"{p}:day:{day}") or 0)):
                entries = self.rows.get(f"{p}:day:{day}:{n}")
                if entries:
                    yield day, n, list(entries)

    def keep(self, p: int, day: int, n: int, rest: list[str]) -> None:
        """What is left of a chunk after some of its cases were taken."""
        if rest:
            self.rows[f"{p}:day:{day}:{n}"] = rest
        else:
            del self.rows[f"{p}:day:{day}:{n}"]

    def drained(self, p: int, today: int) -> None:
        """Every chunk of the days before today is taken: drop their counts and move the cursor to yesterday."""
        cursor = self._cursor(p, today)
        for day in range(cursor + 1, today):
            if self.rows.get(f"{p}:day:{day}") is not None:
                del self.rows[f"{p}:day:{day}"]
        if today - 1 > cursor:
            self.rows[f"{p}:cursor"] = today - 1

    def members(self, p: int, name: str) -> list[str]:
        return list(self.rows.get(f"{p}:{name}") or [])

    def set_members(self, p: int, name: str, cases: list[str]) -> None:
        self.rows[f"{p}:{name}"] = cases

    def add_member(self, p: int, name: str, case_number: str) -> None:
        cases = self.members(p, name)
        if case_number not in cases:
            self.set_members(p, name, [*cases, case_number])
