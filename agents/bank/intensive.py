"""Intensive query (集约查询, seed 001) as pure functions over a compact record.

One court request fans out to the 21 national banks, the 3 internet payment firms, securities,
and the local banks of the debtor's household-registration place and of the court's place.  The
merged result lists, per unit, hit / no hit / no answer yet (PENDING) / no answer by the deadline
(NO_RESPONSE) / error, and is emitted again whenever a unit's state changes.  At a unit's deadline it
becomes NO_RESPONSE; once no unit is PENDING the result is complete and the court may query the units
itself (while units are PENDING it may not).  A unit that answers after its deadline replaces its
NO_RESPONSE, marked late, and the result is published again.  Once property is reported, the
officer must mark it viewed within 3 days, or the case is escalated for supervision (执行督办).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from topics.agencies import Agency, AgencyKind

VIEW_WITHIN_MS = 3 * 24 * 3600 * 1000  # seed 001 §(一)2: view property feedback within 3 days
NO_RESPONSE = "NO_RESPONSE"

Record = dict[str, Any]

_CATEGORY = {
    AgencyKind.BANK: "NATIONAL_BANK",
    AgencyKind.PAYMENT: "INTERNET_PAYMENT",
    AgencyKind.SECURITIES: "SECURITIES",
}


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


def new_intensive(
    request_id: str, *, case: str, court: dict[str, Any], filing_date: int, officer: dict[str, Any],
    units: dict[str, str], now_ms: int, partition: int,
) -> Record:
    return {
        "id": request_id, "case": case, "court": court, "filing_date": filing_date, "officer": officer,
        "p": partition, "created": now_ms, "property_at": None, "viewed_at": None, "escalated_at": None,
        "units": {code: {"category": cat, "state": "PENDING", "summary": None, "accounts": 0,
                         "balance_fen": None, "message_id": None, "answered_at": None}
                  for code, cat in units.items()},
    }


def _summarise(body: dict[str, Any]) -> tuple[str, str, int, int | None]:
    status = body["status"]
    if status in ("NOT_EXECUTED", "REJECTED", "UNKNOWN"):
        return "ERROR", f"not executed: {body.get('reason') or status}", 0, None
    accounts = body.get("accounts") or []
    assets = body.get("financial_assets") or []
    if body.get("no_account") or (not accounts and not assets):
        return "NO_HIT", "查无开户信息 (no account)", 0, None
    cny = sum(a["balance"]["amount_fen"] for a in accounts if a["balance"]["currency"] == "CNY")
    return "HIT", f"{len(accounts)} account(s), {len(assets)} other asset(s)", len(accounts), cny


def apply_reply(record: Record, unit: str, reply_body: dict[str, Any], message_id: str, now_ms: int) -> Record:
    """The record after ``unit``'s query reply (a unit answers once; a repeat changes nothing)."""
    current = record["units"].get(unit)
    if current is None or current["state"] not in ("PENDING", NO_RESPONSE):
        return record
    state, summary, accounts, balance = _summarise(reply_body)
    late = current["state"] == NO_RESPONSE
    units = {**record["units"], unit: {**current, "state": state, "summary": summary, "accounts": accounts,
                                        "balance_fen": balance, "message_id": message_id, "answered_at": now_ms,
                                        "late": late}}
    property_at = record["property_at"]
    if state == "HIT" and property_at is None:
        property_at = now_ms
    return {**record, "units": units, "property_at": property_at}


def mark_no_response(record: Record, unit: str) -> Record:
    """The record once ``unit``'s deadline passed without an answer (unchanged if it had answered)."""
    current = record["units"].get(unit)
    if current is None or current["state"] != "PENDING":
        return record
    units = {**record["units"], unit: {**current, "state": NO_RESPONSE,
                                        "summary": "no answer by the deadline (004 §13: 5 working days)"}}
    return {**record, "units": units}


def pending_units(record: Record) -> set[str]:
    return {code for code, u in record["units"].items() if u["state"] == "PENDING"}


def is_complete(record: Record) -> bool:
    return not pending_units(record)


def view_due_ms(record: Record) -> int | None:
    return record["property_at"] + VIEW_WITHIN_MS if record["property_at"] is not None else None


def mark_viewed(record: Record, now_ms: int) -> Record:
    return record if record["viewed_at"] is not None else {**record, "viewed_at": now_ms}


def escalation_due(record: Record, now_ms: int) -> bool:
    """Property was reported, the officer has not viewed it, 3 days have passed, not yet escalated."""
    due = view_due_ms(record)
    return (due is not None and record["viewed_at"] is None and record["escalated_at"] is None
            and now_ms >= due)


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def result_body(record: Record, unit_names: dict[str, str], now: datetime) -> dict[str, Any]:
    """The merged IntensiveQueryResult body."""
    units = []
    for code, u in sorted(record["units"].items()):
        units.append({
            "unit_code": code, "unit_name": unit_names.get(code), "category": u["category"], "state": u["state"],
            "summary": u["summary"], "account_count": u["accounts"],
            "total_balance": ({"amount_fen": u["balance_fen"], "currency": "CNY"}
                              if u["balance_fen"] is not None else None),
            "reply_message_id": u["message_id"], "answered_at": _ts(u["answered_at"]),
            "late": bool(u.get("late")),
        })
    return {
        "case_number": record["case"], "units": units, "complete": is_complete(record),
        "property_found": record["property_at"] is not None, "view_due_at": _ts(view_due_ms(record)),
        "generated_at": now,
    }
