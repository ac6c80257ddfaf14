"""The hub side of the bank flows (SPEC §3, seed 000, seed 001), driven through the real intake and handlers."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from hub import deadline_tracker
from hub.clock import ManualClock
from hub.codec import AvroMessage
from hub.flows.bank.messages import ESCALATION, INTENSIVE_RESULT, QUERY
from hub.lifecycle import State
from hub.memory_backend import MemoryHub, Sent
from hub.outbound import DELIVERED_AT
from hub.seal import seal_message
from topics.catalog import inbox_name, outbox_name

from .conftest import CASE_NUMBER, CODEC, DEBTOR, Banks, Court, decoded, sent_to


def _clock(hub: MemoryHub) -> ManualClock:
    clock = hub.ctx.clock
    assert isinstance(clock, ManualClock)
    return clock


def _rejections(hub: MemoryHub, reply_topic: str = "court.replies") -> list[tuple[str, str]]:
    """(dead letter reason, error reply code) of every rejected message, the error reply on ``reply_topic``."""
    dead = [m.body["reason_code"] for m in decoded(hub, "ops.deadletter")]
    errors = [m.body["error_code"] for m in decoded(hub, reply_topic) if m.message_type == "ErrorReply"]
    return list(zip(dead, errors, strict=True))


def _debtor_account(banks: Banks, code: str, balance_fen: int) -> None:
    """The debtor holds an account at bank ``code``: its query answers with a hit."""
    banks.bank(code).ledger.open_account(DEBTOR, nature="PERSONAL_CLASS_I", opened_on=date(2020, 1, 2),
                                         balance_fen=balance_fen)


def _inbox_records(hub: MemoryHub) -> list[Sent]:
    return [s for s in hub.sender.sent if s.topic.endswith(".inbox")]


def _results(hub: MemoryHub) -> list[AvroMessage]:
    return [m for m in decoded(hub, "court.replies") if m.schema == INTENSIVE_RESULT]


# --- single requests and their replies (000) ------------------------------------------------------


async def test_accepted_freeze_reaches_the_bank_inbox_as_written_with_its_delivery_time_000_s16(
        bank_hub: MemoryHub, court: Court) -> None:
    """000 §16: the delivery time is when the request reached the hub; the bank gets it in ``delivered-at``."""
    request = court.freeze("icbc")
    raw = await court.send(request)
    [delivered] = sent_to(bank_hub, inbox_name("icbc"))
    now = bank_hub.ctx.clock.now_ms()
    assert (delivered.key, delivered.value) == (CASE_NUMBER.encode(), raw)
    assert (DELIVERED_AT, str(now).encode()) in delivered.headers
    row = bank_hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.DELIVERED and row.accepted_ms == now and row.agency == "icbc"


async def test_bank_reply_reaches_the_court_byte_for_byte_and_answers_the_request_000_s8(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    """000 §8: the sealed reply is forwarded unchanged, so the court can verify the bank's seal itself."""
    request = court.query("icbc")
    await court.send(request)
    reply = await banks.answer("icbc")
    [forwarded] = sent_to(bank_hub, "court.replies")
    assert (forwarded.key, forwarded.value) == (CASE_NUMBER.encode(), reply)
    row = bank_hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.ANSWERED
    assert not sent_to(bank_hub, "ops.deadletter")


