"""The credit flow in process: the real hub core with only the credit flow registered, no broker.

The journal's consumer is played by hand (:meth:`CreditHub.sequence` hands what was journalled to
:meth:`~hub.flows.credit.journal.CreditJournal.sequence_batch`), its log reader reads back what the
memory sender holds, and the sequencer's outcomes are received on ``hub.ticks`` like the worker's.
The credit platform is the simulated one (:class:`agents.credit.platform.CreditPlatform`) on a
throw-away copy of the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import hub.flows.credit as credit_flow
from agents.credit.platform import CreditPlatform
from agents.credit.store import ListStore
from hub.clock import ManualClock
from hub.codec import AvroMessage, default_codec
from hub.deadletter import RawRecord
from hub.envelope import envelope, message, new_id
from hub.flows.credit.list_log import LogBatch
from hub.flows.credit.messages import PLATFORM
from hub.memory_backend import MemoryHub, Sent
from hub.settings import HubSettings
from tests.unit.hub.flows.credit.test_list_rules import CASE_NO, COURT
from topics.catalog import inbox_name, outbox_name

CODEC = default_codec()
INBOX = inbox_name(PLATFORM)
OUTBOX = outbox_name(PLATFORM)
__all__ = ["CASE_NO", "CODEC", "COURT", "INBOX", "OUTBOX", "CreditHub"]


class CreditHub:
    def __init__(self, hub: MemoryHub, platform: CreditPlatform) -> None:
        self.hub = hub
        self.ctx = hub.ctx
        self.platform = platform
        self.flow = credit_flow.register(hub.ctx)
        self.journal = self.flow.journal
        self.journal.writable.set()  # the journal topic exists (in the worker its background job creates it)
        self.journal.read = self.read_sent
        self.journal.backoff_s = 0.0
        self._journalled = 0

    @property
    def clock(self) -> ManualClock:
        clock = self.ctx.clock
        assert isinstance(clock, ManualClock)
        return clock

    def sent_to(self, catalog_topic: str) -> list[Sent]:
        return self.hub.sender.on(self.ctx.settings.topic(catalog_topic))

    def decoded(self, catalog_topic: str) -> list[AvroMessage]:
        """Every message the hub sent to a catalog topic, decoded, in order (tombstones left out)."""
        return [CODEC.decode(s.value) for s in self.sent_to(catalog_topic) if s.value is not None]

    def journalled(self) -> list[Sent]:
        return self.hub.sender.on(self.journal.topic)

    async def read_sent(self, settings: HubSettings, topic: str) -> AsyncIterator[LogBatch]:
        """A log as the memory sender holds it: what :func:`hub.flows.credit.list_log.read_log` reads."""
        batch = [(i, s.value, CODEC.decode(s.value)) for i, s in enumerate(self.hub.sender.on(topic)) if s.value]
        if batch:
            yield batch

    # --- the court ------------------------------------------------------------------------------------
    def request(self, schema: str, body: dict[str, Any], *, recipient: str = PLATFORM,
                request_id: str | None = None) -> AvroMessage:
        env = envelope(self.ctx.clock, request_id=request_id or new_id(), sender=COURT, recipient=recipient)
        return message(schema, env, body)

    async def from_court(self, msg: AvroMessage, *, case: str = CASE_NO, partition: int = 2) -> bytes:
        """``msg`` on ``court.requests`` (the bytes sent)."""
        raw = CODEC.encode_message(msg)
        await self.hub.receive("court.requests", case.encode(), raw, partition)
        return raw

    # --- the journal and the sequencer's outcomes -------------------------------------------------------
    def journal_records(self) -> list[RawRecord]:
        return [RawRecord(s.topic, 0, offset, s.key, s.value, s.headers) for offset, s in enumerate(self.journalled())]

    async def sequence(self, *extra: RawRecord) -> None:
        """The journal's consumer: what was journalled since the last call (and ``extra``) as one batch, then
        the outcomes it sent received on ``hub.ticks``."""
        records = self.journal_records()
        batch, self._journalled = [*records[self._journalled:], *extra], len(records)
        await self.journal.sequence_batch(batch)
        await self.hub.settle()  # the outcomes the sequencer sent to hub.ticks are received

    # --- the platform -----------------------------------------------------------------------------------
    async def platform_applies_the_history(self) -> list[tuple[bytes, bytes]]:
        """The platform applies every publication it has not applied yet; its ListAcks reach the hub."""
        history = [batch async for batch in self.read_sent(self.ctx.settings, self.journal.publisher.history_topic)]
        acks = self.platform.apply([r for batch in history for r in batch])
        for key, ack in acks:
            await self.hub.receive(OUTBOX, key, ack)
        return acks

    async def platform_answers(self, delivered: Sent) -> bytes:
        """The platform answers a request it found in its inbox; its reply reaches the hub."""
        reply = self.platform.handle(CODEC.decode(delivered.value or b""), list(delivered.headers))
        assert reply is not None
        await self.hub.receive(OUTBOX, delivered.key, reply)
        return reply


@pytest.fixture
def credit_hub(bare_hub: MemoryHub) -> Iterator[CreditHub]:
    store = ListStore(":memory:")
    yield CreditHub(bare_hub, CreditPlatform(store, CODEC))
    store.close()
