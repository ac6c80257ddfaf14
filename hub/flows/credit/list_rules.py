"""The dishonest-debtor list's rules against the list as published so far (失信规定 2017), and the due
times of the platform's work (失信规定 art. 9-10, 004 §23); pure.

:func:`decide` checks a decision against the list (the listing exists and is in force, the court owns
it, art. 2 extension limits, art. 10 para 2 termed listings, the 6-month bar of art. 10 last para) and
builds the ListEvent body; :func:`expired_listings` and :func:`expiry_event` delete listings whose term
ended.  Every refusal is a :class:`~hub.errors.HubError` naming the field and the article.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hub.clock import CHINA_TZ
from hub.deadlines import LIST_RULES, RULES, TERM_END_RULE, Deadline, deadline_for, deadline_ms, warning_ms
from hub.errors import ListingRefused, RelistingBarred, UnknownListing
from hub.flows.checks import require
from hub.flows.credit.list_state import ListState
from hub.flows.credit.messages import (
    ABLE_BUT_REFUSING,
    BASE_TERM_YEARS,
    MAX_EXTENSION_YEARS,
    add_months,
    add_years,
    decision_day,
    term_end_for,
)
from hub.flows.credit.rows import as_datetime, epoch_ms
from hub.working_calendar import WorkingCalendar, china_date, end_of_day_ms

ART10_PARA1 = frozenset({"PERFORMED", "SETTLEMENT_PERFORMED", "CREDITOR_APPLICATION", "NO_PROPERTY_AFTER_SWEEPS",
                         "SUSPENDED_BY_RETRIAL_OR_BANKRUPTCY", "NOT_TO_BE_EXECUTED", "EXECUTION_TERMINATED"})
RELISTING_BAR_MONTHS = 6  # art. 10 last para
RESTRICTION_TYPE = "ConsumptionRestriction"  # its rule in hub.deadlines: 3 working days (004 §23)


# --- the decision against the list ------------------------------------------------------------
def decide(state: ListState, body: dict[str, Any], *, request_id: str, sender: str, key: str,
           now_ms: int) -> dict[str, Any] | None:
    """The ListEvent body this decision publishes (digest not yet filled), or None if already published."""
    if request_id in state.decisions:
        return None
    lid, action = str(body["listing_id"]), body["action"]
    decided = as_datetime(body["decided_at"])
    if action == "LIST":
        entry = _new_entry(state, body, decided)
        return event_body(state, lid, action, entry, in_force=True, request_id=request_id, decided=decided,
                          now_ms=now_ms)
    current = state.entries.get(lid)
    if current is None:
        gone = state.removed.get(lid)
        why = f"was removed ({gone.action})" if gone else "was never published"
        raise UnknownListing(f"listing {lid} {why}: nothing to {action.lower()}", field="body.listing_id")
    court = current["content"]["case"]["court"]["court_code"]
    require(court == sender, f"listing {lid} belongs to court {court}, not {sender}", "envelope.sender")
    require(current["content"]["case"]["case_number"] == key, "the record key must be the listing's case number",
            "key")
    if action == "CORRECT":
        entry = {**current, "content": body["content"], "updated_at": decided}
        if body.get("ground") not in (None, "UNKNOWN"):
            entry["ground"] = body["ground"]
        return event_body(state, lid, action, entry, in_force=True, request_id=request_id, decided=decided,
                          now_ms=now_ms, reason=body.get("reason"))
    if action == "EXTEND":
        years = int(body["extension_years"])
        if current["term_end"] is None:
            raise ListingRefused(f"listing {lid} (ground art. 1(一)) has no term to extend (失信规定 art. 2)",
                                 field="body.action")
        total = int(current["extension_years"]) + years
        if total > MAX_EXTENSION_YEARS:
            raise ListingRefused(
                f"extensions would total {total} years; at most {MAX_EXTENSION_YEARS} (失信规定 art. 2)",
                field="body.extension_years")
        entry = {**current, "term_end": add_years(current["term_end"], years), "extension_years": total,
                 "updated_at": decided}
        return event_body(state, lid, action, entry, in_force=True, request_id=request_id, decided=decided,
                          now_ms=now_ms, reason=body.get("reason"))
    ground = body.get("deletion_ground") if action == "DELETE" else None
    if action == "DELETE":
        _check_deletion(current, ground, decided.astimezone(CHINA_TZ).date())
    return event_body(state, lid, action, current, in_force=False, request_id=request_id, decided=decided,
                      now_ms=now_ms, reason=body.get("reason"), deletion_ground=ground)


def _new_entry(state: ListState, body: dict[str, Any], decided: datetime) -> dict[str, Any]:
    lid = str(body["listing_id"])
    if lid in state.entries or lid in state.removed:
        raise ListingRefused(f"listing id {lid} is already used: a new listing needs a new id",
                             field="body.listing_id")
    content = body["content"]
    on = decided.astimezone(CHINA_TZ).date()
    if body.get("requested_by_creditor"):
        barred_since = state.creditor_deletions.get(
            (str(content["subject"]["id_number"]).strip().upper(), content["case"]["case_number"]))
        if barred_since is not None:
            deleted_on = china_date(barred_since)
            if on < add_months(deleted_on, RELISTING_BAR_MONTHS):
                raise RelistingBarred(
                    f"deleted on the creditor's application on {deleted_on}: the creditor may not ask to re-list "
                    f"before {add_months(deleted_on, RELISTING_BAR_MONTHS)} (失信规定 art. 10 last para)",
                    field="body.requested_by_creditor")
    ground, ext = body["ground"], body.get("extension_years") or 0
    term_end = None if ground == ABLE_BUT_REFUSING else term_end_for(body["term_start"], BASE_TERM_YEARS + ext)
    return {
        "listing_id": lid, "ground": ground, "art3_circumstance": body.get("art3_circumstance") or "NONE",
        "content": content, "decision": body["decision_document"], "term_start": body["term_start"],
        "term_end": term_end, "extension_years": ext,
        "requested_by_creditor": bool(body.get("requested_by_creditor")), "listed_at": decided,
        "updated_at": decided,
    }


def _check_deletion(current: dict[str, Any], ground: str | None, on: date) -> None:
    end = current["term_end"]
    if ground == "TERM_EXPIRED":
        require(end is not None and on > end, f"the term has not ended (last day {end})", "body.deletion_ground")
    elif end is not None and ground in ART10_PARA1:
        raise ListingRefused(
            "a listing with a term is deleted when the term ends, or early under art. 2 para 2 (EARLY_DELETION); "
            "art. 10 para 1 does not apply (失信规定 art. 10 para 2)", field="body.deletion_ground")


def event_body(state: ListState, lid: str, action: str, entry: dict[str, Any], *, in_force: bool,
               request_id: str, decided: datetime, now_ms: int, reason: str | None = None,
               deletion_ground: str | None = None) -> dict[str, Any]:
    return {
        "publication_id": state.last_publication_id + 1, "listing_id": lid, "action": action, "entry": entry,
        "in_force": in_force, "deletion_ground": deletion_ground, "reason": reason,
        "decision_request_id": request_id, "decided_at": decided,
        "published_at": as_datetime(now_ms), "list_digest": "", "list_size": 0,
    }


def expired_listings(state: ListState, today: date) -> list[str]:
    """Listings whose term ended before ``today`` (art. 10 para 2: deleted automatically)."""
    return sorted(lid for lid, e in state.entries.items() if e["term_end"] is not None and e["term_end"] < today)


def expiry_event(state: ListState, lid: str, now_ms: int) -> dict[str, Any]:
    entry = state.entries[lid]
    return event_body(state, lid, "DELETE", entry, in_force=False,
                      request_id=f"term-expiry/{lid}/{entry['term_end'].isoformat()}",
                      decided=as_datetime(now_ms), now_ms=now_ms,
                      reason="纳入期限届满 (失信规定 art. 10 para 2)", deletion_ground="TERM_EXPIRED")


def decision_deadline(body: dict[str, Any], now_ms: int,
                      calendar: WorkingCalendar) -> tuple[Deadline | None, int | None]:
    """失信规定 art. 9-10: a revocation, correction or deletion is applied within 3 working days of the decision.

    Returns the deadline and the instant its period runs from (None, None: a listing sets no such deadline).
    """
    rule = LIST_RULES.get(str(body["action"]))
    if rule is None:
        return None, None
    decided = epoch_ms(body["decided_at"])
    return deadline_for(rule, now_ms, calendar, counted_from_ms=decided), decided


def term_end_deadline(event: dict[str, Any], calendar: WorkingCalendar) -> Deadline | None:
    """失信规定 art. 10 para 2: a listing deleted at its term's end is applied within 3 working days after it."""
    if event["deletion_ground"] != "TERM_EXPIRED" or not event["decision_request_id"].startswith("term-expiry/"):
        return None
    last_day: date = event["entry"]["term_end"]
    published = epoch_ms(event["published_at"])
    return deadline_for(TERM_END_RULE, published, calendar, counted_from_ms=end_of_day_ms(last_day) - 1)


def case_of(entry: dict[str, Any]) -> tuple[str, str]:
    """(case number, court code) of a listing record."""
    case = entry["content"]["case"]
    return str(case["case_number"]), str(case["court"]["court_code"])



# --- consumption restriction (限制消费, 004 §23) --------------------------------------------------
def restriction_lift_deadline(body: dict[str, Any], now_ms: int,
                              calendar: WorkingCalendar) -> tuple[Deadline | None, int | None]:
    """004 §23: lift within 3 working days of performance (or of the guarantee / consent); at once if urgent.

    Returns the deadline and the instant its period runs from (None, None for placing: no deadline).
    """
    if body["action"] != "LIFT":
        return None, None
    if body.get("lift_reason") == "URGENT_APPLICATION":
        rule, due = RULES[RESTRICTION_TYPE], end_of_day_ms(decision_day(body))
        return Deadline(warning_ms(now_ms, due, rule.warn_fraction), due, rule.rule_id, False), None
    start: date = body.get("performance_date") or decision_day(body)
    counted_from = end_of_day_ms(start - timedelta(days=1))  # 00:00 China time of that day
    return deadline_ms(RESTRICTION_TYPE, now_ms, calendar, counted_from_ms=counted_from), counted_from
