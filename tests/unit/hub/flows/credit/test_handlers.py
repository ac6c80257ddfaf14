"""The hub side of the credit flow (SPEC §5, §6; 失信规定 2017; 004 §23), driven through the real intake,
handlers and journal: list decisions, the platform's acknowledgements, look-ups and restrictions."""

from __future__ import annotations

from datetime import date, timedelta

from agents.court.adapter import person
from hub.codec import AvroMessage
from hub.deadletter import DEAD_LETTER
from hub.flows.credit.messages import (
    ACK,
    DECISION,
    ENTRY,
    EVENT,
    LOOKUP,
    LOOKUP_REPLY,
    PLATFORM,
    RESTRICTION,
    RESTRICTION_ACK,
)
from hub.lifecycle import State, new_record, transition
from hub.outbound import DELIVERED_AT
from hub.working_calendar import end_of_day_ms
from tests.unit.hub.flows.credit.test_list_rules import ADULT, decision, restriction, rid

from .conftest import CASE_NO, CODEC, INBOX, OUTBOX, CreditHub


def _rejections(hub: CreditHub, reply_topic: str = "court.replies") -> list[tuple[str, str]]:
    """(dead letter reason, error reply code) of every rejected message, the error reply on ``reply_topic``."""
    dead = [m.body["reason_code"] for m in hub.decoded("ops.deadletter")]
    errors = [m.body["error_code"] for m in hub.decoded(reply_topic) if m.message_type == "ErrorReply"]
    return list(zip(dead, errors, strict=True))


def _lookup(hub: CreditHub, id_number: str = ADULT, recipient: str = PLATFORM) -> bytes:
    return CODEC.encode_message(hub.request(LOOKUP, {"id_number": id_number, "id_type": None, "name": None,
                                                    "as_of": None, "include_removed": False}, recipient=recipient))


# --- list decisions (失信规定 art. 1-10) ------------------------------------------------------------------


async def test_accepted_listing_is_journalled_routed_then_published_and_delivered_spec_s5(
        credit_hub: CreditHub) -> None:
    """SPEC §5: a decision checked on its own goes to the journal (with its court record and delivery time);
    the sequencer publishes it (history + current list) and the decision's row becomes delivered."""
    listing = credit_hub.request(DECISION, decision())
    raw = await credit_hub.from_court(listing, partition=3)
    [journalled] = credit_hub.journalled()
    now = credit_hub.ctx.clock.now_ms()
    assert journalled.value == raw and journalled.key == b"list"
    assert dict(journalled.headers) == {"source": b"court.requests/3/0", "case": CASE_NO.encode(),
                                        DELIVERED_AT: str(now).encode()}
    row = credit_hub.ctx.requests.get(listing.request_id)
    assert row is not None and row.state is State.ROUTED and row.agency == PLATFORM and row.partition == 3
    assert row.due_ms is None  # a listing sets no deadline for the platform (art. 9-10 are about removals)

    await credit_hub.sequence()
    [event] = credit_hub.decoded("credit.list.history")
    [entry] = credit_hub.decoded("credit.list.current")
    assert event.schema == EVENT and event.body["publication_id"] == 1 and event.body["list_size"] == 1
    assert event.request_id == listing.request_id and event.body["listing_id"] == listing.body["listing_id"]
    assert entry.schema == ENTRY and entry.body["in_force"] and entry.body["last_publication_id"] == 1
    [outcome] = credit_hub.sent_to("hub.ticks")
    assert outcome.partition == 3 and outcome.key == b"3"
    row = credit_hub.ctx.requests.get(listing.request_id)
    assert row is not None and row.state is State.DELIVERED
    registry = credit_hub.ctx.runtime.metrics.registry
    assert registry.get_sample_value("interop_hub_credit_list_last_publication_id") == 1
    assert registry.get_sample_value("interop_hub_credit_list_publications_total", {"action": "LIST"}) == 1


async def test_platform_ack_reaches_the_court_byte_for_byte_and_answers_the_decision_art9(
        credit_hub: CreditHub) -> None:
    """失信规定 art. 9: the platform's acknowledgement goes to the court as sent; the revocation is answered in
    time (within 3 working days of its decision) and the journal learns it."""
    listing = credit_hub.request(DECISION, decision())
    await credit_hub.from_court(listing)
    await credit_hub.sequence()
    revocation = credit_hub.request(DECISION, decision("REVOKE", listing.body["listing_id"], reason="不应纳入"))
    await credit_hub.from_court(revocation)
    row = credit_hub.ctx.requests.get(revocation.request_id)
    assert row is not None and row.rule_id == "list.revoke.3wd" and row.due_ms is not None
    await credit_hub.sequence()
    [(listed_key, listed_ack), (key, ack)] = await credit_hub.platform_applies_the_history()

    replies = credit_hub.sent_to("court.replies")
    assert [(s.key, s.value) for s in replies] == [(listed_key, listed_ack), (key, ack)] and key == CASE_NO.encode()
    row = credit_hub.ctx.requests.get(revocation.request_id)
    assert row is not None and row.state is State.ANSWERED
    assert [s.value for s in credit_hub.journalled()][-2:] == [listed_ack, ack]
    assert [CODEC.decode(s.value or b"").schema for s in credit_hub.journalled()] == [DECISION, DECISION, ACK, ACK]


