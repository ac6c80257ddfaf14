"""The one place where bad records go: the dead-letter topic, plus an error reply.

A record ends here when it cannot be decoded (faust's decode-error hooks call
:meth:`DeadLetters.undecodable`) or when it decodes but breaks a rule (the flows call
:meth:`DeadLetters.reject`).  The dead-letter record keeps the original bytes, the reason
code and text, the writer-schema fingerprint and the source position, both in the Avro value
and in headers (for filtering without decoding).  Where the sender can be told, an
``ErrorReply`` goes back on the sender's reply topic.  Nothing is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hub.codec import HEADER_LEN, MARKER, AvroMessage
from hub.envelope import envelope, message, new_id
from hub.errors import CatalogError, CodecError, HubError, UnknownSchemaFingerprint
from hub.log_format import log_fields
from hub.runtime import HubRuntime
from topics.catalog import COURT_GATEWAY, Role, TopicSpec

log = logging.getLogger(__name__)

DEAD_LETTER = "cn.court.interop.ops.DeadLetter"
ERROR_REPLY = "cn.court.interop.ops.ErrorReply"

#: send(topic, key, value, headers) -> the offset the record was written at, once delivered
Sender = Callable[[str, str, bytes, list[tuple[str, bytes]]], Awaitable[int]]
#: told about every dead letter: (source record, its catalog spec or None, the error, decoded message or None)
Observer = Callable[["RawRecord", "TopicSpec | None", HubError, "AvroMessage | None"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RawRecord:
    """Where a record came from and its bytes, independent of faust's message type."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_ms: int | None = None


