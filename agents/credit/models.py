"""Rule checks of the dishonest-debtor list (失信规定 2017) and of consumption restriction (004 §23).

:func:`validate_decision` checks what a decision says on its own (art. 1-6, the shape of each
action); :func:`decide` checks it against the list as published so far (the listing exists and is
in force, the court owns it, art. 2 extension limits, art. 10 para 2 termed listings, the 6-month
bar of art. 10 last para) and builds the ListEvent body.  Every refusal is a
:class:`~hub.errors.HubError` naming the field and the article.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agents.common import check_case, check_document, check_subject, require
from agents.credit.state import ListState
from hub.clock import CHINA_TZ
from hub.deadlines import LIST_RULES, RULES, TERM_END_RULE, Deadline, deadline_for, deadline_ms, warning_ms
from hub.domain import ADULT_AGE, parse_resident_id
from hub.errors import (
    Art3Bar,
    IncompleteListingContent,
    ListingRefused,
    MinorNotListable,
    RelistingBarred,
    UnknownListing,
    ValidationError,
)
from hub.working_calendar import WorkingCalendar, china_date, end_of_day_ms

NS = "cn.court.interop.credit"
DECISION = f"{NS}.ListDecision"
EVENT = f"{NS}.ListEvent"
ENTRY = f"{NS}.ListEntry"
ACK = f"{NS}.ListAck"
LOOKUP = f"{NS}.ListLookupRequest"
LOOKUP_REPLY = f"{NS}.ListLookupReply"
RESTRICTION = f"{NS}.ConsumptionRestriction"
RESTRICTION_ACK = f"{NS}.ConsumptionRestrictionAck"
DEADLINE_EVENT = "cn.court.interop.ops.DeadlineEvent"
PLATFORM = "platform"

ABLE_BUT_REFUSING = "ABLE_BUT_REFUSING"  # art. 1(一): no term
TERMED_GROUNDS = frozenset({"OBSTRUCTING_EXECUTION", "EVADING_EXECUTION", "VIOLATING_PROPERTY_REPORTING",
                            "VIOLATING_CONSUMPTION_RESTRICTION", "BREACHING_SETTLEMENT"})  # art. 1(二)-(六)
BASE_TERM_YEARS = 2  # art. 2
MAX_EXTENSION_YEARS = 3  # art. 2: 延长一至三年
ART10_PARA1 = frozenset({"PERFORMED", "SETTLEMENT_PERFORMED", "CREDITOR_APPLICATION", "NO_PROPERTY_AFTER_SWEEPS",
                         "SUSPENDED_BY_RETRIAL_OR_BANKRUPTCY", "NOT_TO_BE_EXECUTED", "EXECUTION_TERMINATED"})
RELISTING_BAR_MONTHS = 6  # art. 10 last para

RESTRICTION_TYPE = "ConsumptionRestriction"  # its rule in hub.deadlines: 3 working days (004 §23)


# --- dates ---------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """Same day ``months`` later; a missing day becomes the month's last (Civil Code art. 202)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def term_end_for(start: date, years: int) -> date:
    """Last day of a term of ``years`` starting on ``start`` (2 years from 2025-03-01 end on 2027-02-28)."""
    return add_years(start, years) - timedelta(days=1)


def decision_day(body: dict[str, Any]) -> date:
    return _as_dt(body["decided_at"]).astimezone(CHINA_TZ).date()


def _as_dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromtimestamp(int(value) / 1000, UTC)


def _ms(value: Any) -> int:
    return int(_as_dt(value).timestamp() * 1000)


