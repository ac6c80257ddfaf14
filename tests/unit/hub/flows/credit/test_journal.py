"""The list's journal without a broker: the list clock (失信规定 art. 10 para 2), and a batch that fails or
a record that cannot be read (retried a bounded number of times, then dead-lettered: never dropped, never
retried for ever)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from aiokafka.errors import KafkaConnectionError

from hub.deadletter import RawRecord
from hub.flows.credit.journal import BATCH_ATTEMPTS, JOURNAL_KEY
from hub.flows.credit.messages import DEADLINE_EVENT, DECISION
from hub.lifecycle import State
from hub.transport import Headers
from hub.working_calendar import end_of_day_ms
from tests.unit.hub.flows.credit.test_list_rules import decision

from .conftest import CreditHub


def _deadline_events(hub: CreditHub, catalog_topic: str) -> list[str]:
    return [m.body["kind"] for m in hub.decoded(catalog_topic) if m.schema == DEADLINE_EVENT]


def _deadline_count(hub: CreditHub, kind: str) -> float | None:
    return hub.ctx.runtime.metrics.registry.get_sample_value(
        "interop_hub_deadline_events_total", {"kind": kind, "message_type": "ListDecision"})


def _history_fails(hub: CreditHub, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The first ``times`` sends to ``credit.list.history`` fail (the broker is away); the attempts made."""
    sender, history = hub.hub.sender, hub.journal.publisher.history_topic
    real_send = sender.send
    attempts: list[int] = []

    async def send(topic: str, key: bytes | None, value: bytes | None, *, partition: int | None = None,
                   headers: Headers | None = None) -> object:
        if topic == history:
            attempts.append(len(attempts) + 1)
            if len(attempts) <= times:
                raise KafkaConnectionError("broker away")
        return await real_send(topic, key, value, partition=partition, headers=headers)

    monkeypatch.setattr(sender, "send", send)
    return attempts


# --- the list clock --------------------------------------------------------------------------------------


async def test_term_end_deletes_the_listing_and_its_ack_is_warned_then_escalated_art10_para2(
        credit_hub: CreditHub) -> None:
    """失信规定 art. 10 para 2: a term ended on Tue 31 Dec 2024 is deleted by the hub itself; the platform
    acknowledges within 3 working days (Thu 2, Fri 3, Mon 6 Jan 2025): warned at 75 %, escalated when due,
    each once; the late acknowledgement is then noted for the court."""
    termed = credit_hub.request(DECISION, decision(term_start=date(2023, 1, 1)))
    await credit_hub.from_court(termed)
    await credit_hub.sequence()
    await credit_hub.journal.run_list_clock()
    assert len(credit_hub.decoded("credit.list.history")) == 1  # only the owner of the journal runs the clock

    credit_hub.journal.owner.set()
    await credit_hub.journal.run_list_clock()
    listed, deleted = credit_hub.decoded("credit.list.history")
    assert (deleted.body["action"], deleted.body["deletion_ground"]) == ("DELETE", "TERM_EXPIRED")
    assert deleted.body["listing_id"] == listed.body["listing_id"] and deleted.body["list_size"] == 0
    assert [s.value for s in credit_hub.sent_to("credit.list.current")][-1] is None  # the tombstone
    pending = credit_hub.journal.sequencer.pending[2]
    assert pending.due_ms == end_of_day_ms(date(2025, 1, 6)) and pending.warn_ms is not None

    credit_hub.clock.advance(timedelta(milliseconds=pending.warn_ms - credit_hub.ctx.clock.now_ms()))
    await credit_hub.journal.run_list_clock()
    await credit_hub.journal.run_list_clock()
    assert _deadline_events(credit_hub, "court.notices") == ["WARNING"] and _deadline_count(credit_hub, "warning") == 1
    credit_hub.clock.advance(timedelta(milliseconds=pending.due_ms - credit_hub.ctx.clock.now_ms()))
    await credit_hub.journal.run_list_clock()
    await credit_hub.journal.run_list_clock()
    assert _deadline_events(credit_hub, "court.notices") == ["WARNING", "EXPIRED"]
    assert _deadline_events(credit_hub, "court.replies") == ["EXPIRED"] and _deadline_count(credit_hub, "expired") == 1
    markers = [s for s in credit_hub.journal_records() if s.value and b"publication/2" in s.value]
    assert len(markers) == 2  # the warning and the escalation, journalled: a rebuilt sequencer repeats neither

    await credit_hub.sequence()
    await credit_hub.platform_applies_the_history()
    await credit_hub.sequence()
    assert _deadline_events(credit_hub, "court.notices") == ["WARNING", "EXPIRED", "ANSWERED_LATE"]
    assert _deadline_count(credit_hub, "answered_late") == 1


