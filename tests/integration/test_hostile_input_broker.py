"""Hostile input through the real broker and the real hub worker: 300 mixed cases, then a valid request.

Corrupt bytes, unknown schema fingerprints, truncated and padded messages, schema-valid but
rule-invalid requests, requests to unknown agencies and oversize values on ``court.requests``;
messages claiming another sender and replies to requests nobody sent on a bank's outbox.  Every one
is dead-lettered with its reason (the dead letter names its source offset) and answered on the
sender's reply topic; a valid freeze produced behind them all still reaches the bank's inbox.
"""

from __future__ import annotations

import copy
import os
import random

from aiokafka import AIOKafkaProducer

from hub.codec import MARKER, default_codec
from hub.process import WorkerProcess
from support.kafka_tap import Tap
from tests.unit.hub.test_intake_hostile_input import RULE_BREAKS, court, valid_freeze

CODEC = default_codec()
CASES = 300


def _cases(rng: random.Random, max_bytes: int) -> list[tuple[str, str, bytes]]:
    c = court()
    good = CODEC.encode_message(valid_freeze(c))
    out: list[tuple[str, str, bytes]] = []
    for i in range(CASES):
        kind = i % 9
        if kind == 0:
            out.append(("corrupt", "court.requests", rng.randbytes(rng.randint(0, 200))))
        elif kind == 1:
            out.append(("unknown_fingerprint", "court.requests", MARKER + rng.randbytes(8) + rng.randbytes(40)))
        elif kind == 2:
            out.append(("truncated", "court.requests", good[: rng.randint(0, len(good) - 1)]))
        elif kind == 3:
            out.append(("trailing", "court.requests", good + rng.randbytes(rng.randint(1, 20))))
        elif kind == 4:
            msg = valid_freeze(c, i)
            datum = copy.deepcopy(msg.datum)
            rng.choice(RULE_BREAKS)(datum["body"])
            out.append(("rule_invalid", "court.requests", CODEC.encode(msg.schema, datum)))
        elif kind == 5:
            msg = valid_freeze(c, i)
            out.append(("bad_recipient", "court.requests",
                        CODEC.encode(msg.schema, {**msg.datum, "envelope": {**msg.envelope, "recipient": "nobank"}})))
        elif kind == 6 and i % 27 == 6:
            out.append(("oversize", "court.requests", good + os.urandom(max_bytes + 10)))
        elif kind in (6, 7):
            hb = _heartbeat("ccb")  # on icbc's outbox: claims another sender
            out.append(("wrong_sender", "agency.icbc.outbox", hb))
        elif i % 2:
            msg = valid_freeze(c, i)  # a court request replayed onto a bank's outbox: no flow takes it
            env = {**msg.envelope, "sender": "icbc"}
            out.append(("no_route", "agency.icbc.outbox", CODEC.encode(msg.schema, {**msg.datum, "envelope": env})))
        else:
            msg = valid_freeze(c, i)  # an unsealed "reply" to a request nobody sent
            env = {**msg.envelope, "sender": "icbc", "recipient": "hub"}
            reply = _reply_to_nothing(env)
            out.append(("unknown_request", "agency.icbc.outbox", reply))
    return out


def _heartbeat(sender: str) -> bytes:
    from hub.clock import SystemClock
    from hub.envelope import envelope, message

    env = envelope(SystemClock(), request_id=f"heartbeat-{sender}", sender=sender, recipient="hub")
    body = {"agency": sender, "status": "UP", "out_of_service_until": None, "detail": None, "backlog": None,
            "interval_ms": 5000}
    return CODEC.encode_message(message("cn.court.interop.ops.Heartbeat", env, body))


def _reply_to_nothing(env: dict[str, object]) -> bytes:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    body = {"status": "NOT_EXECUTED", "reason": "no such account", "delivered_at": now, "executed_at": now,
            "no_account": True, "accounts": [], "financial_assets": [], "transaction_window": None,
            "transactions": []}
    return CODEC.encode("cn.court.interop.bank.QueryReply", {"envelope": env, "body": body, "seal": None})


async def test_three_hundred_hostile_records_are_dead_lettered_and_answered_and_the_partition_keeps_flowing(
        hub_worker: WorkerProcess) -> None:
    settings = hub_worker.settings
    cases = _cases(random.Random(7), settings.max_message_bytes)
    producer = AIOKafkaProducer(acks="all", max_request_size=4 * settings.max_message_bytes,
                                **settings.kafka_client_kwargs())
    behind = valid_freeze(court(), 4242)
    async with Tap(settings, "ops.deadletter", "court.replies", "agency.icbc.inbox") as tap:
        await producer.start()
        sources: dict[str, str] = {}
        try:
            for kind, topic, value in cases:
                meta = await producer.send_and_wait(settings.topic(topic), value, key=b"hostile-case")
                sources[f"{meta.topic}/{meta.partition}/{meta.offset}"] = kind
            await producer.send_and_wait(settings.topic("court.requests"), CODEC.encode_message(behind),
                                         key=behind.body["case"]["case_number"].encode())
        finally:
            await producer.stop()

        def done(records: list) -> bool:
            dead = sum(r.topic.endswith("ops.deadletter") and r.key.decode() in sources for r in records)
            delivered = any(r.topic.endswith("icbc.inbox") and CODEC.decode(r.value).request_id == behind.request_id
                            for r in records)
            replies = sum(not r.topic.endswith("ops.deadletter") and r.key == b"hostile-case" for r in records)
            return dead >= len(sources) and replies >= len(sources) and delivered

        seen = await tap.collect(done, timeout=120)
    dead = {r.key.decode(): CODEC.decode(r.value) for r in seen if r.topic.endswith("ops.deadletter")}
    missing = [s for s in sources if s not in dead]
    assert not missing, f"{len(missing)} hostile records not dead-lettered: {[sources[m] for m in missing[:5]]}"
    reasons = {(sources[s], dead[s].body["reason_code"]) for s in sources}
    errors = [CODEC.decode(r.value) for r in seen if not r.topic.endswith("ops.deadletter")
              and r.key == b"hostile-case"]
    answered = {e.body["dead_letter_offset"] for e in errors if e.schema.endswith("ErrorReply")}
    dl_offsets = {r.offset for r in seen if r.topic.endswith("ops.deadletter") and r.key.decode() in sources}
    print(f"\nhostile records through the broker: {len(sources)}; dead-lettered: {len(sources) - len(missing)}; "
          f"answered: {len(answered & dl_offsets)}; reasons: {sorted(reasons)}")
    assert dl_offsets <= answered, "every rejected record's sender got an error reply naming its dead letter"
    assert any(r.topic.endswith("icbc.inbox") and CODEC.decode(r.value).request_id == behind.request_id
               for r in seen), "the valid request behind the poison records was routed"
