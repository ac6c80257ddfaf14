"""Everything the hub produces on behalf of a flow goes through :class:`Outbound`: counted and audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.audit_log import AuditEntry
from hub.audit_trail import AuditTrail
from hub.clock import utc_datetime
from hub.codec import AvroMessage
from hub.runtime import HubRuntime
from hub.transport import Headers, Sender

#: header of a request forwarded to an agency: the moment it reached the hub (000 §16), in ms
DELIVERED_AT = "delivered-at"


class Outbound:
    def __init__(self, runtime: HubRuntime, sender: Sender, audit: AuditTrail) -> None:
        self.runtime = runtime
        self.sender = sender
        self.audit = audit

    async def emit(self, name: str, key: str, msg: AvroMessage, headers: Headers | None = None) -> None:
        """Encode ``msg`` and produce it to catalog topic ``name``; counted and audited.

        The audit record names the message by id and payload digest: its offset is not known yet (the
        send is pipelined, :meth:`hub.transport.Sender.send_soon`).
        """
        rt = self.runtime
        spec = rt.catalog.get(name)
        raw = rt.codec.encode_message(msg)
        await self.sender.send_soon(rt.settings.topic(name), key, raw, headers)
        rt.metrics.messages_sent_total.labels(spec.role.value, msg.message_type).inc()
        await self.audit.append(AuditEntry(
            "EMIT", rt.settings.topic(name), raw, "hub", partition=None, offset=None, message_type=msg.message_type,
            message_id=str(msg.envelope["message_id"]), request_id=msg.request_id, case_number=key,
            agency=spec.agency or str(msg.envelope.get("recipient")), decision="emitted",
        ))

    async def forward(self, name: str, key: str, raw: bytes, message_type: str, headers: Headers | None = None,
                      request_id: str | None = None) -> None:
        """Produce already-encoded bytes unchanged (a sealed reply must reach the court as the bank sealed it)."""
        rt = self.runtime
        spec = rt.catalog.get(name)
        await self.sender.send_soon(rt.settings.topic(name), key, raw, headers)
        rt.metrics.messages_sent_total.labels(spec.role.value, message_type).inc()
        await self.audit.append(AuditEntry("EMIT", rt.settings.topic(name), raw, "hub", message_type=message_type,
                                           request_id=request_id, case_number=key, agency=spec.agency,
                                           decision="forwarded"))


def delivered_at(headers: Iterable[tuple[str, bytes | None]]) -> datetime | None:
    """The delivery time (000 §16) a forwarded request carries in its ``delivered-at`` header, if any."""
    for key, value in headers:
        if key == DELIVERED_AT and value is not None:
            return utc_datetime(int(value))
    return None
