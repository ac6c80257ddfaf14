"""The hub side of the police flows (SPEC §4, seed 002), driven through the real intake without Kafka."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from agents.court.adapter import CourtClient, document, officer, person
from agents.police import court_api as api
from hub.clock import ManualClock
from hub.codec import AvroMessage, default_codec
from hub.envelope import envelope, message
from hub.flows import police
from hub.flows.police.handlers import PoliceFlow
from hub.flows.police.messages import (
    HOTEL,
    IDENTITY,
    LAPSED,
    MEASURE_REPLY,
    POLICE_CODE,
    RELEASE_ACK,
    SIGHTING,
)
from hub.flows.police.rows import MeasureRequestRow, MeasureState, lapse_instant_ms
from hub.lifecycle import State, new_record, transition
from hub.memory_backend import MemoryHub, Sent
from hub.outbound import DELIVERED_AT
from hub.settings import HubSettings

CODEC = default_codec()
COURT = "京0105"
CASE_NUMBER = "（2024）京0105执1234号"
OTHER_CASE = "（2024）京0105执77号"
SUBJECT = person("张三", "11010519491231002X")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
CONTROL_TO = date(2025, 1, 5)  # the hub's clock starts on 2025-01-02
PARTITION = 3
INBOX, OUTBOX = "agency.mps.inbox", "agency.mps.outbox"


@pytest.fixture
def hub(bare_hub: MemoryHub) -> MemoryHub:
    police.register(bare_hub.ctx)
    return bare_hub


def _court(hub: MemoryHub) -> CourtClient:
    return CourtClient(HubSettings(), COURT, clock=hub.ctx.clock)


def _clock(hub: MemoryHub) -> ManualClock:
    clock = hub.ctx.clock
    assert isinstance(clock, ManualClock)
    return clock


def _decoded(hub: MemoryHub, topic: str) -> list[AvroMessage]:
    return [CODEC.decode(s.value or b"") for s in hub.sender.on(topic)]


def _error_codes(hub: MemoryHub, topic: str) -> list[str]:
    return [m.body["error_code"] for m in _decoded(hub, topic) if m.message_type == "ErrorReply"]


async def _from_court(hub: MemoryHub, msg: AvroMessage, key: str = CASE_NUMBER) -> bytes:
    raw = CODEC.encode_message(msg)
    await hub.receive("court.requests", key.encode(), raw, partition=PARTITION)
    return raw


async def _from_police(hub: MemoryHub, schema: str, request_id: str, body: dict[str, Any], *,
                       key: str = CASE_NUMBER, correlation_id: str | None = None) -> bytes:
    env = envelope(hub.ctx.clock, request_id=request_id, sender=POLICE_CODE, recipient=COURT,
                   correlation_id=correlation_id)
    raw = CODEC.encode_message(message(schema, env, body))
    await hub.receive(OUTBOX, key.encode(), raw, partition=PARTITION)
    return raw


def _identity_lookup(hub: MemoryHub) -> AvroMessage:
    court = _court(hub)
    return api.identity_lookup(court, case=court.case(CASE_NUMBER, date(2024, 3, 1)), subject=SUBJECT,
                               officer=OFFICER)


def _exit_restriction(hub: MemoryHub, control_to: date = CONTROL_TO) -> AvroMessage:
    court = _court(hub)
    return api.exit_restriction(court, case=court.case(CASE_NUMBER, date(2024, 3, 1)), subject=SUBJECT,
                                officer=OFFICER, decision=document("EXIT_RESTRICTION_DECISION", "限出1"),
                                control_from=date(2025, 1, 2), control_to=control_to)


def _release(hub: MemoryHub, measure_id: str, *, case_number: str = CASE_NUMBER,
             kind: str = "EXIT_RESTRICTION") -> AvroMessage:
    court = _court(hub)
    return api.release(court, measure_id=measure_id, measure_kind=kind,
                       case=court.case(case_number, date(2024, 3, 1)), subject=SUBJECT, officer=OFFICER,
                       reason="已履行")


def _not_found(hub: MemoryHub) -> dict[str, Any]:
    return {"status": "NOT_FOUND", "reason": "查无此人身份信息", "answered_at": hub.ctx.clock.now(), "persons": []}


def _placed(hub: MemoryHub, measure_id: str = "BK1", kind: str = "EXIT_RESTRICTION") -> dict[str, Any]:
    return {"measure_kind": kind, "outcome": "PLACED", "measure_id": measure_id, "reason": None,
            "placed_at": hub.ctx.clock.now(), "effective_to": CONTROL_TO, "handling_unit": "边防检查总站"}


def _sighting(hub: MemoryHub, measure_id: str = "BK1") -> dict[str, Any]:
    return {"measure_id": measure_id, "measure_kind": "EXIT_RESTRICTION", "kind": "BORDER_EXIT_ATTEMPT",
            "observed_at": hub.ctx.clock.now(), "place": "罗湖口岸", "place_code": "440303", "details": None,
            "reporting_unit": None, "contact_phone": None, "case_number": None, "delivered_active": True}


async def _measure_placed(hub: MemoryHub) -> AvroMessage:
    """An exit restriction delivered to the police and placed by them as measure BK1."""
    request = _exit_restriction(hub)
    await _from_court(hub, request)
    await _from_police(hub, MEASURE_REPLY, request.request_id, _placed(hub))
    return request


def _measure(hub: MemoryHub, measure_id: str = "BK1") -> dict[str, Any]:
    row: dict[str, Any] = hub.table("measures")[measure_id]
    return row


# --- court -> police: delivery ------------------------------------------------------------------
async def test_register_returns_the_flow_with_its_tables(bare_hub: MemoryHub) -> None:
    flow = police.register(bare_hub.ctx)
    assert isinstance(flow, PoliceFlow)
    assert flow.measures is bare_hub.table("measures")
    assert IDENTITY in bare_hub.ctx.hooks.court_routes and SIGHTING in bare_hub.ctx.hooks.agency_routes
    assert flow.lapse_measures in bare_hub.ctx.hooks.ticks


async def test_an_accepted_lookup_reaches_the_police_inbox_with_its_delivery_time_000_s16(hub: MemoryHub) -> None:
    request = _identity_lookup(hub)
    raw = await _from_court(hub, request)
    now = hub.ctx.clock.now_ms()
    assert hub.sender.on(INBOX) == [Sent(INBOX, CASE_NUMBER.encode(), raw, None, ((DELIVERED_AT, str(now).encode()),))]
    row = hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.DELIVERED and row.agency == POLICE_CODE
    assert (row.court, row.case_number, row.partition, row.accepted_ms) == (COURT, CASE_NUMBER, PARTITION, now)
    assert not hub.table("measure_requests"), "a look-up is no measure request"


async def test_a_resend_goes_to_the_police_again_with_its_first_delivery_time_000_s16(hub: MemoryHub) -> None:
    request = _identity_lookup(hub)
    raw = await _from_court(hub, request)
    first = hub.ctx.clock.now_ms()
    _clock(hub).advance(timedelta(minutes=5))
    await _from_court(hub, request)
    assert [s.value for s in hub.sender.on(INBOX)] == [raw, raw]
    assert [s.headers for s in hub.sender.on(INBOX)] == [((DELIVERED_AT, str(first).encode()),)] * 2


async def test_a_police_request_addressed_to_another_agency_is_refused_as_unknown_agency(hub: MemoryHub) -> None:
    court = _court(hub)
    misaddressed = court.request(IDENTITY, "icbc", _identity_lookup(hub).body)
    await _from_court(hub, misaddressed)
    assert not hub.sender.on(INBOX)
    assert _error_codes(hub, "court.replies") == ["unknown_agency"]
    row = hub.ctx.requests.get(misaddressed.request_id)
    assert row is not None and row.state is State.REJECTED


async def test_an_exit_restriction_whose_control_period_has_ended_is_dead_lettered_002_s3_1(
        hub: MemoryHub) -> None:
    """002 §3(一)1: the control period (控制期限) must still run."""
    request = _exit_restriction(hub, control_to=date(2025, 1, 1))
    await _from_court(hub, request)
    [dead] = _decoded(hub, "ops.deadletter")
    [reply] = _decoded(hub, "court.replies")
    assert dead.body["reason_code"] == "invalid" and reply.body["field"] == "body.control_to"
    assert reply.request_id == request.request_id and reply.envelope["recipient"] == COURT
    assert not hub.sender.on(INBOX) and not hub.table("measure_requests")


async def test_a_measure_request_is_kept_before_it_is_forwarded_002_s3_1(hub: MemoryHub) -> None:
    request = _exit_restriction(hub)
    await _from_court(hub, request)
    kept = MeasureRequestRow.from_json(hub.table("measure_requests")[request.request_id])
    assert (kept.measure_kind, kept.court, kept.case_number, kept.last_day, kept.partition) == (
        "EXIT_RESTRICTION", COURT, CASE_NUMBER, CONTROL_TO, PARTITION)
    assert len(hub.sender.on(INBOX)) == 1


# --- police -> court: answers -------------------------------------------------------------------
async def test_a_lookup_reply_is_forwarded_byte_for_byte_and_answers_the_request_002_s2_2(hub: MemoryHub) -> None:
    request = _identity_lookup(hub)
    await _from_court(hub, request)
    raw = await _from_police(hub, f"{IDENTITY.removesuffix('Request')}Reply", request.request_id, _not_found(hub))
    assert [(s.key, s.value) for s in hub.sender.on("court.replies")] == [(CASE_NUMBER.encode(), raw)]
    row = hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.ANSWERED


async def test_a_reply_of_another_lookup_type_does_not_answer_the_request(hub: MemoryHub) -> None:
    request = _identity_lookup(hub)
    await _from_court(hub, request)
    hotel_reply = {"status": "NOT_FOUND", "reason": "无", "answered_at": hub.ctx.clock.now(), "stays": []}
    await _from_police(hub, f"{HOTEL.removesuffix('Request')}Reply", request.request_id, hotel_reply)
    assert not hub.sender.on("court.replies")
    assert _error_codes(hub, INBOX) == ["invalid"]
    row = hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.DELIVERED


async def test_an_answer_to_an_unknown_request_is_dead_lettered_with_an_error_reply(hub: MemoryHub) -> None:
    await _from_police(hub, f"{IDENTITY.removesuffix('Request')}Reply", "no-such-request", _not_found(hub))
    [dead] = _decoded(hub, "ops.deadletter")
    assert dead.body["reason_code"] == "unknown_request"
    [reply] = [m for m in _decoded(hub, INBOX) if m.message_type == "ErrorReply"]
    assert reply.envelope["recipient"] == POLICE_CODE and reply.body["error_code"] == "unknown_request"
    assert not hub.sender.on("court.replies")


async def test_an_answer_to_a_request_sent_to_another_agency_is_refused_as_wrong_agency(hub: MemoryHub) -> None:
    now = hub.ctx.clock.now_ms()
    bank_request = new_record("to-icbc", type_="QueryRequest", court=COURT, case=CASE_NUMBER, agency="icbc",
                              now_ms=now, partition=PARTITION, deadline=None)
    hub.ctx.requests.put(transition(transition(bank_request, State.ROUTED, now), State.DELIVERED, now))
    await _from_police(hub, f"{IDENTITY.removesuffix('Request')}Reply", "to-icbc", _not_found(hub))
    assert _error_codes(hub, INBOX) == ["wrong_agency"]
    row = hub.ctx.requests.get("to-icbc")
    assert row is not None and row.state is State.DELIVERED


async def test_a_placed_measure_is_tracked_by_its_id_and_the_reply_forwarded_002_s3_1(hub: MemoryHub) -> None:
    request = _exit_restriction(hub)
    await _from_court(hub, request)
    raw = await _from_police(hub, MEASURE_REPLY, request.request_id, _placed(hub))
    assert [s.value for s in hub.sender.on("court.replies")] == [raw]
    measure = _measure(hub)
    assert (measure["state"], measure["request_id"], measure["court"], measure["case"], measure["p"]) == (
        "active", request.request_id, COURT, CASE_NUMBER, PARTITION)
    assert measure["lapse_at"] == lapse_instant_ms(CONTROL_TO)
    row = hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.ANSWERED


async def test_a_refused_measure_is_forwarded_but_not_tracked_002_s3_1(hub: MemoryHub) -> None:
    request = _exit_restriction(hub)
    await _from_court(hub, request)
    refused = {**_placed(hub), "outcome": "REFUSED", "measure_id": None, "reason": "查无此人身份信息，无法布控"}
    raw = await _from_police(hub, MEASURE_REPLY, request.request_id, refused)
    assert [s.value for s in hub.sender.on("court.replies")] == [raw]
    assert not hub.table("measures")


async def test_a_measure_reply_of_another_kind_is_refused_002_s3(hub: MemoryHub) -> None:
    request = _exit_restriction(hub)
    await _from_court(hub, request)
    await _from_police(hub, MEASURE_REPLY, request.request_id, _placed(hub, kind="LOCATE_PERSON"))
    [reply] = [m for m in _decoded(hub, INBOX) if m.message_type == "ErrorReply"]
    assert reply.body["error_code"] == "invalid" and reply.body["field"] == "body.measure_kind"
    assert not hub.table("measures") and not hub.sender.on("court.replies")


async def test_a_measure_reply_to_a_lookup_is_refused(hub: MemoryHub) -> None:
    request = _identity_lookup(hub)
    await _from_court(hub, request)
    await _from_police(hub, MEASURE_REPLY, request.request_id, _placed(hub))
    assert _error_codes(hub, INBOX) == ["invalid"] and not hub.table("measures")


# --- sightings ----------------------------------------------------------------------------------
async def test_a_sighting_reaches_the_court_of_the_measure_as_an_active_hit_002_s3_2(hub: MemoryHub) -> None:
    request = await _measure_placed(hub)
    await _from_police(hub, SIGHTING, "police-own-id", _sighting(hub), correlation_id="BK1")
    [notice] = hub.sender.on("court.notices")
    sighting = CODEC.decode(notice.value or b"")
    assert notice.key == CASE_NUMBER.encode()
    assert (sighting.request_id, sighting.envelope["correlation_id"], sighting.envelope["recipient"]) == (
        request.request_id, "BK1", COURT)
    assert sighting.body["delivered_active"] is True and sighting.body["case_number"] == CASE_NUMBER
    assert (_measure(hub)["hits"], _measure(hub)["late"]) == (1, 0)


async def test_a_sighting_keyed_by_another_case_is_refused(hub: MemoryHub) -> None:
    await _measure_placed(hub)
    await _from_police(hub, SIGHTING, "s1", _sighting(hub), key=OTHER_CASE)
    [reply] = [m for m in _decoded(hub, INBOX) if m.message_type == "ErrorReply"]
    assert reply.body["error_code"] == "measure_mismatch" and reply.body["field"] == "key"
    assert not hub.sender.on("court.notices")


async def test_a_sighting_of_an_unknown_measure_is_refused(hub: MemoryHub) -> None:
    await _from_police(hub, SIGHTING, "s1", _sighting(hub, measure_id="BK404"))
    assert _error_codes(hub, INBOX) == ["unknown_measure"] and not hub.sender.on("court.notices")


# --- releases -----------------------------------------------------------------------------------
async def test_a_sighting_after_the_release_is_delivered_for_the_record_only_002_s3_3_issue_4(
        hub: MemoryHub) -> None:
    """002 §3(三) last para: released at once; a later sighting is no active hit (``delivered_active`` false)."""
    await _measure_placed(hub)
    _clock(hub).advance(timedelta(hours=1))
    release = _release(hub, "BK1")
    raw = await _from_court(hub, release)
    now = hub.ctx.clock.now_ms()
    [_, forwarded] = hub.sender.on(INBOX)
    assert (forwarded.value, forwarded.headers) == (raw, ((DELIVERED_AT, str(now).encode()),))
    assert (_measure(hub)["state"], _measure(hub)["released_at"], _measure(hub)["release_request"]) == (
        "released", now, release.request_id)
    await _from_police(hub, SIGHTING, "s1", _sighting(hub), correlation_id="BK1")
    [notice] = _decoded(hub, "court.notices")
    assert notice.body["delivered_active"] is False
    assert (_measure(hub)["hits"], _measure(hub)["late"]) == (0, 1)


async def test_a_release_acknowledgement_answers_the_release_002_s3_3(hub: MemoryHub) -> None:
    await _measure_placed(hub)
    release = _release(hub, "BK1")
    await _from_court(hub, release)
    ack = {"measure_id": "BK1", "measure_kind": "EXIT_RESTRICTION", "status": "RELEASED",
           "released_at": hub.ctx.clock.now(), "reason": None}
    raw = await _from_police(hub, RELEASE_ACK, release.request_id, ack, correlation_id="BK1")
    assert hub.sender.on("court.replies")[-1].value == raw
    assert _measure(hub)["ack"] == "RELEASED"
    row = hub.ctx.requests.get(release.request_id)
    assert row is not None and row.state is State.ANSWERED


async def test_a_release_of_a_measure_of_another_case_is_a_measure_mismatch_002_s3_3(hub: MemoryHub) -> None:
    await _measure_placed(hub)
    await _from_court(hub, _release(hub, "BK1", case_number=OTHER_CASE), key=OTHER_CASE)
    [reply] = [m for m in _decoded(hub, "court.replies") if m.message_type == "ErrorReply"]
    assert reply.body["error_code"] == "measure_mismatch" and reply.body["field"] == "body.measure_id"
    assert _measure(hub)["state"] == "active" and len(hub.sender.on(INBOX)) == 1


async def test_a_release_naming_another_measure_kind_is_a_measure_mismatch_002_s3_3(hub: MemoryHub) -> None:
    await _measure_placed(hub)
    await _from_court(hub, _release(hub, "BK1", kind="LOCATE_PERSON"))
    [reply] = [m for m in _decoded(hub, "court.replies") if m.message_type == "ErrorReply"]
    assert reply.body["error_code"] == "measure_mismatch" and reply.body["field"] == "body.measure_kind"


async def test_a_release_of_an_unknown_measure_is_refused_002_s3_3(hub: MemoryHub) -> None:
    await _from_court(hub, _release(hub, "BK404"))
    assert _error_codes(hub, "court.replies") == ["unknown_measure"] and not hub.sender.on(INBOX)


# --- lapses -------------------------------------------------------------------------------------
async def test_a_measure_lapses_at_midnight_after_its_control_period_and_both_sides_are_told_002_s3_1(
        hub: MemoryHub) -> None:
    """002 §3(一)1 控制期限: the hub lapses the measure on its clock and tells the court and the police."""
    request = await _measure_placed(hub)
    end = lapse_instant_ms(CONTROL_TO)  # 2025-01-06 00:00 China time
    await hub.intake.tick(PARTITION, end - 1)
    await hub.intake.tick(PARTITION + 1, end)  # another partition's tick leaves this measure alone
    assert not hub.sender.on("court.notices") and _measure(hub)["state"] == "active"
    await hub.intake.tick(PARTITION, end + 60_000)
    [to_court] = _decoded(hub, "court.notices")
    to_police = _decoded(hub, INBOX)[-1]
    for notice, recipient in ((to_court, COURT), (to_police, POLICE_CODE)):
        assert notice.schema == LAPSED and notice.envelope["recipient"] == recipient
        assert (notice.request_id, notice.envelope["correlation_id"]) == (request.request_id, "BK1")
        assert notice.body["lapsed_at"] == datetime.fromtimestamp(end / 1000, UTC)
        assert notice.body["control_to"] == CONTROL_TO and notice.body["case_number"] == CASE_NUMBER
    assert (_measure(hub)["state"], _measure(hub)["lapsed_at"]) == (MeasureState.LAPSED.value, end)
    await hub.intake.tick(PARTITION, end + 120_000)
    assert len(hub.sender.on("court.notices")) == 1, "a lapse is told once"


async def test_a_lapse_reported_by_the_police_is_told_to_the_court_once(hub: MemoryHub) -> None:
    await _measure_placed(hub)
    lapsed_at = datetime(2025, 1, 3, 8, 0, tzinfo=UTC)
    body = {"measure_id": "BK1", "measure_kind": "EXIT_RESTRICTION", "case_number": CASE_NUMBER,
            "lapsed_at": lapsed_at, "control_to": CONTROL_TO}
    await _from_police(hub, LAPSED, "police-own-id", body, correlation_id="BK1")
    await _from_police(hub, LAPSED, "police-own-id", body, correlation_id="BK1")
    [notice] = _decoded(hub, "court.notices")
    assert notice.envelope["recipient"] == COURT and notice.body["lapsed_at"] == lapsed_at
    assert _measure(hub)["state"] == "lapsed"
    await hub.intake.tick(PARTITION, lapse_instant_ms(CONTROL_TO))
    assert len(hub.sender.on("court.notices")) == 1