async def test_reply_sealed_with_a_key_registered_after_start_up_is_verified(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    """The hub reads the registered keys again when it meets a key it does not know yet."""
    for code in ("icbc", "ccb"):
        await court.send(court.query(code))
    await banks.answer("icbc")  # the hub loads the registered keys: only icbc's so far
    await banks.answer("ccb")  # ccb's key is registered now
    assert len(sent_to(bank_hub, "court.replies")) == 2 and not sent_to(bank_hub, "ops.deadletter")


async def test_reply_to_a_request_never_sent_is_dead_lettered_with_an_error_reply(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    request = court.query("icbc")
    raw = CODEC.encode_message(request)
    reply = banks.bank("icbc").handle_bytes(raw, [(DELIVERED_AT, b"0")])
    await bank_hub.receive(outbox_name("icbc"), CASE_NUMBER.encode(), reply)
    assert _rejections(bank_hub, inbox_name("icbc")) == [("unknown_request", "unknown_request")]
    assert not sent_to(bank_hub, "court.replies")


async def test_reply_from_another_bank_than_the_one_addressed_is_dead_lettered(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    request = court.query("icbc")
    await court.send(request)
    await banks.answer("icbc", by="ccb")
    assert _rejections(bank_hub, inbox_name("ccb")) == [("wrong_agency", "wrong_agency")]
    row = bank_hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.DELIVERED and not sent_to(bank_hub, "court.replies")


async def test_reply_whose_seal_does_not_match_its_content_is_dead_lettered_000_s8(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    await court.send(court.query("icbc"))
    [request] = banks.requests_to("icbc")
    sealed = CODEC.decode(banks.reply("icbc", request))
    forged = AvroMessage(sealed.schema, {**sealed.datum, "body": {**sealed.body, "no_account": False}})
    await bank_hub.receive(outbox_name("icbc"), request.key, CODEC.encode_message(forged))
    assert _rejections(bank_hub, inbox_name("icbc")) == [("invalid_seal", "invalid_seal")]
    assert not sent_to(bank_hub, "court.replies")


async def test_reply_naming_another_delivery_time_than_the_hub_recorded_is_dead_lettered_000_s16(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    await court.send(court.query("icbc"))
    [request] = banks.requests_to("icbc")
    bank = banks.bank("icbc")
    sealed = CODEC.decode(banks.reply("icbc", request))
    moved = {**sealed.body, "delivered_at": sealed.body["delivered_at"] - timedelta(seconds=1)}
    resealed = seal_message(CODEC, AvroMessage(sealed.schema, {**sealed.datum, "body": moved}), bank.key, bank.key_id)
    await bank_hub.receive(outbox_name("icbc"), request.key, CODEC.encode_message(resealed))
    assert _rejections(bank_hub, inbox_name("icbc")) == [("invalid", "invalid")]


async def test_freeze_without_a_valid_account_number_is_dead_lettered_and_recorded_rejected_000_s9(
        bank_hub: MemoryHub, court: Court) -> None:
    """000 §9: the account to freeze is mandatory."""
    request = court.freeze("icbc", account_number="12")
    await court.send(request)
    assert _rejections(bank_hub) == [("invalid_account_number", "invalid_account_number")]
    row = bank_hub.ctx.requests.get(request.request_id)
    assert row is not None and row.state is State.REJECTED and not sent_to(bank_hub, inbox_name("icbc"))


async def test_bank_request_to_an_agency_that_is_not_financial_is_dead_lettered(
        bank_hub: MemoryHub, court: Court) -> None:
    await court.send(court.query("mps"))
    assert _rejections(bank_hub) == [("unknown_agency", "unknown_agency")]
    assert not sent_to(bank_hub, inbox_name("mps"))


# --- the intensive query (seed 001) -------------------------------------------------------------------


async def test_intensive_query_reaches_every_unit_as_a_query_correlated_to_it_seed_001(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    """Seed 001: one request fans out to the national banks, payment firms, securities and the local banks; the
    court gets the merged result at once, every unit pending."""
    request = court.intensive_query()
    await court.send(request)
    now = bank_hub.ctx.clock.now_ms()
    [result] = _results(bank_hub)
    units = [u["unit_code"] for u in result.body["units"]]
    assert {"icbc", "alipay", "csdc", "bjrcb"} <= set(units) and not result.body["complete"]
    assert {u["state"] for u in result.body["units"]} == {"PENDING"}
    for unit in units:
        [sent] = banks.requests_to(unit)
        query = CODEC.decode(sent.value or b"")
        assert query.schema == QUERY and query.request_id == f"{request.request_id}.{unit}"
        assert query.envelope["correlation_id"] == request.request_id and query.body["purpose"] == "INTENSIVE"
        assert (DELIVERED_AT, str(now).encode()) in sent.headers
    parent = bank_hub.ctx.requests.get(request.request_id)
    assert parent is not None and parent.state is State.ROUTED


async def test_court_may_not_query_a_unit_itself_while_the_intensive_query_waits_for_it_seed_001(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    await court.send(court.intensive_query())
    await court.send(court.query("icbc"))
    assert _rejections(bank_hub) == [("refused", "refused")]
    await banks.answer("icbc")
    await court.send(court.query("icbc"))
    assert len(banks.requests_to("icbc")) == 2, "answered: the court may query the unit itself"


async def test_each_unit_answer_publishes_the_result_again_and_the_last_completes_it_seed_001(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    request = court.intensive_query()
    await court.send(request)
    units = [u["unit_code"] for u in _results(bank_hub)[0].body["units"]]
    _debtor_account(banks, "icbc", 12_345)
    for unit in units:
        await banks.answer(unit)
    results = _results(bank_hub)
    assert len(results) == 1 + len(units)
    final = results[-1].body
    assert final["complete"] and final["property_found"]
    icbc = next(u for u in final["units"] if u["unit_code"] == "icbc")
    assert icbc["state"] == "HIT" and icbc["total_balance"] == {"amount_fen": 12_345, "currency": "CNY"}
    parent = bank_hub.ctx.requests.get(request.request_id)
    assert parent is not None and parent.state is State.ANSWERED


async def test_silent_unit_is_no_response_at_its_deadline_and_a_late_answer_replaces_it_seed_001_s1(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    """Seed 001 §(一)1: a unit silent past its deadline is NO_RESPONSE and the result is complete; an answer after
    the deadline replaces it, marked late, and the result is published again."""
    deadline_tracker.register(bank_hub.ctx)
    await bank_hub.intake.tick(0, bank_hub.ctx.clock.now_ms())
    request = court.intensive_query()
    await court.send(request)
    units = [u["unit_code"] for u in _results(bank_hub)[0].body["units"]]
    silent = units[0]
    for unit in units[1:]:
        await banks.answer(unit)
    assert not _results(bank_hub)[-1].body["complete"]
    _clock(bank_hub).advance(timedelta(days=10))
    await bank_hub.intake.tick(0, bank_hub.ctx.clock.now_ms())
    final = _results(bank_hub)[-1].body
    assert final["complete"]
    assert next(u for u in final["units"] if u["unit_code"] == silent)["state"] == "NO_RESPONSE"
    parent = bank_hub.ctx.requests.get(request.request_id)
    assert parent is not None and parent.state is State.ANSWERED
    published = len(_results(bank_hub))
    await banks.answer(silent)
    late = next(u for u in _results(bank_hub)[-1].body["units"] if u["unit_code"] == silent)
    assert len(_results(bank_hub)) == published + 1 and late["state"] == "NO_HIT" and late["late"]


async def test_property_feedback_not_viewed_within_3_days_is_escalated_once_seed_001_s2(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    request = court.intensive_query()
    await court.send(request)
    _debtor_account(banks, "icbc", 100)
    await banks.answer("icbc")
    clock = _clock(bank_hub)
    clock.advance(timedelta(days=3) - timedelta(milliseconds=1))
    await bank_hub.intake.tick(0, clock.now_ms())
    assert not decoded(bank_hub, "court.notices")
    clock.advance(timedelta(milliseconds=1))
    await bank_hub.intake.tick(0, clock.now_ms())
    await bank_hub.intake.tick(0, clock.now_ms())
    [escalation] = decoded(bank_hub, "court.notices")
    assert escalation.schema == ESCALATION and escalation.request_id == request.request_id
    assert escalation.envelope["recipient"] == "京0105" and escalation.body["unit_codes"] == ["icbc"]
    assert escalation.body["case"]["case_number"] == CASE_NUMBER
    assert escalation.body["escalated_at"] == escalation.body["due_at"] == clock.now()


async def test_viewed_property_feedback_is_not_escalated_seed_001_s2(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    await court.send(court.intensive_query())
    _debtor_account(banks, "icbc", 100)
    await banks.answer("icbc")
    await court.send(court.property_viewed())
    clock = _clock(bank_hub)
    clock.advance(timedelta(days=4))
    await bank_hub.intake.tick(0, clock.now_ms())
    assert not decoded(bank_hub, "court.notices")


async def test_resent_intensive_query_gets_the_current_result_and_reaches_no_unit_again(
        bank_hub: MemoryHub, court: Court, banks: Banks) -> None:
    request = court.intensive_query()
    raw = await court.send(request)
    await banks.answer("icbc")
    delivered = len(_inbox_records(bank_hub))
    await bank_hub.receive("court.requests", CASE_NUMBER.encode(), raw)
    first, answered, resent = _results(bank_hub)
    assert resent.body["units"] == answered.body["units"] != first.body["units"]
    assert len(_inbox_records(bank_hub)) == delivered


async def test_intensive_fan_out_lets_other_work_run_between_its_units(bank_hub: MemoryHub, court: Court) -> None:
    """A fan-out to the ~26 units of the set (a sweep's too) is not one slice of the event loop: another agent's
    record — a live court request, a bank's reply — is handled between two of its units, not after all of them."""
    queries_out: list[int] = []

    async def another_agent() -> None:
        while True:
            queries_out.append(sum(1 for s in _inbox_records(bank_hub) if CODEC.decode(s.value or b"").schema == QUERY))
            await asyncio.sleep(0)

    other = asyncio.create_task(another_agent())
    await asyncio.sleep(0)
    await court.send(court.intensive_query())
    other.cancel()
    sent = sum(1 for s in _inbox_records(bank_hub) if CODEC.decode(s.value or b"").schema == QUERY)
    assert sent >= 20
    assert any(0 < n < sent for n in queries_out), "ran between two units of the fan-out"
