"""Intensive query (集约查询, seed 001): the hub's row of one query and the pure functions that change it.

One court request fans out to the 21 national banks, the 3 internet payment firms, securities,
and the local banks of the debtor's household-registration place and of the court's place.  The
merged result lists, per unit, hit / no hit / no answer yet (PENDING) / no answer by the deadline
(NO_RESPONSE) / error, and is emitted again whenever a unit's state changes.  At a unit's deadline it
becomes NO_RESPONSE; once no unit is PENDING the result is complete and the court may query the units
itself (while units are PENDING it may not).  A unit that answers after its deadline replaces its
NO_RESPONSE, marked late, and the result is published again.  Once property is reported, the
officer must mark it viewed within 3 days, or the case is escalated for supervision (执行督办).

In code a query is an :class:`IntensiveQuery` with one :class:`IntensiveUnit` per unit.  In the
``intensive`` table (by request id) it is stored under these keys: ``id, case, court`` (the case's court
record) ``, filing_date`` (proleptic ordinal) ``, officer`` (the officer record, dates as ISO strings)
``, p`` (partition) ``, created, property_at, viewed_at, escalated_at`` (ms or None) ``, units`` (unit code
-> ``category, state, summary, accounts, balance_fen, message_id, answered_at`` and, once the unit
answered, ``late``).  The ``intensive_by_case`` table keeps, by case number, the list of its query ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from hub.clock import utc_datetime
from hub.transport import RowTable, open_rows
from topics.agencies import Agency, AgencyKind

VIEW_WITHIN_MS = 3 * 24 * 3600 * 1000  # seed 001 §(一)2: view property feedback within 3 days
ESCALATION_NOTE = "property feedback not viewed within 3 days (seed 001 §(一)2)"
NO_RESPONSE_SUMMARY = "no answer by the deadline (004 §13: 5 working days)"


class UnitState(StrEnum):
    PENDING = "PENDING"
    HIT = "HIT"
    NO_HIT = "NO_HIT"
    ERROR = "ERROR"
    NO_RESPONSE = "NO_RESPONSE"


#: the states in which a unit's answer is still taken (an answer after the deadline replaces NO_RESPONSE)
AWAITING_ANSWER = frozenset({UnitState.PENDING, UnitState.NO_RESPONSE})

_CATEGORY = {
    AgencyKind.BANK: "NATIONAL_BANK",
    AgencyKind.PAYMENT: "INTERNET_PAYMENT",
    AgencyKind.SECURITIES: "SECURITIES",
}


@dataclass(frozen=True, slots=True)
class IntensiveUnit:
    """One unit an intensive query reached, and what it answered."""

    category: str  # NATIONAL_BANK, INTERNET_PAYMENT, SECURITIES, LOCAL_BANK_HOUSEHOLD or LOCAL_BANK_COURT
    state: UnitState
    summary: str | None
    account_count: int
    cny_balance_fen: int | None  # the CNY balance of the accounts found (None without a hit)
    reply_message_id: str | None
    answered_ms: int | None
    late: bool | None = None  # answered after its deadline; None until it answered

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "category": self.category, "state": self.state.value, "summary": self.summary,
            "accounts": self.account_count, "balance_fen": self.cny_balance_fen,
            "message_id": self.reply_message_id, "answered_at": self.answered_ms,
        }
        if self.late is not None:
            row["late"] = self.late
        return row

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> IntensiveUnit:
        return cls(
            category=row["category"], state=UnitState(row["state"]), summary=row["summary"],
            account_count=int(row["accounts"]), cny_balance_fen=row["balance_fen"],
            reply_message_id=row["message_id"], answered_ms=row["answered_at"], late=row.get("late"),
        )


@dataclass(frozen=True, slots=True)
class IntensiveQuery:
    """One intensive query the hub fanned out, with every unit's state."""

    request_id: str
    case_number: str
    court: dict[str, Any]  # the case's court record (court_code, court_name, place_code)
    filing_date_ordinal: int
    officer: dict[str, Any]  # the officer record, dates as ISO strings (:func:`json_safe`)
    partition: int
    created_ms: int
    property_reported_ms: int | None  # the first unit's answer that found property
    viewed_ms: int | None  # the officer marked the property feedback viewed
    escalated_ms: int | None  # sent to supervision for not viewing it in time
    units: Mapping[str, IntensiveUnit]  # unit code -> its state, in the order the units were chosen

    @property
    def court_code(self) -> str:
        return str(self.court["court_code"])

    @property
    def filing_date(self) -> date:
        return date.fromordinal(self.filing_date_ordinal)

    @property
    def pending_units(self) -> set[str]:
        return {code for code, unit in self.units.items() if unit.state is UnitState.PENDING}

    @property
    def is_complete(self) -> bool:
        return not self.pending_units

    @property
    def view_due_ms(self) -> int | None:
        """When the officer must have viewed the property feedback (None until property is reported)."""
        return self.property_reported_ms + VIEW_WITHIN_MS if self.property_reported_ms is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.request_id, "case": self.case_number, "court": self.court,
            "filing_date": self.filing_date_ordinal, "officer": self.officer, "p": self.partition,
            "created": self.created_ms, "property_at": self.property_reported_ms, "viewed_at": self.viewed_ms,
            "escalated_at": self.escalated_ms, "units": {code: unit.to_json() for code, unit in self.units.items()},
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> IntensiveQuery:
        return cls(
            request_id=row["id"], case_number=row["case"], court=dict(row["court"]),
            filing_date_ordinal=int(row["filing_date"]), officer=dict(row["officer"]), partition=int(row["p"]),
            created_ms=int(row["created"]), property_reported_ms=row["property_at"], viewed_ms=row["viewed_at"],
            escalated_ms=row["escalated_at"],
            units={code: IntensiveUnit.from_json(unit) for code, unit in row["units"].items()},
        )


