"""Bank flows end to end (SPEC §3, seed 000, seed 001) through the topics only.

court (CourtClient) → court.requests → hub worker → agency.<bank>.inbox → simulated bank →
agency.<bank>.outbox → hub worker → court.replies.  Each rule has its own test naming the article.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from stdnum.cn import ric

from agents.bank import court_api as bank_api
from agents.bank.ledger import AccountView, BankLedger
from agents.bank.simulator import ledger_path
from agents.court.adapter import CourtClient, document, officer, organisation, person, verify_receipt
from agents.process import AgencyProcess
from hub.codec import AvroMessage, default_codec
from hub.seal import KeyStore, seal_message
from support.kafka_tap import Tap
from tests.acceptance.conftest import LATE_BANK
from tests.integration.kafka_io import produce
from topics.catalog import agency_group_id

CODEC = default_codec()
NOBODY_ID = "11010519900307001" + ric.calc_check_digit("11010519900307001?")  # holds no account anywhere
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
_cases = itertools.count(100)


def new_case(court: CourtClient) -> dict[str, Any]:
    return court.case(f"（2024）京0105执{next(_cases)}号", date(2024, 3, 1))


def subject_of(acc: AccountView) -> dict[str, Any]:
    if len(acc.holder_id) == 18 and acc.holder_id[:17].isdigit() and acc.holder_id[6:8] in ("19", "20"):
        return person(acc.holder_name, acc.holder_id)
    return organisation(acc.holder_name, acc.holder_id)


_used: set[str] = set()


def find(ledgers: dict[str, BankLedger], pred: Callable[[AccountView], bool]) -> tuple[str, AccountView]:
    """A seeded account no other test has touched (tests share one bank process)."""
    for code, ledger in ledgers.items():
        if code == LATE_BANK:
            continue
        for acc in ledger.accounts():
            if acc.account_number not in _used and acc.holder_id not in _used and pred(acc):
                _used.update({acc.account_number, acc.holder_id})
                return code, acc
    raise LookupError("no seeded account fits")


def plain(acc: AccountView, minimum: int = 1_000_000) -> bool:
    return (acc.status == "NORMAL" and acc.currency == "CNY" and acc.available_fen >= minimum
            and not acc.freeze_ids and acc.priority_held_fen == 0 and not acc.priority_review_pending)


def docs(n: str) -> dict[str, Any]:
    return {"ruling": document("RULING", f"{n}之一"), "assistance_notice": document("ASSISTANCE_NOTICE", f"{n}通知")}


async def ask(court: CourtClient, msg: AvroMessage, schema: str | None = None) -> AvroMessage:
    await court.send(msg)
    return (await court.wait_for(msg.request_id, schema=schema, timeout_s=60))[0]


@pytest.fixture
async def court(banks: AgencyProcess) -> Any:
    async with CourtClient(banks.settings, "京0105") as client:
        yield client


# --- query -------------------------------------------------------------------------------
async def test_query_reports_accounts_with_a_verifiable_seal_000_s7_s8(court, reference_ledgers, banks) -> None:
    """000 §7 (query content), §8 (electronic seal), §16 (delivery time recorded)."""
    code, acc = find(reference_ledgers, plain)
    q = bank_api.query(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                    assistance_notice=document("ASSISTANCE_NOTICE", "查询通知"))
    reply = await ask(court, q)
    assert reply.schema.endswith("QueryReply") and reply.body["status"] == "EXECUTED", reply.body
    numbers = {a["account_number"] for a in reply.body["accounts"]}
    assert acc.account_number in numbers
    found = next(a for a in reply.body["accounts"] if a["account_number"] == acc.account_number)
    assert found["balance"]["amount_fen"] == acc.balance_fen and found["branch_name"] == acc.branch_name
    assert reply.body["delivered_at"] is not None
    raw = court.raw[q.request_id][0]
    assert verify_receipt(raw, Path(banks.settings.data_dir)).request_id == q.request_id


async def test_query_for_a_subject_without_accounts_says_no_account_000_s7(court, reference_ledgers) -> None:
    q = bank_api.query(court, bank="icbc", case=new_case(court), subject=person("王无户", NOBODY_ID),
                    officer=OFFICER, assistance_notice=document("ASSISTANCE_NOTICE", "n"))
    reply = await ask(court, q)
    assert reply.body.get("no_account") is True and reply.body["accounts"] == [], reply.body


# --- freeze family -------------------------------------------------------------------------
async def test_freeze_executes_and_reports_requested_and_frozen_000_s9(court, reference_ledgers) -> None:
    code, acc = find(reference_ledgers, plain)
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=50_000, end_date=date(2025, 12, 31),
                     **docs("F1"))
    reply = await ask(court, f)
    body = reply.body
    assert body["status"] == "EXECUTED" and body["requested"]["amount_fen"] == 50_000
    assert body["frozen"]["amount_fen"] == 50_000 and body["freeze_id"] and body["end_date"] == date(2025, 12, 31)


async def test_limited_freeze_freezes_what_is_there_000_s10(court, reference_ledgers) -> None:
    """000 §10: available balance below the request -> 限额冻结, the limit stays open."""
    code, acc = find(reference_ledgers, lambda a: plain(a, 10_000) and a.available_fen < 10**9)
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=acc.available_fen + 123_456,
                     end_date=date(2025, 12, 31), **docs("F2"))
    body = (await ask(court, f)).body
    assert body["limited_freeze"] is True
    assert body["frozen"]["amount_fen"] == acc.available_fen
    assert body["remaining_limit"]["amount_fen"] == 123_456


async def test_waiting_in_line_freeze_reports_earlier_freezes_000_s10(court, reference_ledgers) -> None:
    """000 §10: 轮候冻结 stacks on earlier freezes and reports their records."""
    code, acc = find(reference_ledgers, lambda a: a.status != "CLOSED" and a.currency == "CNY"
                     and bool(a.freeze_ids) and a.available_fen == 0 and not a.priority_review_pending)
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=10_000, end_date=date(2025, 12, 31),
                     waiting_in_line=True, **docs("F3"))
    body = (await ask(court, f)).body
    assert body["waiting_in_line"] is True and body["earlier_freezes"]
    assert body["frozen"]["amount_fen"] == 0 and body["reason"]


async def test_priority_claim_value_is_never_counted_as_frozen_000_s12(court, reference_ledgers) -> None:
    code, acc = find(reference_ledgers, lambda a: a.status == "NORMAL" and a.currency == "CNY"
                     and a.priority_held_fen > 0 and not a.freeze_ids and not a.priority_review_pending)
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=acc.balance_fen, end_date=date(2025, 12, 31),
                     **docs("F4"))
    body = (await ask(court, f)).body
    assert body["frozen"]["amount_fen"] == acc.balance_fen - acc.priority_held_fen
    assert body["priority_claims"], "the claim is reported"


async def test_freeze_on_a_closed_account_states_why_000_s17(court, reference_ledgers) -> None:
    code, acc = find(reference_ledgers, lambda a: a.status == "CLOSED")
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=1_000, end_date=date(2025, 12, 31), **docs("F5"))
    body = (await ask(court, f)).body
    assert body["status"] == "NOT_EXECUTED" and "clos" in body["reason"].lower()


async def test_continued_unfreeze_and_deduction_from_frozen_funds_000_s10_s14_s15(court, reference_ledgers) -> None:
    """000 §10 续冻 extends the end; §14 frozen money is deducted without unfreezing; §15 amounts."""
    code, acc = find(reference_ledgers, lambda a: plain(a, 300_000))
    case, subj = new_case(court), subject_of(acc)
    frozen = (await ask(court, bank_api.freeze(court, bank=code, case=case, subject=subj, officer=OFFICER,
                                            account_number=acc.account_number, amount_fen=200_000,
                                            end_date=date(2025, 6, 30), **docs("F6")))).body
    fid = frozen["freeze_id"]
    cont = (await ask(court, bank_api.continue_freeze(court, bank=code, case=case, subject=subj, officer=OFFICER,
                                                          freeze_id=fid,
                                                   account_number=acc.account_number, amount_fen=200_000,
                                                   new_end_date=date(2025, 12, 31), **docs("F6")))).body
    assert cont["status"] == "EXECUTED" and cont["new_end_date"] == date(2025, 12, 31)
    assert cont["previous_end_date"] == date(2025, 6, 30)
    ded = (await ask(court, bank_api.deduct(court, bank=code, case=case, subject=subj, officer=OFFICER, freeze_id=fid,
                                         account_number=acc.account_number, amount_fen=80_000, **docs("F6")))).body
    assert ded["status"] == "EXECUTED" and ded["deducted"]["amount_fen"] == 80_000
    assert ded["not_deducted"]["amount_fen"] == 120_000, "000 §15: original frozen amount less the deduction"
    assert ded["court_account"]["account_number"] == court.court.account_for("CNY").account_number
    unf = (await ask(court, bank_api.unfreeze(court, bank=code, case=case, subject=subj, officer=OFFICER, freeze_id=fid,
                                           account_number=acc.account_number, amount_fen=120_000,
                                           **docs("F6")))).body
    assert unf["status"] == "EXECUTED" and unf["released"]["amount_fen"] == 120_000


async def test_no_deduction_while_a_priority_claim_review_is_pending_000_s12(court, reference_ledgers) -> None:
    code, acc = find(reference_ledgers, lambda a: a.priority_review_pending and a.status != "CLOSED"
                     and a.currency == "CNY")
    d = bank_api.deduct(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=1_000, **docs("D1"))
    body = (await ask(court, d)).body
    assert body["status"] == "NOT_EXECUTED" and body["deducted"]["amount_fen"] == 0
    assert "priority" in body["reason"].lower()


# --- rejection at the hub ---------------------------------------------------------------------
async def test_invalid_freeze_gets_an_error_reply_naming_the_field_and_is_dead_lettered_000_s9(
        court, reference_ledgers, hub_worker) -> None:
    code, acc = find(reference_ledgers, plain)
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=1, end_date=date(2025, 12, 31), **docs("X"))
    f.body["amount"]["amount_fen"] = 0
    async with Tap(hub_worker.settings, "ops.deadletter") as tap:
        reply = await ask(court, f)
        dead = await tap.collect(lambda rs: any(CODEC.decode(r.value).body["request_id"] == f.request_id
                                                for r in rs))
    assert reply.schema.endswith("ErrorReply") and reply.body["field"] == "body.amount.amount_fen"
    dl = next(CODEC.decode(r.value) for r in dead if CODEC.decode(r.value).body["request_id"] == f.request_id)
    assert dl.body["reason_code"] == "invalid_amount" and CODEC.decode(dl.body["original"]).request_id == f.request_id


# --- idempotency and seals ------------------------------------------------------------------------
async def _inbox_offset(settings: Any, bank: str, request_id: str) -> tuple[TopicPartition, int]:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic(f"agency.{bank}.inbox"), p) for p in range(4)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for rec in records:
                    if CODEC.decode(rec.value).request_id == request_id:
                        return TopicPartition(rec.topic, rec.partition), rec.offset
        raise LookupError(request_id)
    finally:
        await consumer.stop()


async def _rewind(settings: Any, bank: str, tp: TopicPartition, offset: int) -> None:
    consumer = AIOKafkaConsumer(group_id=agency_group_id(settings.app_id, bank), enable_auto_commit=False,
                                **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


async def test_resend_and_redelivery_of_a_freeze_have_one_effect_and_identical_replies(
        court, reference_ledgers, banks) -> None:
    """A court resend and a Kafka redelivery: one freeze in the ledger, byte-identical sealed replies."""
    code, acc = find(reference_ledgers, lambda a: plain(a, 100_000))
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=70_000, end_date=date(2025, 12, 31), **docs("R"))
    await ask(court, f)
    await court.send(f)  # the court resends the same request
    await court.wait_for(f.request_id, count=2, timeout_s=60)
    # forced redelivery: the bank restarts with its consumer group rewound before the freeze
    tp, offset = await _inbox_offset(banks.settings, code, f.request_id)
    banks.stop()
    await _rewind(banks.settings, code, tp, offset)
    banks.spawn()
    await court.wait_for(f.request_id, count=3, timeout_s=90)
    copies = court.raw[f.request_id]
    assert len(copies) >= 3 and len(set(copies)) == 1, "every reply is byte-identical"
    ledger = BankLedger(code, ledger_path(banks.settings, code))
    try:
        effects = [e for e in ledger.effects() if e.request_id == f.request_id]
    finally:
        ledger.close()
    assert [(e.kind, e.amount_fen) for e in effects] == [("FREEZE", 70_000)]


async def _forge_and_expect_rejection(hub_worker: Any, outbox_bank: str, reply: AvroMessage, reason: str) -> None:
    settings = hub_worker.settings
    async with Tap(settings, "ops.deadletter", f"agency.{outbox_bank}.inbox") as tap:
        await produce(settings, f"agency.{outbox_bank}.outbox", CODEC.encode_message(reply), b"forged")
        seen = await tap.collect(lambda rs: sum(r.key == b"forged" or r.value.find(b"forged") >= 0 for r in rs) >= 2)
    dead = [CODEC.decode(r.value) for r in seen if r.topic.endswith("ops.deadletter")]
    assert any(d.body["reason_code"] == reason and d.body["request_id"] == reply.request_id for d in dead)
    answers = [CODEC.decode(r.value) for r in seen if r.topic.endswith(f"agency.{outbox_bank}.inbox")]
    assert any(a.body.get("error_code") == reason for a in answers), "the sending bank is told why"


async def test_reply_with_a_tampered_seal_is_rejected_and_dead_lettered_000_s8(
        court, reference_ledgers, hub_worker) -> None:
    code, acc = find(reference_ledgers, plain)
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=1_000, end_date=date(2025, 12, 31), **docs("T"))
    genuine = await ask(court, f)
    tampered = CODEC.decode(CODEC.encode_message(genuine))
    tampered.body["frozen"]["amount_fen"] = 999_999  # the content changes, the seal does not
    await _forge_and_expect_rejection(hub_worker, code, tampered, "invalid_seal")
    with pytest.raises(TimeoutError):
        await court.wait_for(f.request_id, count=2, timeout_s=3)


async def test_reply_from_a_bank_other_than_the_addressed_one_is_rejected(
        court, reference_ledgers, hub_worker) -> None:
    code, acc = find(reference_ledgers, plain)
    other = "ccb" if code != "ccb" else "icbc"
    f = bank_api.freeze(court, bank=code, case=new_case(court), subject=subject_of(acc), officer=OFFICER,
                     account_number=acc.account_number, amount_fen=1_000, end_date=date(2025, 12, 31), **docs("W"))
    genuine = await ask(court, f)
    stolen = AvroMessage(genuine.schema, {**genuine.datum, "envelope": {**genuine.envelope, "sender": other},
                                          "seal": None})
    key_id, key = KeyStore(hub_worker.settings.data_dir).signer(other)
    await _forge_and_expect_rejection(hub_worker, other, seal_message(CODEC, stolen, key, key_id), "wrong_agency")


# --- intensive query (seed 001) — last: it moves the hub's clock ----------------------------------
def _latest_result(court: CourtClient, iid: str) -> dict[str, Any] | None:
    results = [m for m in court.received if m.request_id == iid and m.schema.endswith("IntensiveQueryResult")]
    return results[-1].body if results else None


async def _wait_result(court: CourtClient, iid: str, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        body = _latest_result(court, iid)
        if body is not None and pred(body):
            return body
        await court.poll()
    raise TimeoutError(f"merged result of {iid}: {_latest_result(court, iid)}")


async def test_intensive_query_fans_out_merges_refuses_own_queries_and_escalates_unviewed_property_seed_001(
        court, reference_ledgers, banks, hub_worker, tmp_path) -> None:
    """Seed 001 §(一)1-2: fan-out to the unit set, merged result, own queries refused while pending,
    property feedback not viewed within 3 days escalated (执行督办); viewed feedback is not."""
    _, acc = find(reference_ledgers, lambda a: plain(a) and len(a.holder_id) == 18 and a.holder_id[6:8] == "19")
    subj = subject_of(acc)
    case_a = new_case(court)
    iq_a = bank_api.intensive_query(court, case=case_a, subject=subj, officer=OFFICER,
                                 assistance_notice=document("ASSISTANCE_NOTICE", "集约"))
    await court.send(iq_a)
    body = await _wait_result(court, iq_a.request_id, lambda b: sum(u["state"] == "PENDING" for u in b["units"]) == 1)
    states = {u["unit_code"]: u["state"] for u in body["units"]}
    assert states[LATE_BANK] == "PENDING" and not body["complete"] and body["property_found"]
    assert len(states) >= 25 and "csdc" in states and {"tenpay", "jdpay", "alipay"} <= states.keys()
    # the court's own query to a unit that has not answered is refused; to one that has, it goes through
    refused = await ask(court, bank_api.query(court, bank=LATE_BANK, case=case_a, subject=subj, officer=OFFICER,
                                           assistance_notice=document("ASSISTANCE_NOTICE", "自查")))
    assert refused.schema.endswith("ErrorReply") and refused.body["error_code"] == "refused"
    allowed = await ask(court, bank_api.query(court, bank="icbc", case=case_a, subject=subj, officer=OFFICER,
                                           assistance_notice=document("ASSISTANCE_NOTICE", "自查")))
    assert allowed.schema.endswith("QueryReply")
    # the late unit comes up and answers: the merged result completes
    late = AgencyProcess(hub_worker.settings, tmp_path / "late.log", ["simulate", "banks", "--agency", LATE_BANK])
    late.spawn()
    try:
        await _wait_result(court, iq_a.request_id, lambda b: b["complete"])
        # a second case whose property the officer views in time
        case_b = new_case(court)
        iq_b = bank_api.intensive_query(court, case=case_b, subject=subj, officer=OFFICER,
                                     assistance_notice=document("ASSISTANCE_NOTICE", "集约B"))
        await court.send(iq_b)
        await _wait_result(court, iq_b.request_id, lambda b: b["complete"])
        await court.send(bank_api.property_viewed(court, case_number=case_b["case_number"], officer=OFFICER))
        await court.poll(1.0)
        # three days pass (the hub's injected clock)
        status, _ = hub_worker.http("/clock", data={"advance_seconds": 3 * 86400 + 60})
        assert status == 200
        escalation = (await court.wait_for(iq_a.request_id, schema="cn.court.interop.bank.SupervisionEscalation",
                                           timeout_s=30))[0]
        assert escalation.body["case"]["case_number"] == case_a["case_number"] and escalation.body["unit_codes"]
        await court.poll(3.0)
        assert not [m for m in court.received if m.request_id == iq_b.request_id
                    and m.schema.endswith("SupervisionEscalation")], "viewed in time: no escalation"
    finally:
        late.stop()