# --- art. 4 and art. 6 ------------------------------------------------------------------------
def check_not_minor(subject: dict[str, Any], age: int | None, on: date, field: str) -> None:
    """失信规定 art. 4: a minor on the decision date may not be listed (age from the resident ID)."""
    if subject["kind"] != "PERSON":
        return
    if subject["id_type"] == "RESIDENT_ID":
        rid = parse_resident_id(subject["id_number"], field=f"{field}.subject.id_number")
        if rid.is_minor_on(on):
            raise MinorNotListable(
                f"the debtor is {rid.age_on(on)} on {on.isoformat()}: a minor may not be listed (失信规定 art. 4)",
                field=f"{field}.subject.id_number")
        require(age is None or age == rid.age_on(on),
                f"age {age} disagrees with the resident ID ({rid.age_on(on)} on {on.isoformat()})", f"{field}.age")
    elif age is not None and age < ADULT_AGE:
        raise MinorNotListable(f"the debtor is {age}: a minor may not be listed (失信规定 art. 4)",
                               field=f"{field}.age")


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_content(content: dict[str, Any] | None, sender: str, today: date, on: date,
                  field: str = "body.content") -> None:
    """失信规定 art. 6: everything the list must record and publish is there."""
    if content is None:
        raise IncompleteListingContent("the art. 6 content of the listing is missing (失信规定 art. 6)", field=field)
    subject = content["subject"]
    check_not_minor(subject, content.get("age"), on, field)
    missing = [name for name in ("obligation", "performance", "dishonest_behaviour", "enforcement_basis_issuer",
                                 "enforcement_basis_number") if not _filled(content.get(name))]
    if subject["kind"] == "PERSON":
        if subject.get("gender") in (None, "UNKNOWN"):
            missing.append("subject.gender")
        if content.get("age") is None:
            missing.append("age")
    elif not _filled(subject.get("legal_representative")):
        missing.append("subject.legal_representative")
    if missing:
        raise IncompleteListingContent(f"art. 6 content incomplete: {', '.join(missing)} missing (失信规定 art. 6)",
                                       field=f"{field}.{missing[0]}")
    check_subject(subject, today, f"{field}.subject")
    check_case(content["case"], sender, today, f"{field}.case")


# --- the decision on its own ------------------------------------------------------------------
def validate_decision(body: dict[str, Any], sender: str, key: str, today: date) -> None:
    """What a ListDecision must say for its action (stateless; :func:`decide` checks the list)."""
    action, on = body["action"], decision_day(body)
    require(bool(str(body["listing_id"]).strip()), "listing_id is empty", "body.listing_id")
    if action == "LIST":
        ground = body.get("ground")
        require(ground not in (None, "UNKNOWN"), "a listing needs its ground (art. 1 item)", "body.ground")
        if ground == ABLE_BUT_REFUSING and body.get("art3_circumstance") != "NONE":
            raise Art3Bar(f"ground art. 1(一) may not be used: the court found {body.get('art3_circumstance')} "
                          "(失信规定 art. 3)", field="body.art3_circumstance")
        check_content(body.get("content"), sender, today, on)
        require(body.get("decision_document") is not None, "the listing decision (决定书, art. 5) is missing",
                "body.decision_document")
        check_document(body["decision_document"], None, "body.decision_document")
        require(body.get("term_start") is not None, "term_start is missing", "body.term_start")
        _check_term(body, str(ground))
        require(body["content"]["case"]["case_number"] == key, "the record key must be the listing's case number",
                "key")
    elif action == "CORRECT":
        check_content(body.get("content"), sender, today, on)
        require(body["content"]["case"]["case_number"] == key, "the record key must be the listing's case number",
                "key")
    elif action == "REVOKE":
        require(_filled(body.get("reason")), "say why the listing was wrong (失信规定 art. 9 para 1)", "body.reason")
    elif action == "DELETE":
        require(body.get("deletion_ground") not in (None, "OTHER") or _filled(body.get("reason")),
                "a deletion needs its ground (失信规定 art. 10)", "body.deletion_ground")
    elif action == "EXTEND":
        years = body.get("extension_years")
        require(years is not None and 1 <= years <= MAX_EXTENSION_YEARS,
                "an extension adds 1 to 3 years (失信规定 art. 2)", "body.extension_years")
        require(_filled(body.get("reason")), "say why (情节严重或具有多项失信行为, art. 2)", "body.reason")
    else:
        raise ValidationError(f"unknown list action {action!r}", field="body.action")