class IntensiveTable:
    """The ``intensive`` table row by row as :class:`IntensiveQuery`, and its ``intensive_by_case`` index."""

    def __init__(self, queries: RowTable, by_case: RowTable) -> None:
        self.queries = queries
        self.by_case = by_case

    def get(self, request_id: str) -> IntensiveQuery | None:
        row = self.queries.get(request_id)
        return IntensiveQuery.from_json(row) if isinstance(row, dict) else None

    def put(self, query: IntensiveQuery) -> IntensiveQuery:
        self.queries[query.request_id] = query.to_json()
        return query

    def add(self, query: IntensiveQuery) -> None:
        """A new query: its row, then its id appended to its case's list."""
        self.put(query)
        self.by_case[query.case_number] = [*(self.by_case.get(query.case_number) or []), query.request_id]

    def of_case(self, case_number: str) -> list[IntensiveQuery]:
        """The queries of a case, oldest first."""
        found = (self.get(request_id) for request_id in self.by_case.get(case_number) or [])
        return [query for query in found if query is not None]

    def in_partition(self, partition: int) -> list[IntensiveQuery]:
        return [IntensiveQuery.from_json(row) for _, row in open_rows(self.queries, partition)]


def region_prefix(region: str) -> str:
    """``110000`` -> ``11``; ``440100`` -> ``4401``: the part of a division code that names the area."""
    prefix = region
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def unit_set(agencies: Iterable[Agency], household_place: str | None, court_place: str) -> dict[str, str]:
    """The units one intensive query reaches: unit code -> category."""
    units: dict[str, str] = {}
    for agency in agencies:
        if agency.kind in _CATEGORY:
            units[agency.code] = _CATEGORY[agency.kind]
        elif agency.kind is AgencyKind.LOCAL_BANK and agency.region:
            prefix = region_prefix(agency.region)
            if household_place and household_place.startswith(prefix):
                units[agency.code] = "LOCAL_BANK_HOUSEHOLD"
            elif court_place.startswith(prefix):
                units[agency.code] = "LOCAL_BANK_COURT"
    return units