def root_error(exc: BaseException) -> HubError | None:
    """The HubError behind a (possibly wrapped) decode exception."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, HubError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _log_fields(record: RawRecord, spec: TopicSpec | None, decoded: AvroMessage | None,
                request_id: str | None) -> dict[str, str]:
    """``extra=`` of the dead-letter log line: request id, case number (the key of a court's or an
    agency's record) and the agency concerned (the outbox's owner, or the request's recipient)."""
    external = spec is not None and spec.role in (Role.COURT_REQUESTS, Role.AGENCY_OUTBOX)
    case = record.key.decode("utf-8", "replace") if external and record.key else None
    agency = spec.agency if spec is not None and spec.agency else None
    if agency is None and decoded is not None and spec is not None and spec.role is Role.COURT_REQUESTS:
        agency = str(decoded.envelope.get("recipient") or "") or None
    return log_fields(request_id, case, agency)


def writer_fingerprint(value: bytes | None) -> bytes | None:
    if value is not None and len(value) >= HEADER_LEN and value[:2] == MARKER:
        return bytes(value[2:HEADER_LEN])
    return None


class DeadLetters:
    def __init__(self, runtime: HubRuntime, send: Sender, observers: list[Observer] | None = None) -> None:
        self.rt = runtime
        self._send = send
        #: told about every dead letter (the hooks' ``dead_lettered``: audit, anomaly detection)
        self.observers: list[Observer] = observers if observers is not None else []
        self._dead_letter_topic = runtime.settings.topic(runtime.catalog.one(Role.DEAD_LETTER).name)

    def _source_spec(self, topic: str) -> TopicSpec | None:
        prefix = self.rt.settings.topic_prefix
        try:
            return self.rt.catalog.get(topic.removeprefix(prefix))
        except CatalogError:
            return None

    async def undecodable(self, exc: BaseException, record: RawRecord) -> None:
        """A record whose key or value could not be decoded."""
        error = root_error(exc)
        if error is None:
            # Not one of ours: faust or fastavro raised something unforeseen. Still kept.
            error = CodecError(f"{type(exc).__name__}: {exc}")
        await self.handle(record, error, decoded=None)

    async def reject(self, record: RawRecord, decoded: AvroMessage, error: HubError) -> None:
        """A record that decoded but breaks a rule."""
        await self.handle(record, error, decoded=decoded)

    async def handle(self, record: RawRecord, error: HubError, decoded: AvroMessage | None) -> None:
        spec = self._source_spec(record.topic)
        role = spec.role.value if spec else "unknown"
        fp = (
            error.fingerprint
            if isinstance(error, UnknownSchemaFingerprint) and error.fingerprint
            else writer_fingerprint(record.value)
        )
        now = self.rt.clock.now()
        request_id = decoded.request_id if decoded else None
        sender = str(decoded.envelope.get("sender")) if decoded else (spec.agency if spec else None)
        dl_body: dict[str, Any] = {
            "original": bytes(record.value or b""),
            "original_key": bytes(record.key) if record.key is not None else None,
            "original_headers": [{"key": k, "value": v} for k, v in record.headers],
            "source_topic": record.topic,
            "source_partition": record.partition,
            "source_offset": record.offset,
            "source_timestamp": record.timestamp_ms,
            "sender": sender,
            "reason_code": error.code,
            "error_text": str(error),
            "schema_fingerprint": fp.hex() if fp else None,
            "message_type": decoded.schema if decoded else None,
            "request_id": request_id,
            "received_at": now,
            "attempts": 1,
        }
        dl = message(DEAD_LETTER, envelope(self.rt.clock, request_id=request_id or new_id(),
                                           recipient="ops"), dl_body)
        headers = [
            ("reason", error.code.encode()),
            ("error", str(error).encode("utf-8", "replace")[:1024]),
            ("fingerprint", (fp.hex() if fp else "").encode()),
            ("source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        key = f"{record.topic}/{record.partition}/{record.offset}"
        offset = await self._send(self._dead_letter_topic, key, self.rt.codec.encode_message(dl), headers)
        self.rt.metrics.dead_letters_total.labels(role, error.code).inc()
        log.warning("dead-lettered %s: [%s] %s", key, error.code, error,
                    extra=_log_fields(record, spec, decoded, request_id))
        if spec is not None:
            await self._error_reply(spec, record, error, decoded, offset)
        for observer in self.observers:
            await observer(record, spec, error, decoded)

    async def _error_reply(
        self, spec: TopicSpec, record: RawRecord, error: HubError, decoded: AvroMessage | None, dl_offset: int
    ) -> None:
        """Tell the sender what was wrong, on the topic it reads."""
        if spec.role is Role.COURT_REQUESTS:
            reply_topic = self.rt.catalog.one(Role.COURT_REPLIES).name
            recipient = str(decoded.envelope["sender"]) if decoded else COURT_GATEWAY
        elif spec.role is Role.AGENCY_OUTBOX and spec.agency is not None:
            reply_topic = self.rt.catalog.inbox(spec.agency).name
            recipient = spec.agency
        else:
            return  # internal topics have no external sender to answer
        # an undecodable record has no request id: name the record itself, which its producer knows
        request_id = decoded.request_id if decoded else f"{record.topic}/{record.partition}/{record.offset}"
        body: dict[str, Any] = {
            "rejected_message_id": str(decoded.envelope["message_id"]) if decoded else None,
            "rejected_message_type": decoded.schema if decoded else None,
            "error_code": error.code,
            "field": error.field,
            "message": str(error),
            "retriable": error.retriable,
            "dead_letter_topic": self._dead_letter_topic,
            "dead_letter_offset": dl_offset,
            "rejected_at": self.rt.clock.now(),
            "rejected_topic": record.topic,
            "rejected_partition": record.partition,
            "rejected_offset": record.offset,
            "rejected_key": record.key.decode("utf-8", "replace") if record.key is not None else None,
        }
        reply = message(ERROR_REPLY, envelope(self.rt.clock, request_id=request_id, recipient=recipient), body)
        key = record.key.decode("utf-8", "replace") if record.key else request_id
        await self._send(self.rt.settings.topic(reply_topic), key, self.rt.codec.encode_message(reply), [])
        self.rt.metrics.error_replies_total.labels(error.code).inc()
