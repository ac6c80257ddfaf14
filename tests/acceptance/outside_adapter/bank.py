"""A bank, from the guide (§1 group, §3 ``delivered-at``, §4 inbox/outbox, §5 seal, §7 the reply, §9 the
deterministic message id): it reads its inbox, records the delivery time and answers a sealed ``FreezeReply``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .connection import Login, producer
from .envelope import envelope, now_ms
from .seal import seal
from .wire import Codec, Decoded

FREEZE_REQUEST = "cn.court.interop.bank.FreezeRequest"
FREEZE_REPLY = "cn.court.interop.bank.FreezeReply"
REPLY_NAMESPACE = uuid.UUID("5f0c3a52-7e61-4d2b-9a7c-0d1e2f3a4b5c")  # this bank's own namespace (§9)


@dataclass(frozen=True)
class Answered:
    request: Decoded
    key: bytes
    delivered_at_ms: int  # the ``delivered-at`` header
    reply: bytes  # the sealed FreezeReply as written to the outbox


class Bank:
    """One bank's client: login ``bank-<code>``, the code in the envelope, its own sealing key."""

    def __init__(self, login: Login, codec: Codec, code: str, key: Ed25519PrivateKey, key_id: str) -> None:
        self.login, self.codec, self.code, self.key, self.key_id = login, codec, code, key, key_id

    def freeze_reply(self, request: Decoded, delivered_at_ms: int) -> bytes:
        """Freeze all that was asked (a stand-in for the real ledger): §7 step 3."""
        executed = now_ms()
        body: dict[str, Any] = request.body
        request_id = request.envelope["request_id"]
        env = envelope(sender=self.code, recipient="hub", request_id=request_id,
                       correlation_id=request.envelope["correlation_id"], sent_at_ms=executed,
                       message_id=str(uuid.uuid5(REPLY_NAMESPACE, f"{self.code}/{request_id}")))
        reply = {"status": "EXECUTED", "reason": None, "delivered_at": delivered_at_ms, "executed_at": executed,
                 "freeze_id": f"{self.code.upper()}-FRZ-{request_id[:8]}", "account_number": body["account_number"],
                 "requested": body["amount"], "frozen": body["amount"], "start_at": executed,
                 "end_date": body["end_date"], "limited_freeze": False, "remaining_limit": None,
                 "waiting_in_line": False, "earlier_freezes": [], "priority_claims": []}
        return seal(self.codec, FREEZE_REPLY, {"envelope": env, "body": reply}, self.key, self.key_id)

    async def answer_one(self, timeout_s: float = 60.0) -> Answered:
        """Read the next inbox record (the bank's own consumer group), answer it on the outbox with the inbox
        record's key, and commit the inbox offset once the broker acknowledged the answer (§2)."""
        consumer = AIOKafkaConsumer(self.login.topic(f"agency.{self.code}.inbox"),
                                    group_id=self.login.agency_group(self.code), enable_auto_commit=False,
                                    auto_offset_reset="earliest", **self.login.client_kwargs())
        out = producer(self.login)
        await consumer.start()
        await out.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=1)
                if not batch:
                    raise TimeoutError(f"nothing on {self.code}'s inbox within {timeout_s:.0f} s")
                ((tp, (rec, *_)),) = batch.items()
                headers = dict(rec.headers)
                request = self.codec.decode(rec.value or b"")
                if request.name != FREEZE_REQUEST:  # a notice or an error reply: nothing to answer here
                    await consumer.commit({tp: rec.offset + 1})
                    continue
                delivered = int(headers["delivered-at"].decode("ascii"))
                reply = self.freeze_reply(request, delivered)
                await out.send_and_wait(self.login.topic(f"agency.{self.code}.outbox"), reply, key=rec.key)
                await consumer.commit({tp: rec.offset + 1})
                return Answered(request, rec.key or b"", delivered, reply)
        finally:
            await out.stop()
            await consumer.stop()
