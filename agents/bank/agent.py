"""Hub side of the bank flows (SPEC §3): validate, route, verify seals, correlate, fan out.

court → ``court.requests`` → (validated here) → ``agency.<bank>.inbox`` → bank →
``agency.<bank>.outbox`` → (seal and sender verified here) → ``court.replies``.
Requests are forwarded as the court wrote them, with the delivery time (000 §16: the moment the
request reached the hub) in the ``delivered-at`` header; the bank echoes it in its reply.
Replies are forwarded to the court byte for byte, so the bank's seal stays verifiable.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from agents.bank import intensive as iq
from agents.bank.models import (
    ESCALATION,
    INTENSIVE,
    INTENSIVE_RESULT,
    QUERY,
    REPLIES,
    SINGLE_REQUESTS,
    VALIDATORS,
    VIEWED,
)
from hub.app import emit, forward, runtime, settings
from hub.clock import china_today
from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.deadline_tracker import on_expired
from hub.deadlines import deadline_ms
from hub.delivery import deliver
from hub.envelope import envelope, message
from hub.errors import (
    RequestRefused,
    UnknownAgency,
    UnknownRequest,
    UnknownSealKey,
    ValidationError,
    WrongAgency,
)
from hub.lifecycle import State, answer_state, can_transition, is_terminal, new_record, transition
from hub.routing import agency_route, court_route
from hub.seal import KeyStore, SealVerifier
from hub.tables import hub_table, on_tick, open_rows, requests

log = logging.getLogger(__name__)

REPLIES_TOPIC = "court.replies"
NOTICES_TOPIC = "court.notices"

#: intensive-query id -> intensive record (agents.bank.intensive)
intensive = hub_table("intensive")
#: case number -> intensive-query ids of that case
intensive_by_case = hub_table("intensive_by_case")

_verifier: SealVerifier | None = None


def verifier(reload: bool = False) -> SealVerifier:
    """Registered public keys of the agencies (``<data_dir>/keys/registry.json``)."""
    global _verifier
    if _verifier is None or reload:
        _verifier = KeyStore(settings.data_dir).verifier()
    return _verifier


def _financial(code: str) -> None:
    agency = next((a for a in runtime.catalog.agencies if a.code == code), None)
    if agency is None or not agency.is_financial:
        raise UnknownAgency(f"{code!r} is not a bank, payment firm or securities unit of the hub",
                            field="envelope.recipient")


def _refuse_if_intensive_pending(case: str, unit: str) -> None:
    """Seed 001: until the units of an intensive query have answered, the court may not query them itself."""
    for iid in intensive_by_case.get(case) or []:
        rec = intensive.get(iid)
        if rec is not None and unit in iq.pending_units(rec):
            raise RequestRefused(
                f"intensive query {iid} for this case is pending and {unit} has not answered yet (seed 001)",
                field="envelope.recipient",
            )


async def handle_single(msg: AvroMessage, record: RawRecord) -> None:
    env, body = msg.envelope, msg.body
    VALIDATORS[msg.schema](body, env["sender"], china_today(runtime.clock))
    agency = env["recipient"]
    _financial(agency)
    case = body["case"]["case_number"]
    if msg.schema == QUERY and requests.get(msg.request_id) is None:
        _refuse_if_intensive_pending(case, agency)
    await deliver(msg.message_type, record.value or b"", request_id=msg.request_id, court=env["sender"],
                  case=case, agency=agency, partition=record.partition)


for _schema in SINGLE_REQUESTS:
    court_route(_schema)(handle_single)


def _household_place(body: dict[str, Any]) -> str | None:
    place = body.get("household_registration_place_code")
    if place:
        return str(place)
    subject = body["subject"]
    return str(subject["id_number"][:6]) if subject["id_type"] == "RESIDENT_ID" else None


def _unit_names() -> dict[str, str]:
    return {a.code: a.name_zh for a in runtime.catalog.agencies}


async def _emit_result(rec: dict[str, Any], court: str) -> None:
    env = envelope(runtime.clock, request_id=rec["id"], recipient=court)
    body = iq.result_body(rec, _unit_names(), runtime.clock.now())
    await emit(REPLIES_TOPIC, rec["case"], message(INTENSIVE_RESULT, env, body))


@court_route(INTENSIVE)
async def handle_intensive(msg: AvroMessage, record: RawRecord) -> None:
    env, body = msg.envelope, msg.body
    VALIDATORS[INTENSIVE](body, env["sender"], china_today(runtime.clock))
    iid, case, court = msg.request_id, body["case"]["case_number"], env["sender"]
    existing = intensive.get(iid)
    if existing is not None:
        await _emit_result(existing, court)  # a resend gets the current merged result
        return
    units = iq.unit_set(runtime.catalog.agencies, _household_place(body), body["court_place_code"])
    now = runtime.clock.now_ms()
    filing = body["case"]["filing_date"]
    rec = iq.new_intensive(
        iid, case=case, court=dict(body["case"]["court"]), filing_date=filing.toordinal(),
        officer=_json_safe(body["officer"]), units=units, now_ms=now, partition=record.partition,
    )
    intensive[iid] = rec
    intensive_by_case[case] = [*(intensive_by_case.get(case) or []), iid]
    deadline = deadline_ms(msg.message_type, now, runtime.calendar.current)
    parent = new_record(iid, type_=msg.message_type, court=court, case=case, agency="intensive", now_ms=now,
                        partition=record.partition, deadline=deadline)
    # Routed to its units, whose own rows carry the deadlines: the intensive query is never overdue itself,
    # it completes when the last unit answers or is NO_RESPONSE at its deadline (seed 001 §(一)1).
    requests[iid] = transition(parent, State.ROUTED, now)
    for unit in sorted(units):
        child = message(QUERY, envelope(runtime.clock, request_id=f"{iid}.{unit}", sender=court, recipient=unit,
                                        correlation_id=iid), {
            "case": body["case"], "subject": body["subject"], "officer": body["officer"],
            "assistance_notice": body["assistance_notice"], "purpose": "INTENSIVE",
            "transaction_window": body.get("transaction_window"),
        })
        await deliver("QueryRequest", runtime.codec.encode_message(child), request_id=child.request_id,
                      court=court, case=case, agency=unit, partition=record.partition, correlation=iid)
    await _emit_result(rec, court)


def _json_safe(value: Any) -> Any:
    """Dates inside a table row become ISO strings (table values are JSON)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@court_route(VIEWED)