def _check_term(body: dict[str, Any], ground: str) -> None:
    start, end, ext = body["term_start"], body.get("term_end"), body.get("extension_years") or 0
    if ground == ABLE_BUT_REFUSING:
        require(end is None and ext == 0, "ground art. 1(一) has no term", "body.term_end")
        return
    require(0 <= ext <= MAX_EXTENSION_YEARS, "an extension adds 1 to 3 years (失信规定 art. 2)",
            "body.extension_years")
    expected = term_end_for(start, BASE_TERM_YEARS + ext)
    require(end is None or end == expected,
            f"the term of grounds art. 1(二)-(六) is {BASE_TERM_YEARS + ext} years: it ends on {expected}"
            " (失信规定 art. 2)", "body.term_end")


# --- the decision against the list ------------------------------------------------------------
def decide(state: ListState, body: dict[str, Any], *, request_id: str, sender: str, key: str,
           now_ms: int) -> dict[str, Any] | None:
    """The ListEvent body this decision publishes (digest not yet filled), or None if already published."""
    if request_id in state.decisions:
        return None
    lid, action = str(body["listing_id"]), body["action"]
    decided = _as_dt(body["decided_at"])
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
        "published_at": datetime.fromtimestamp(now_ms / 1000, UTC), "list_digest": "", "list_size": 0,
    }


def expired_listings(state: ListState, today: date) -> list[str]:
    """Listings whose term ended before ``today`` (art. 10 para 2: deleted automatically)."""
    return sorted(lid for lid, e in state.entries.items() if e["term_end"] is not None and e["term_end"] < today)


def expiry_event(state: ListState, lid: str, now_ms: int) -> dict[str, Any]:
    entry = state.entries[lid]
    return event_body(state, lid, "DELETE", entry, in_force=False,
                      request_id=f"term-expiry/{lid}/{entry['term_end'].isoformat()}",
                      decided=datetime.fromtimestamp(now_ms / 1000, UTC), now_ms=now_ms,
                      reason="纳入期限届满 (失信规定 art. 10 para 2)", deletion_ground="TERM_EXPIRED")


def decision_deadline(body: dict[str, Any], now_ms: int,
                      calendar: WorkingCalendar) -> tuple[Deadline | None, int | None]:
    """失信规定 art. 9-10: a revocation, correction or deletion is applied within 3 working days of the decision.

    Returns the deadline and the instant its period runs from (None, None: a listing sets no such deadline).
    """
    rule = LIST_RULES.get(str(body["action"]))
    if rule is None:
        return None, None
    decided = _ms(body["decided_at"])
    return deadline_for(rule, now_ms, calendar, counted_from_ms=decided), decided


def term_end_deadline(event: dict[str, Any], calendar: WorkingCalendar) -> Deadline | None:
    """失信规定 art. 10 para 2: a listing deleted at its term's end is applied within 3 working days after it."""
    if event["deletion_ground"] != "TERM_EXPIRED" or not event["decision_request_id"].startswith("term-expiry/"):
        return None
    last_day: date = event["entry"]["term_end"]
    published = _ms(event["published_at"])
    return deadline_for(TERM_END_RULE, published, calendar, counted_from_ms=end_of_day_ms(last_day) - 1)


def case_of(entry: dict[str, Any]) -> tuple[str, str]:
    """(case number, court code) of a listing record."""
    case = entry["content"]["case"]
    return str(case["case_number"]), str(case["court"]["court_code"])


# --- consumption restriction (限制消费, 004 §23) --------------------------------------------------
def validate_restriction(body: dict[str, Any], sender: str, today: date) -> None:
    check_case(body["case"], sender, today)
    check_subject(body["subject"], today)
    require(bool(str(body["restriction_id"]).strip()), "restriction_id is empty", "body.restriction_id")
    if body["action"] == "PLACE":
        require(body.get("order") is not None, "the restriction order is missing", "body.order")
    elif body["action"] == "LIFT":
        require(body.get("lift_reason") is not None, "say why the restriction is lifted (004 §23)",
                "body.lift_reason")
        require(body.get("lift_reason") != "PERFORMED" or body.get("performance_date") is not None,
                "a lift after performance needs the performance date (004 §23)", "body.performance_date")
    else:
        raise ValidationError(f"unknown restriction action {body['action']!r}", field="body.action")


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


def subject_id(subject: dict[str, Any]) -> str:
    return str(subject["id_number"]).strip().upper()