async def test_decision_refused_against_the_list_is_dead_lettered_as_the_court_sent_it_and_rejected(
        credit_hub: CreditHub) -> None:
    """A revocation of a listing never published (UnknownListing): the court's own record is dead-lettered with
    an ErrorReply naming it, and the decision's row is rejected."""
    revocation = credit_hub.request(DECISION, decision("REVOKE", "L-never", reason="不应纳入"))
    await credit_hub.from_court(revocation, partition=1)
    await credit_hub.sequence()
    assert _rejections(credit_hub) == [("unknown_listing", "unknown_listing")]
    [dead] = credit_hub.decoded("ops.deadletter")
    assert dead.schema == DEAD_LETTER
    assert (dead.body["source_topic"], dead.body["source_partition"], dead.body["source_offset"]) == (
        "court.requests", 1, 0)
    [reply] = credit_hub.decoded("court.replies")
    assert reply.request_id == revocation.request_id and reply.envelope["recipient"] == "京0105"
    assert not credit_hub.decoded("credit.list.history")
    row = credit_hub.ctx.requests.get(revocation.request_id)
    assert row is not None and row.state is State.REJECTED


async def test_listing_a_minor_is_rejected_before_the_journal_art4(credit_hub: CreditHub) -> None:
    """失信规定 art. 4: a debtor under 18 on the decision day may not be listed; nothing is journalled."""
    minor = {**person("李小", rid("20070103", "002")), "gender": "MALE"}  # 18 only tomorrow
    body = decision()
    body["content"] = {**body["content"], "subject": minor, "age": 17}
    listing = credit_hub.request(DECISION, body)
    await credit_hub.from_court(listing)
    assert _rejections(credit_hub) == [("minor_not_listable", "minor_not_listable")]
    assert not credit_hub.journalled()
    row = credit_hub.ctx.requests.get(listing.request_id)
    assert row is not None and row.state is State.REJECTED


# --- look-ups and consumption restriction: requests to the platform's inbox ---------------------------------


async def test_accepted_lookup_reaches_the_platform_inbox_as_written_with_its_delivery_time_000_s16(
        credit_hub: CreditHub) -> None:
    """000 §16: the row is delivered when the request reached the hub; the platform gets that in ``delivered-at``."""
    raw = _lookup(credit_hub)
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), raw, 2)
    [delivered] = credit_hub.sent_to(INBOX)
    now = credit_hub.ctx.clock.now_ms()
    assert (delivered.key, delivered.value) == (CASE_NO.encode(), raw)
    assert (DELIVERED_AT, str(now).encode()) in delivered.headers
    row = credit_hub.ctx.requests.get(CODEC.decode(raw).request_id)
    assert row is not None and row.state is State.DELIVERED and row.accepted_ms == now and row.partition == 2


async def test_resent_lookup_is_forwarded_again_with_its_first_delivery_time_000_s16(credit_hub: CreditHub) -> None:
    """000 §16: a resend of a known request goes to the platform again, stamped with its first delivery time."""
    raw = _lookup(credit_hub)
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), raw)
    first = credit_hub.ctx.clock.now_ms()
    credit_hub.clock.advance(timedelta(minutes=5))
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), raw)
    assert [(s.value, dict(s.headers)[DELIVERED_AT]) for s in credit_hub.sent_to(INBOX)] == [
        (raw, str(first).encode())] * 2
    assert not credit_hub.sent_to("ops.deadletter")
    row = credit_hub.ctx.requests.get(CODEC.decode(raw).request_id)
    assert row is not None and row.accepted_ms == first and row.state is State.DELIVERED


async def test_lookup_reply_reaches_the_court_byte_for_byte_and_answers_the_request(credit_hub: CreditHub) -> None:
    raw = _lookup(credit_hub)
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), raw)
    [delivered] = credit_hub.sent_to(INBOX)
    reply = await credit_hub.platform_answers(delivered)
    assert CODEC.decode(reply).schema == LOOKUP_REPLY
    assert [(s.key, s.value) for s in credit_hub.sent_to("court.replies")] == [(CASE_NO.encode(), reply)]
    row = credit_hub.ctx.requests.get(CODEC.decode(raw).request_id)
    assert row is not None and row.state is State.ANSWERED


