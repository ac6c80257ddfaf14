"""The hub's audit trail as flows use it: entries appended in causal order, dead letters recorded.

While a message is handled its effects' entries are held (:meth:`AuditTrail.hold`) until its own
ACCEPT or REJECT entry is appended, so the trail reads cause first, then effects.  The entries go to
the audit log of the partition being handled (:class:`~hub.audit_writer.AuditWriter`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from hub.audit_log import AuditEntry
from hub.audit_writer import AuditWriter
from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.errors import CatalogError, HubError
from hub.runtime import HubRuntime
from topics.catalog import TopicSpec

#: entries written while a message is being handled, held back until its own ACCEPT or REJECT entry
_held: ContextVar[list[AuditEntry] | None] = ContextVar("held_audit_entries", default=None)


class AuditTrail:
    def __init__(self, runtime: HubRuntime, writer: AuditWriter) -> None:
        self.runtime = runtime
        self.writer = writer

    async def append(self, entry: AuditEntry) -> None:
        held = _held.get()
        if held is not None:
            held.append(entry)
            return
        await self.writer.append(entry)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[list[AuditEntry]]:
        """Hold the entries written inside (the effects of one message); the caller appends the cause's
        entry after the block, then :meth:`release` the held ones."""
        held: list[AuditEntry] = []
        token = _held.set(held)
        try:
            yield held
        finally:
            _held.reset(token)

    async def release(self, held: list[AuditEntry]) -> None:
        for entry in held:
            await self.append(entry)

    def principal_of(self, topic: str) -> str:
        """The principal that produced to a catalog topic (courts through the gateway, or one agency)."""
        try:
            spec = self.runtime.catalog.get(topic.removeprefix(self.runtime.settings.topic_prefix))
        except CatalogError:
            return "unknown"
        return ",".join(sorted(spec.producers))

    async def dead_letter(self, record: RawRecord, spec: TopicSpec | None, error: HubError,
                          decoded: AvroMessage | None) -> None:
        """The REJECT (decoded) or DEAD_LETTER (undecodable) entry of a bad record."""
        await self.append(AuditEntry(
            "REJECT" if decoded is not None else "DEAD_LETTER", record.topic, record.value or b"",
            self.principal_of(record.topic), client=str(decoded.envelope.get("sender")) if decoded else None,
            partition=record.partition, offset=record.offset, message_type=decoded.message_type if decoded else None,
            message_id=str(decoded.envelope.get("message_id")) if decoded else None,
            request_id=decoded.request_id if decoded else None,
            case_number=record.key.decode("utf-8", "replace") if record.key else None,
            agency=spec.agency if spec else None, decision=f"{error.code}: {error}"[:500],
        ))
