"""Building envelopes and messages the hub emits."""

from __future__ import annotations

import uuid
from typing import Any

from hub.clock import Clock
from hub.codec import AvroMessage

HUB_SENDER = "hub"


def new_id() -> str:
    return str(uuid.uuid4())


def envelope(
    clock: Clock,
    *,
    request_id: str,
    sender: str = HUB_SENDER,
    recipient: str,
    correlation_id: str | None = None,
    schema_version: int = 1,
) -> dict[str, Any]:
    return {
        "message_id": new_id(),
        "request_id": request_id,
        "correlation_id": correlation_id,
        "sender": sender,
        "recipient": recipient,
        "sent_at": clock.now(),
        "schema_version": schema_version,
    }


def message(schema: str, env: dict[str, Any], body: dict[str, Any]) -> AvroMessage:
    return AvroMessage(schema, {"envelope": env, "body": body})
