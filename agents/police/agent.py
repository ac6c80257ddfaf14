"""Hub side of the police flows (SPEC §4, seed 002): validate, route, correlate, track measures.

court → ``court.requests`` → (validated here) → ``agency.mps.inbox`` → police →
``agency.mps.outbox`` → (correlated here) → ``court.replies`` (what answers a court's request: look-up
and measure replies, release acknowledgements) or ``court.notices`` (what nobody asked for: sightings,
lapses).

Requests are forwarded as the court wrote them with the ``delivered-at`` header (000 §16).  The
``measures`` table knows every measure the police placed (active / released / lapsed, see
:mod:`agents.police.measures`).  Sightings are re-emitted to the court of the measure with
``delivered_active`` set by the hub and the measure's request id, so the court finds them by the
request it sent, whenever they arrive.  The hub lapses a measure at the end of its period
(@on_tick) and tells the court and the police (MeasureLapsed).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from agents.police import measures as ms
from agents.police.models import (
    LAPSED,
    LOOKUP_REPLIES,
    LOOKUPS,
    MEASURE_KIND_OF,
    MEASURE_REPLY,
    MEASURES,
    POLICE_CODE,
    RELEASE,
    RELEASE_ACK,
    SIGHTING,
    VALIDATORS,
    validate_lookup_reply,
    validate_measure_reply,
    validate_release,
    validate_release_ack,
    validate_sighting,
)
from hub.app import emit, forward, runtime
from hub.clock import china_today
from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.delivery import deliver
from hub.envelope import envelope, message
from hub.errors import MeasureMismatch, UnknownAgency, UnknownMeasure, UnknownRequest, ValidationError, WrongAgency
from hub.lifecycle import answer_state, is_terminal, transition
from hub.routing import agency_route, court_route
from hub.tables import hub_table, on_tick, open_rows, requests
from topics.catalog import inbox_name

log = logging.getLogger(__name__)

REPLIES_TOPIC = "court.replies"
NOTICES_TOPIC = "court.notices"
DELIVERED_AT = "delivered-at"
INBOX = inbox_name(POLICE_CODE)

#: measure id -> measure row (agents.police.measures)
measures = hub_table("measures")
#: request id -> what the hub keeps of a measure request until the police name the measure
measure_requests = hub_table("measure_requests")


def _police(code: str) -> None:
    if code != POLICE_CODE:
        raise UnknownAgency(f"police requests go to {POLICE_CODE!r}, not {code!r}", field="envelope.recipient")


async def handle_request(msg: AvroMessage, record: RawRecord) -> None:
    """Look-ups (002 §2(二)) and measures (002 §3(一)-(三))."""
    env, body = msg.envelope, msg.body
    VALIDATORS[msg.schema](body, env["sender"], china_today(runtime.clock))
    _police(env["recipient"])
    case = body["case"]["case_number"]
    new = requests.get(msg.request_id) is None
    if new and msg.schema in MEASURE_KIND_OF:  # kept before forwarding: the police may answer at once
        measure_requests[msg.request_id] = ms.pending(msg.request_id, MEASURE_KIND_OF[msg.schema], body,
                                                      env["sender"], record.partition)
    await deliver(msg.message_type, record.value or b"", request_id=msg.request_id, court=env["sender"], case=case,
                  agency=POLICE_CODE, partition=record.partition, correlation=msg.envelope.get("correlation_id"))


for _schema in (*LOOKUPS, *MEASURES):
    court_route(_schema)(handle_request)


def _answered(msg: AvroMessage) -> dict[str, Any]:
    """The hub's record of the request a police message answers (checked, not yet moved)."""
    rec = requests.get(msg.request_id)
    if rec is None:
        raise UnknownRequest(f"no request {msg.request_id!r} was sent to the police", field="envelope.request_id")
    if rec["agency"] != POLICE_CODE:
        raise WrongAgency(f"request {msg.request_id} was addressed to {rec['agency']}", field="envelope.sender")
    return dict(rec)


def _mark_answered(rec: dict[str, Any]) -> None:
    now = runtime.clock.now_ms()
    if not is_terminal(rec):
        requests[rec["id"]] = transition(rec, answer_state(rec, now), now)


async def handle_lookup_reply(msg: AvroMessage, record: RawRecord) -> None:
    rec = _answered(msg)
    if msg.message_type != rec["type"].removesuffix("Request") + "Reply":
        raise ValidationError(f"{msg.message_type} does not answer a {rec['type']}", field="envelope.request_id")
    validate_lookup_reply(msg.body)
    await forward(REPLIES_TOPIC, rec["case"], record.value or b"", msg.message_type)
    _mark_answered(rec)


for _schema in LOOKUP_REPLIES:
    agency_route(_schema)(handle_lookup_reply)


@agency_route(MEASURE_REPLY)
async def handle_measure_reply(msg: AvroMessage, record: RawRecord) -> None:
    """The police placed (or refused) a measure: from now on the hub tracks it by its id."""
    rec = _answered(msg)
    pending = measure_requests.get(msg.request_id)
    if pending is None:
        raise ValidationError(f"request {msg.request_id} is not a measure request", field="envelope.request_id")
    body = msg.body
    validate_measure_reply(body, pending["kind"])
    if body["outcome"] == "PLACED" and measures.get(body["measure_id"]) is None:
        measures[body["measure_id"]] = ms.placed(body["measure_id"], dict(pending), runtime.clock.now_ms(),
                                                 record.partition)
    await forward(REPLIES_TOPIC, rec["case"], record.value or b"", msg.message_type)
    _mark_answered(rec)