async def test_a_rebuilt_sequencer_remembers_what_was_warned_and_escalated(credit_hub: CreditHub) -> None:
    """After a rebalance the state is rebuilt from the history and the journal: no second warning."""
    await credit_hub.from_court(credit_hub.request(DECISION, decision(term_start=date(2023, 1, 1))))
    await credit_hub.sequence()
    credit_hub.journal.owner.set()
    await credit_hub.journal.run_list_clock()
    pending = credit_hub.journal.sequencer.pending[2]
    credit_hub.clock.advance(timedelta(milliseconds=(pending.warn_ms or 0) - credit_hub.ctx.clock.now_ms()))
    await credit_hub.journal.run_list_clock()
    credit_hub.journal.sequencer.ready = False  # the partition was revoked and assigned again
    await credit_hub.journal.run_list_clock()
    assert _deadline_events(credit_hub, "court.notices") == ["WARNING"]
    assert credit_hub.journal.sequencer.state.last_publication_id == 2  # not deleted twice either


# --- failures: bounded retries, then dead letters ------------------------------------------------------


async def test_a_batch_that_fails_is_retried_and_published_once(credit_hub: CreditHub,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = _history_fails(credit_hub, monkeypatch, times=2)
    listing = credit_hub.request(DECISION, decision())
    await credit_hub.from_court(listing)
    await credit_hub.sequence()
    assert attempts == [1, 2, 3]
    [event] = credit_hub.decoded("credit.list.history")
    assert event.body["publication_id"] == 1 and not credit_hub.sent_to("ops.deadletter")
    row = credit_hub.ctx.requests.get(listing.request_id)
    assert row is not None and row.state is State.DELIVERED


async def test_a_batch_failing_every_attempt_is_dead_lettered_and_the_courts_told(
        credit_hub: CreditHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded: after the last attempt each decision of the batch is dead-lettered as the court sent it (the
    court gets its ErrorReply, an internal error naming the failure), its row is rejected, and the batch is
    done (the consumer commits past it)."""
    attempts = _history_fails(credit_hub, monkeypatch, times=BATCH_ATTEMPTS)
    first = credit_hub.request(DECISION, decision())
    second = credit_hub.request(DECISION, decision())
    await credit_hub.from_court(first, partition=1)
    await credit_hub.from_court(second, partition=3)
    await credit_hub.sequence()
    assert len(attempts) == BATCH_ATTEMPTS and not credit_hub.decoded("credit.list.history")
    dead = credit_hub.decoded("ops.deadletter")
    assert [(d.request_id, d.body["source_topic"], d.body["source_partition"], d.body["reason_code"])
            for d in dead] == [(first.request_id, "court.requests", 1, "internal_error"),
                               (second.request_id, "court.requests", 3, "internal_error")]
    assert "KafkaConnectionError" in dead[0].body["error_text"]
    replies = [m for m in credit_hub.decoded("court.replies") if m.message_type == "ErrorReply"]
    assert [r.request_id for r in replies] == [first.request_id, second.request_id]
    for request in (first, second):
        row = credit_hub.ctx.requests.get(request.request_id)
        assert row is not None and row.state is State.REJECTED

    later = credit_hub.request(DECISION, decision())  # the broker is back: the journal moves on
    await credit_hub.from_court(later)
    await credit_hub.sequence()
    [event] = credit_hub.decoded("credit.list.history")
    assert event.request_id == later.request_id and event.body["publication_id"] == 1


async def test_an_undecodable_journal_record_is_dead_lettered_and_the_rest_sequenced(credit_hub: CreditHub) -> None:
    listing = credit_hub.request(DECISION, decision())
    await credit_hub.from_court(listing)
    garbage = RawRecord(credit_hub.journal.topic, 0, 99, JOURNAL_KEY.encode(), b"\xc3\x01 not avro")
    await credit_hub.sequence(garbage)
    [dead] = credit_hub.decoded("ops.deadletter")
    assert (dead.body["source_topic"], dead.body["source_offset"]) == (credit_hub.journal.topic, 99)
    assert dead.body["original"] == garbage.value and dead.body["message_type"] is None
    assert not [m for m in credit_hub.decoded("court.replies") if m.message_type == "ErrorReply"]
    [event] = credit_hub.decoded("credit.list.history")
    assert event.request_id == listing.request_id
