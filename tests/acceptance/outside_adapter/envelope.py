"""The envelope (guide §3): the first field of every message."""

from __future__ import annotations

import time
import uuid
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def envelope(*, sender: str, recipient: str, request_id: str | None = None, correlation_id: str | None = None,
             message_id: str | None = None, sent_at_ms: int | None = None) -> dict[str, Any]:
    """A new message's envelope: a fresh UUID message id, a fresh request id unless it answers one."""
    return {"message_id": message_id or str(uuid.uuid4()), "request_id": request_id or str(uuid.uuid4()),
            "correlation_id": correlation_id, "sender": sender, "recipient": recipient,
            "sent_at": now_ms() if sent_at_ms is None else sent_at_ms, "schema_version": 1}