async def test_lookup_for_another_agency_or_without_id_number_is_rejected(credit_hub: CreditHub) -> None:
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), _lookup(credit_hub, recipient="icbc"))
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), _lookup(credit_hub, id_number="  "))
    assert _rejections(credit_hub) == [("invalid", "invalid")] * 2
    assert not credit_hub.sent_to(INBOX)


async def test_restriction_lift_is_due_three_working_days_after_performance_004_s23(credit_hub: CreditHub) -> None:
    """004 §23: performed on Thu 2 Jan 2025, the lift is due by the end of Tue 7 Jan (Fri 3, Mon 6, Tue 7),
    counted from 00:00 of the performance day; placing a restriction has no deadline."""
    place = credit_hub.request(RESTRICTION, restriction("PLACE", restriction_id="XF9"))
    await credit_hub.from_court(place)
    lift = credit_hub.request(RESTRICTION, restriction("LIFT", restriction_id="XF9", lift_reason="PERFORMED",
                                                       performance_date=date(2025, 1, 2)))
    await credit_hub.from_court(lift)
    placed, lifted = credit_hub.ctx.requests.get(place.request_id), credit_hub.ctx.requests.get(lift.request_id)
    assert placed is not None and placed.state is State.DELIVERED and placed.due_ms is None
    assert lifted is not None and lifted.state is State.DELIVERED
    assert lifted.due_ms == end_of_day_ms(date(2025, 1, 7)) and lifted.counted_from_ms == end_of_day_ms(
        date(2025, 1, 1))
    for delivered in credit_hub.sent_to(INBOX):
        await credit_hub.platform_answers(delivered)
    acks = [m for m in credit_hub.decoded("court.replies") if m.schema == RESTRICTION_ACK]
    assert [(m.request_id, m.body["status"]) for m in acks] == [(place.request_id, "APPLIED"),
                                                                (lift.request_id, "APPLIED")]
    lifted = credit_hub.ctx.requests.get(lift.request_id)
    assert lifted is not None and lifted.state is State.ANSWERED


# --- what the platform may not answer ------------------------------------------------------------------------


async def _platform_reply(credit_hub: CreditHub) -> AvroMessage:
    """The platform's own reply to a look-up the hub delivered (to be made hostile by the test)."""
    raw = _lookup(credit_hub)
    await credit_hub.hub.receive("court.requests", CASE_NO.encode(), raw)
    [delivered] = credit_hub.sent_to(INBOX)
    reply = credit_hub.platform.handle(CODEC.decode(raw), list(delivered.headers))
    assert reply is not None
    return CODEC.decode(reply)


async def test_reply_to_an_unknown_request_is_dead_lettered_and_the_platform_told(credit_hub: CreditHub) -> None:
    stranger = await _platform_reply(credit_hub)
    stranger.envelope["request_id"] = "never-sent"
    await credit_hub.hub.receive(OUTBOX, CASE_NO.encode(), CODEC.encode_message(stranger))
    assert _rejections(credit_hub, INBOX) == [("unknown_request", "unknown_request")]
    assert not credit_hub.sent_to("court.replies")


async def test_reply_to_another_agencys_request_is_dead_lettered(credit_hub: CreditHub) -> None:
    """The platform may answer only what was sent to it (a bank's request id is not its to answer)."""
    ctx = credit_hub.ctx
    now = ctx.clock.now_ms()
    bank_row = new_record("bank-1", type_="AccountQueryRequest", court="京0105", case=CASE_NO, agency="icbc",
                          now_ms=now, partition=0, deadline=None)
    ctx.requests.put(transition(transition(bank_row, State.ROUTED, now), State.DELIVERED, now))
    misdirected = await _platform_reply(credit_hub)
    misdirected.envelope["request_id"] = "bank-1"
    await credit_hub.hub.receive(OUTBOX, CASE_NO.encode(), CODEC.encode_message(misdirected))
    assert _rejections(credit_hub, INBOX) == [("wrong_agency", "wrong_agency")]
    row = ctx.requests.get("bank-1")
    assert row is not None and row.state is State.DELIVERED


async def test_undecodable_platform_message_is_dead_lettered(credit_hub: CreditHub) -> None:
    await credit_hub.hub.receive(OUTBOX, CASE_NO.encode(), b"\xc3\x01 not avro")
    [dead] = credit_hub.decoded("ops.deadletter")
    assert dead.body["source_topic"] == OUTBOX and dead.body["message_type"] is None
    assert not credit_hub.sent_to("court.replies")
