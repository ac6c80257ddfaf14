"""The bank flow in process: the real hub core with only the bank flow registered, simulated banks answering.

Each bank is :class:`agents.bank.simulator.SimulatedBank` on an empty in-memory ledger, its sealing key
generated into the hub's data dir the first time it answers (so the hub meets keys registered after it
started, as in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

import hub.flows.bank as bank_flow
from agents.bank import court_api as bank_api
from agents.bank.ledger import BankLedger
from agents.bank.simulator import SimulatedBank
from agents.court.adapter import CourtClient, document, officer
from agents.population import Person
from hub.codec import AvroMessage, default_codec
from hub.flows.bank.messages import SINGLE_REQUESTS
from hub.memory_backend import MemoryHub, Sent
from hub.seal import KeyStore
from topics.catalog import inbox_name, outbox_name

CODEC = default_codec()
CASE_NUMBER = "（2024）京0105执1234号"
DEBTOR = Person(name="张三", id_number="11010519491231002X", gender="FEMALE", birth_date=date(1949, 12, 31),
                region_code="110105", phone=None, address="北京市朝阳区")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
RULING = document("RULING", "（2024）京0105执1234号之一")
NOTICE = document("ASSISTANCE_NOTICE", "（2024）京0105执1234号协助查询通知书")


def decoded(hub: MemoryHub, catalog_topic: str) -> list[AvroMessage]:
    """Every message the hub sent to a catalog topic, decoded, in order."""
    return [CODEC.decode(s.value or b"") for s in sent_to(hub, catalog_topic)]


def sent_to(hub: MemoryHub, catalog_topic: str) -> list[Sent]:
    return hub.sender.on(hub.ctx.settings.topic(catalog_topic))


@dataclass
class Court:
    """京0105 building requests on the hub's clock and handing them to the hub as the court gateway would."""

    hub: MemoryHub
    client: CourtClient

    @property
    def case(self) -> dict[str, Any]:
        return self.client.case(CASE_NUMBER, date(2024, 3, 1))

    def query(self, bank: str) -> AvroMessage:
        return bank_api.query(self.client, bank=bank, case=self.case, subject=DEBTOR.subject_record(), officer=OFFICER,
                                 assistance_notice=NOTICE)

    def freeze(self, bank: str, account_number: str = "6222020200012345678") -> AvroMessage:
        return bank_api.freeze(self.client, bank=bank, case=self.case, subject=DEBTOR.subject_record(), officer=OFFICER,
                                  account_number=account_number, amount_fen=500_000, end_date=date(2025, 12, 31),
                                  ruling=RULING, assistance_notice=NOTICE)

    def intensive_query(self) -> AvroMessage:
        return bank_api.intensive_query(self.client, case=self.case, subject=DEBTOR.subject_record(), officer=OFFICER,
                                           assistance_notice=NOTICE)

    def property_viewed(self) -> AvroMessage:
        return bank_api.property_viewed(self.client, case_number=CASE_NUMBER, officer=OFFICER)

    async def send(self, msg: AvroMessage) -> bytes:
        """The request's bytes, as received by the hub on ``court.requests``."""
        raw = CODEC.encode_message(msg)
        await self.hub.receive("court.requests", CASE_NUMBER.encode(), raw)
        return raw


class Banks:
    """Simulated banks reading what the hub put in their inboxes and answering on their outboxes."""

    def __init__(self, hub: MemoryHub) -> None:
        self.hub = hub
        self.keys = KeyStore(hub.ctx.settings.data_dir)
        self.banks: dict[str, SimulatedBank] = {}

    def bank(self, code: str) -> SimulatedBank:
        if code not in self.banks:
            self.keys.generate([code])
            key_id, key = self.keys.signer(code)
            self.banks[code] = SimulatedBank(code, BankLedger(code), key_id, key, CODEC)
        return self.banks[code]

    def requests_to(self, code: str) -> list[Sent]:
        """The court requests in the bank's inbox (not the error replies the hub sends it)."""
        return [s for s in sent_to(self.hub, inbox_name(code))
                if CODEC.decode(s.value or b"").schema in SINGLE_REQUESTS]

    def reply(self, code: str, request: Sent, *, by: str | None = None) -> bytes:
        """The sealed reply bank ``by`` (default: ``code``) gives to ``request`` from ``code``'s inbox."""
        reply = self.bank(by or code).handle_bytes(request.value or b"", request.headers)
        assert reply is not None
        return reply

    async def answer(self, code: str, *, by: str | None = None) -> bytes:
        """The bank answers the last request in ``code``'s inbox on its own outbox; the reply's bytes."""
        request = self.requests_to(code)[-1]
        reply = self.reply(code, request, by=by)
        await self.hub.receive(outbox_name(by or code), request.key, reply)
        return reply


@pytest.fixture
def bank_hub(bare_hub: MemoryHub) -> MemoryHub:
    """The hub's core with the bank flow registered on it."""
    bank_flow.register(bare_hub.ctx)
    return bare_hub


@pytest.fixture
def court(bank_hub: MemoryHub) -> Court:
    return Court(bank_hub, CourtClient(bank_hub.ctx.settings, "京0105", clock=bank_hub.ctx.clock))


@pytest.fixture
def banks(bank_hub: MemoryHub) -> Banks:
    return Banks(bank_hub)
