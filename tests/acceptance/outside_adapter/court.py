"""A court behind the 总对总 gateway, from the guide (§1 codes, §3 keys, §4 ``court.requests``/``court.replies``,
§12 list decisions): it writes requests keyed by the case number and matches answers by ``request_id``."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from .connection import Login, all_partitions, producer
from .envelope import envelope, now_ms
from .wire import Codec

FREEZE_REQUEST = "cn.court.interop.bank.FreezeRequest"
LIST_DECISION = "cn.court.interop.credit.ListDecision"


def document(kind: str, number: str) -> dict[str, Any]:
    """A document reference: its digest travels, never the document (``sha256``: 64 hex characters)."""
    return {"kind": kind, "number": number, "sha256": hashlib.sha256(number.encode()).hexdigest(), "title": None,
            "issued_by": None, "issued_on": None, "uri": None}


_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def resident_id(first17: str) -> str:
    """A resident ID number with its GB 11643 (ISO 7064 MOD 11-2) check character appended."""
    check = (12 - sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11) % 11
    return first17 + ("X" if check == 10 else str(check))


def age_on(resident_id: str, day: date) -> int:
    """Whole years of the person born on the resident ID's date (digits 7-14) at ``day``."""
    born = date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def person(name: str, resident_id: str, gender: str | None = None) -> dict[str, Any]:
    return {"kind": "PERSON", "name": name, "id_type": "RESIDENT_ID", "id_number": resident_id, "org_code": None,
            "gender": gender, "birth_date": None, "former_names": [], "legal_representative": None}


@dataclass(frozen=True)
class Sent:
    request_id: str
    key: str
    value: bytes


class CourtGateway:
    """One court's client: ``court-gateway`` login, the court's code in the envelope."""

    def __init__(self, login: Login, codec: Codec, code: str, name: str, place_code: str) -> None:
        self.login, self.codec = login, codec
        self.code, self.name, self.place_code = code, name, place_code
        self._producer: AIOKafkaProducer | None = None
        self._replies: AIOKafkaConsumer | None = None
        self._seen: dict[str, list[bytes]] = {}

    async def __aenter__(self) -> CourtGateway:
        self._producer = producer(self.login)
        await self._producer.start()
        # no consumer group needed to read replies: every partition, from the end as it is now
        partitions = await all_partitions(self.login, self.login.topic("court.replies"))
        self._replies = AIOKafkaConsumer(enable_auto_commit=False, **self.login.client_kwargs())
        await self._replies.start()
        self._replies.assign(partitions)
        await self._replies.seek_to_end(*partitions)
        for tp in partitions:
            await self._replies.position(tp)  # fix the position before anything is sent
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        for client in (self._producer, self._replies):
            if client is not None:
                await client.stop()

    def case(self, case_number: str, filing_date: date) -> dict[str, Any]:
        return {"case_number": case_number, "filing_date": filing_date,
                "court": {"court_code": self.code, "court_name": self.name, "place_code": self.place_code}}

    def freeze_request(self, *, bank: str, case: dict[str, Any], subject: dict[str, Any], officer: dict[str, Any],
                       account_number: str, amount_fen: int, end_date: date) -> Sent:
        """§4: recipient the bank's code; key the case number (§3)."""
        env = envelope(sender=self.code, recipient=bank)
        body = {"case": case, "subject": subject, "officer": officer, "account_number": account_number,
                "sub_account_number": None, "financial_asset_id": None,
                "amount": {"amount_fen": amount_fen, "currency": "CNY"}, "end_date": end_date,
                "waiting_in_line": False, "ruling": document("RULING", f"{case['case_number']}之一"),
                "assistance_notice": document("ASSISTANCE_NOTICE", f"{case['case_number']}协助冻结通知书")}
        return Sent(env["request_id"], case["case_number"],
                    self.codec.encode(FREEZE_REQUEST, {"envelope": env, "body": body}))

    def list_decision(self, *, listing_id: str, action: str, case_number: str, content: dict[str, Any] | None = None,
                      ground: str | None = None, term_start: date | None = None,
                      deletion_ground: str | None = None, reason: str | None = None) -> Sent:
        """§12 / §4: recipient ``platform``, correlation id the listing id, key the listing's case number."""
        env = envelope(sender=self.code, recipient="platform", correlation_id=listing_id)
        body = {"listing_id": listing_id, "action": action, "ground": ground, "art3_circumstance": "NONE",
                "content": content, "decision_document": document("LISTING_DECISION", f"{listing_id}-{action}"),
                "term_start": term_start, "term_end": None, "extension_years": None,
                "deletion_ground": deletion_ground, "reason": reason, "requested_by_creditor": False,
                "officer": None, "decided_at": now_ms()}
        return Sent(env["request_id"], case_number, self.codec.encode(LIST_DECISION, {"envelope": env, "body": body}))

    async def send(self, sent: Sent) -> None:
        assert self._producer is not None, "use the client as an async context manager"
        await self._producer.send_and_wait(self.login.topic("court.requests"), sent.value, key=sent.key.encode())

    async def answer(self, request_id: str, timeout_s: float = 60.0) -> bytes:
        """The first record on ``court.replies`` answering ``request_id`` (matched by request id, never recipient)."""
        assert self._replies is not None, "use the client as an async context manager"
        deadline = time.monotonic() + timeout_s
        while not self._seen.get(request_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {request_id} within {timeout_s:.0f} s")
            batch = await self._replies.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    if rec.value is not None:
                        rid = self.codec.decode(rec.value).envelope["request_id"]
                        self._seen.setdefault(rid, []).append(rec.value)
            await asyncio.sleep(0)
        return self._seen[request_id][0]