def json_safe(value: Any) -> Any:
    """Dates inside a table row become ISO strings (table values are JSON)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def new_intensive_query(
    request_id: str, *, case_number: str, court: dict[str, Any], filing_date: date, officer: dict[str, Any],
    units: dict[str, str], now_ms: int, partition: int,
) -> IntensiveQuery:
    """A query just fanned out to ``units`` (unit code -> category): every unit PENDING."""
    return IntensiveQuery(
        request_id=request_id, case_number=case_number, court=court, filing_date_ordinal=filing_date.toordinal(),
        officer=json_safe(officer), partition=partition, created_ms=now_ms, property_reported_ms=None,
        viewed_ms=None, escalated_ms=None,
        units={code: IntensiveUnit(category=category, state=UnitState.PENDING, summary=None, account_count=0,
                                   cny_balance_fen=None, reply_message_id=None, answered_ms=None)
               for code, category in units.items()},
    )


def _summarise(body: dict[str, Any]) -> tuple[UnitState, str, int, int | None]:
    status = body["status"]
    if status in ("NOT_EXECUTED", "REJECTED", "UNKNOWN"):
        return UnitState.ERROR, f"not executed: {body.get('reason') or status}", 0, None
    accounts = body.get("accounts") or []
    assets = body.get("financial_assets") or []
    if body.get("no_account") or (not accounts and not assets):
        return UnitState.NO_HIT, "查无开户信息 (no account)", 0, None
    cny = sum(a["balance"]["amount_fen"] for a in accounts if a["balance"]["currency"] == "CNY")
    return UnitState.HIT, f"{len(accounts)} account(s), {len(assets)} other asset(s)", len(accounts), cny


def apply_reply(query: IntensiveQuery, unit: str, reply_body: dict[str, Any], message_id: str,
                now_ms: int) -> IntensiveQuery:
    """The query after ``unit``'s query reply (a unit answers once; a repeat returns ``query`` itself)."""
    current = query.units.get(unit)
    if current is None or current.state not in AWAITING_ANSWER:
        return query
    state, summary, accounts, balance = _summarise(reply_body)
    answered = replace(current, state=state, summary=summary, account_count=accounts, cny_balance_fen=balance,
                       reply_message_id=message_id, answered_ms=now_ms,
                       late=current.state is UnitState.NO_RESPONSE)
    property_reported = query.property_reported_ms
    if state is UnitState.HIT and property_reported is None:
        property_reported = now_ms
    return replace(query, units={**query.units, unit: answered}, property_reported_ms=property_reported)


def mark_no_response(query: IntensiveQuery, unit: str) -> IntensiveQuery:
    """The query once ``unit``'s deadline passed without an answer (``query`` itself if it had answered)."""
    current = query.units.get(unit)
    if current is None or current.state is not UnitState.PENDING:
        return query
    silent = replace(current, state=UnitState.NO_RESPONSE, summary=NO_RESPONSE_SUMMARY)
    return replace(query, units={**query.units, unit: silent})


def mark_viewed(query: IntensiveQuery, now_ms: int) -> IntensiveQuery:
    """The officer viewed the property feedback (the first time counts)."""
    return query if query.viewed_ms is not None else replace(query, viewed_ms=now_ms)


def escalation_due(query: IntensiveQuery, now_ms: int) -> bool:
    """Property was reported, the officer has not viewed it, 3 days have passed, not yet escalated."""
    due = query.view_due_ms
    return due is not None and query.viewed_ms is None and query.escalated_ms is None and now_ms >= due


def mark_escalated(query: IntensiveQuery, now_ms: int) -> IntensiveQuery:
    return replace(query, escalated_ms=now_ms)


def result_body(query: IntensiveQuery, unit_names: dict[str, str], now: datetime) -> dict[str, Any]:
    """The merged IntensiveQueryResult body."""
    units = []
    for code, unit in sorted(query.units.items()):
        units.append({
            "unit_code": code, "unit_name": unit_names.get(code), "category": unit.category,
            "state": unit.state.value, "summary": unit.summary, "account_count": unit.account_count,
            "total_balance": ({"amount_fen": unit.cny_balance_fen, "currency": "CNY"}
                              if unit.cny_balance_fen is not None else None),
            "reply_message_id": unit.reply_message_id, "answered_at": utc_datetime(unit.answered_ms),
            "late": bool(unit.late),
        })
    return {
        "case_number": query.case_number, "units": units, "complete": query.is_complete,
        "property_found": query.property_reported_ms is not None, "view_due_at": utc_datetime(query.view_due_ms),
        "generated_at": now,
    }


def officer_record(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored officer (:func:`json_safe`) as a message's officer record again (its ID's issue date a date)."""
    document = dict(stored["official_id"])
    if document.get("issued_on"):
        document["issued_on"] = date.fromisoformat(document["issued_on"])
    return {**stored, "official_id": document}


def escalation_body(query: IntensiveQuery, now_ms: int) -> dict[str, Any]:
    """The SupervisionEscalation body of a query whose property feedback was not viewed in time (seed 001 §(一)2)."""
    return {
        "case": {"case_number": query.case_number, "court": query.court, "filing_date": query.filing_date},
        "officer": officer_record(query.officer),
        "feedback_at": utc_datetime(query.property_reported_ms), "due_at": utc_datetime(query.view_due_ms),
        "escalated_at": utc_datetime(now_ms),
        "unit_codes": sorted(code for code, unit in query.units.items() if unit.state is UnitState.HIT),
        "note": ESCALATION_NOTE,
    }
