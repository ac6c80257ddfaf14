"""An agency answering its inbox: each record's reply on the outbox, committed once the replies are acked.

A record the agency cannot decode is not dropped (SPEC §7): it tells the hub with an ``ErrorReply``
naming the record by its position (topic/partition/offset, which the hub's producer knows) and the
decoder's reason; the hub audits it and counts it against the agency's error rate like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.clock import SystemClock
from hub.codec import AvroCodec
from hub.envelope import envelope, message
from hub.errors import CodecError, HubError

log = logging.getLogger(__name__)

ERROR_REPLY = "cn.court.interop.ops.ErrorReply"


def batch_offsets(batch: Mapping[Any, Sequence[Any]]) -> dict[Any, int]:
    """The offsets to commit after ``batch`` (``getmany``'s partition -> records): the next one of each partition it
    read, and only those.  ``consumer.commit()`` without offsets writes the position of every assigned partition, read
    or not: an agency answering 100 requests a second one at a time over 24 partitions (inbox and sweep lane) wrote
    2,400 offset records a second, two thirds of all the records the broker appended (bench ``--only sweep``,
    2026-11-26), on the one partition of ``__consumer_offsets`` every group shares."""
    return {tp: records[-1].offset + 1 for tp, records in batch.items() if records}


def undecodable_reply(codec: AvroCodec, agency: str, record: Any, error: HubError) -> bytes:
    """The encoded ``ErrorReply`` about inbox ``record`` (an aiokafka ``ConsumerRecord``) that failed to decode."""
    position = f"{record.topic}/{record.partition}/{record.offset}"
    log.error("%s: undecodable inbox record %s: %s", agency, position, error)
    clock = SystemClock()
    body = {
        "rejected_message_id": None, "rejected_message_type": None, "error_code": error.code,
        "field": error.field, "message": str(error)[:1000], "retriable": False,
        "dead_letter_topic": None, "dead_letter_offset": None, "rejected_at": clock.now(),
        "rejected_topic": record.topic, "rejected_partition": record.partition, "rejected_offset": record.offset,
        "rejected_key": record.key.decode("utf-8", "replace") if record.key is not None else None,
    }
    return codec.encode_message(message(ERROR_REPLY, envelope(clock, request_id=position, sender=agency,
                                                              recipient="hub"), body))


#: an agency's answer to one inbox record (value, headers): the encoded reply, or None if it needs none;
#: raises CodecError for a record it cannot decode
InboxHandler = Callable[[bytes, Sequence[tuple[str, bytes]]], bytes | None]


async def answer_inbox(consumer: Any, producer: Any, outbox: str, handle: InboxHandler, codec: AvroCodec,
                       agency: str, stop: asyncio.Event) -> None:
    """Answer every inbox record until ``stop`` is set; a batch is committed after its replies are acked."""
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=200, max_records=200)
        for records in batch.values():
            for rec in records:
                try:
                    reply = handle(rec.value, list(rec.headers))
                except CodecError as exc:
                    reply = undecodable_reply(codec, agency, rec, exc)
                if reply is not None:
                    await producer.send_and_wait(outbox, reply, key=rec.key)
        if batch:
            await consumer.commit(batch_offsets(batch))
