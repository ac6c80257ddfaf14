"""Message types of the dishonest-debtor list (失信规定 2017) and of consumption restriction (004 §23),
and the checks of what a message says on its own (pure).

:func:`validate_decision` checks what a decision says on its own (art. 1-6, the shape of each
action); :func:`hub.flows.credit.list_rules.decide` then checks it against the list as published so
far.  Every refusal is a :class:`~hub.errors.HubError` naming the field and the article.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from hub.clock import CHINA_TZ
from hub.domain import ADULT_AGE, parse_resident_id
from hub.errors import Art3Bar, IncompleteListingContent, MinorNotListable, ValidationError
from hub.flows.checks import check_case, check_document, check_subject, require
from hub.flows.credit.rows import as_datetime

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
#: the sequencer's outcome for one decision, sent to the decision's partition of ``hub.ticks``
SEQUENCED = "cn.court.interop.ops.ListDecisionSequenced"
#: the message type of a decision's row in the request table
DECISION_TYPE = "ListDecision"
PLATFORM = "platform"
#: recipient of the list's publications (the platform and the joint-punishment units)
LIST_READERS = "list-readers"

ABLE_BUT_REFUSING = "ABLE_BUT_REFUSING"  # art. 1(一): no term
TERMED_GROUNDS = frozenset({"OBSTRUCTING_EXECUTION", "EVADING_EXECUTION", "VIOLATING_PROPERTY_REPORTING",
                            "VIOLATING_CONSUMPTION_RESTRICTION", "BREACHING_SETTLEMENT"})  # art. 1(二)-(六)
BASE_TERM_YEARS = 2  # art. 2
MAX_EXTENSION_YEARS = 3  # art. 2: 延长一至三年


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
    return as_datetime(body["decided_at"]).astimezone(CHINA_TZ).date()


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