def _measure(measure_id: str) -> dict[str, Any]:
    row = measures.get(measure_id)
    if row is None:
        raise UnknownMeasure(f"no measure {measure_id!r} is known to the hub", field="body.measure_id")
    return dict(row)


@court_route(RELEASE)
async def handle_release(msg: AvroMessage, record: RawRecord) -> None:
    """002 §3(三) last para: the court pushes the release; the measure stops being an active hit now."""
    env, body = msg.envelope, msg.body
    validate_release(body, env["sender"], china_today(runtime.clock), env.get("correlation_id"))
    _police(env["recipient"])
    row = _measure(body["measure_id"])
    if row["court"] != env["sender"] or row["case"] != body["case"]["case_number"]:
        raise MeasureMismatch(f"measure {row['id']} belongs to {row['court']} case {row['case']}",
                              field="body.measure_id")
    if row["kind"] != body["measure_kind"]:
        raise MeasureMismatch(f"measure {row['id']} is a {row['kind']}", field="body.measure_kind")
    if requests.get(msg.request_id) is None:  # released at once: sightings from now on are not active hits
        measures[row["id"]] = ms.release(row, msg.request_id, runtime.clock.now_ms())
    await deliver(msg.message_type, record.value or b"", request_id=msg.request_id, court=env["sender"],
                  case=row["case"], agency=POLICE_CODE, partition=record.partition,
                  correlation=msg.envelope.get("correlation_id"))


@agency_route(RELEASE_ACK)
async def handle_release_ack(msg: AvroMessage, record: RawRecord) -> None:
    rec = _answered(msg)
    if rec["type"] != "MeasureRelease":
        raise ValidationError(f"a release acknowledgement does not answer a {rec['type']}",
                              field="envelope.request_id")
    validate_release_ack(msg.body)
    row = _measure(msg.body["measure_id"])
    measures[row["id"]] = ms.acknowledged(row, msg.body["status"])
    await forward(REPLIES_TOPIC, rec["case"], record.value or b"", msg.message_type)  # answers the release
    _mark_answered(rec)


@agency_route(SIGHTING)
async def handle_sighting(msg: AvroMessage, record: RawRecord) -> None:
    """002 §3(二)-(三): to the court and case of the measure, however late; flagged if no longer active."""
    body = msg.body
    validate_sighting(body, msg.envelope.get("correlation_id"))
    row = _measure(body["measure_id"])
    if row["kind"] != body["measure_kind"]:
        raise MeasureMismatch(f"measure {row['id']} is a {row['kind']}", field="body.measure_kind")
    key = record.key.decode("utf-8", "replace") if record.key else ""
    if key != row["case"]:
        raise MeasureMismatch(f"a sighting is keyed by its measure's case number {row['case']!r}", field="key")
    updated, active = ms.sighted(row)
    measures[row["id"]] = updated
    if not active:
        log.info("sighting %s for %s measure %s delivered for the record only", msg.envelope["message_id"],
                 row["state"], row["id"])
    env = {**msg.envelope, "request_id": row["request_id"], "correlation_id": row["id"], "recipient": row["court"]}
    out = message(SIGHTING, env, {**body, "case_number": row["case"], "delivered_active": active})
    await emit(NOTICES_TOPIC, row["case"], out)


def _lapsed_body(row: dict[str, Any], at_ms: int) -> dict[str, Any]:
    return {"measure_id": row["id"], "measure_kind": row["kind"], "case_number": row["case"],
            "lapsed_at": datetime.fromtimestamp(at_ms / 1000, UTC),
            "control_to": date.fromisoformat(row["end"]) if row["end"] else None}


async def _tell_lapsed(row: dict[str, Any]) -> None:
    at = int(row["lapsed_at"])
    for recipient, topic in ((row["court"], NOTICES_TOPIC), (POLICE_CODE, INBOX)):
        env = envelope(runtime.clock, request_id=row["request_id"], recipient=recipient, correlation_id=row["id"])
        await emit(topic, row["case"], message(LAPSED, env, _lapsed_body(row, at)))


@agency_route(LAPSED)
async def handle_police_lapse(msg: AvroMessage, record: RawRecord) -> None:
    """The police may report a lapse themselves; the court hears of each lapse once."""
    row = _measure(msg.body["measure_id"])
    if not ms.is_active(row):
        log.info("measure %s already %s; police lapse recorded only", row["id"], row["state"])
        return
    lapsed_at = int(msg.body["lapsed_at"].timestamp() * 1000)
    row = ms.lapse(row, lapsed_at)
    measures[row["id"]] = row
    env = {**msg.envelope, "request_id": row["request_id"], "correlation_id": row["id"], "recipient": row["court"]}
    await emit(NOTICES_TOPIC, row["case"], message(LAPSED, env, _lapsed_body(row, lapsed_at)))


@on_tick
async def lapse_measures(partition: int, now_ms: int) -> None:
    """End of the control period (控制期限): the measure lapses; court and police are told."""
    for measure_id, row in open_rows(measures, partition):
        if ms.lapse_due(row, now_ms):
            lapsed = ms.lapse(row, int(row["lapse_at"]))
            measures[measure_id] = lapsed
            await _tell_lapsed(lapsed)