async def handle_viewed(msg: AvroMessage, record: RawRecord) -> None:
    """The officer has viewed the property feedback (seed 001 §(一)2)."""
    case = msg.body["case_number"]
    now = runtime.clock.now_ms()
    for iid in intensive_by_case.get(case) or []:
        rec = intensive.get(iid)
        if rec is not None and rec["property_at"] is not None:
            intensive[iid] = iq.mark_viewed(rec, now)


async def handle_reply(msg: AvroMessage, record: RawRecord) -> None:
    agency = msg.envelope["sender"]
    rec = requests.get(msg.request_id)
    if rec is None:
        raise UnknownRequest(f"no request {msg.request_id!r} was sent to {agency}", field="envelope.request_id")
    if rec["agency"] != agency:
        raise WrongAgency(f"request {msg.request_id} was addressed to {rec['agency']}, not {agency}",
                          field="envelope.sender")
    try:
        verifier().verify(runtime.codec, msg, agency)
    except UnknownSealKey:
        verifier(reload=True).verify(runtime.codec, msg, agency)  # keys registered since start-up
    delivered = int(msg.body["delivered_at"].timestamp() * 1000)
    if delivered != rec["accepted"]:
        raise ValidationError(f"delivery time {delivered} differs from the hub's record {rec['accepted']} (000 §16)",
                              field="body.delivered_at")
    await forward(REPLIES_TOPIC, rec["case"], record.value or b"", msg.message_type, request_id=msg.request_id)
    now = runtime.clock.now_ms()
    rec = requests.get(msg.request_id) or rec  # re-read: a deadline may have moved it while we awaited
    if not is_terminal(rec):
        requests[msg.request_id] = transition(rec, answer_state(rec, now), now)
    if rec["corr"]:
        await _intensive_reply(rec["corr"], agency, msg, now)


async def _intensive_reply(iid: str, unit: str, msg: AvroMessage, now: int) -> None:
    rec = intensive.get(iid)
    if rec is None:
        return
    updated = iq.apply_reply(rec, unit, msg.body, str(msg.envelope["message_id"]), now)
    if updated is rec:
        return
    intensive[iid] = updated
    parent = requests.get(iid)
    if parent is not None and not is_terminal(parent):
        requests[iid] = transition(parent, answer_state(parent, now, complete=iq.is_complete(updated)), now)
    await _emit_result(updated, parent["court"] if parent else "")


for _schema in REPLIES:
    agency_route(_schema)(handle_reply)


@on_expired
async def unit_without_response(child: dict[str, Any], now: int) -> None:
    """Seed 001 §(一)1: a unit silent past its deadline is NO_RESPONSE; the last one completes the result."""
    iid = child.get("corr")
    rec = intensive.get(iid) if iid else None
    if rec is None:
        return
    updated = iq.mark_no_response(rec, str(child["agency"]))
    if updated is rec:
        return
    intensive[iid] = updated
    if not iq.is_complete(updated):
        return  # the final result names every unit's state at once
    parent = requests.get(iid)
    if parent is not None and can_transition(parent, State.ANSWERED):  # complete at the deadline: on time
        requests[iid] = transition(parent, State.ANSWERED, now)
    await _emit_result(updated, parent["court"] if parent else str(child["court"]))


@on_tick
async def escalate_unviewed_property(partition: int, now_ms: int) -> None:
    """Seed 001 §(一)2: property feedback not viewed within 3 days goes to supervision (执行督办)."""
    for iid, rec in open_rows(intensive, partition):
        if not iq.escalation_due(rec, now_ms):
            continue
        intensive[iid] = {**rec, "escalated_at": now_ms}
        body = {
            "case": {"case_number": rec["case"], "court": rec["court"],
                     "filing_date": datetime.fromordinal(int(rec["filing_date"])).date()},
            "officer": _officer(rec["officer"]),
            "feedback_at": _ts(rec["property_at"]), "due_at": _ts(iq.view_due_ms(rec)), "escalated_at": _ts(now_ms),
            "unit_codes": sorted(c for c, u in rec["units"].items() if u["state"] == "HIT"),
            "note": "property feedback not viewed within 3 days (seed 001 §(一)2)",
        }
        court = rec["court"]["court_code"]
        await emit(NOTICES_TOPIC, rec["case"], message(ESCALATION, envelope(runtime.clock, request_id=iid,
                                                                             recipient=court), body))


def _officer(stored: dict[str, Any]) -> dict[str, Any]:
    doc = dict(stored["official_id"])
    if doc.get("issued_on"):
        doc["issued_on"] = date.fromisoformat(doc["issued_on"])
    return {**stored, "official_id": doc}


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None
