"""Sealed bank replies for the seal tests: any reply type's random content, a chosen sender and send time."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from fastavro.utils import generate_one

from hub.codec import AvroMessage, default_codec
from hub.seal import KeyStore, seal_message

CODEC = default_codec()
REPLY = "cn.court.interop.bank.QueryReply"
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC: the key is generated
ROTATED = T0 + 86_400_000  # a day later: rotated


def sealed_reply(keys: KeyStore, agency: str, sent_at_ms: int, seed: int = 1) -> AvroMessage:
    """A bank reply of ``agency`` sent at ``sent_at_ms``, sealed with its key as the store has it now, as received."""
    random.seed(seed)
    datum = generate_one(CODEC.registry.by_name(REPLY).parsed)
    datum["envelope"].update(sender=agency, sent_at=datetime.fromtimestamp(sent_at_ms / 1000, UTC))
    key_id, key = keys.signer(agency)
    return CODEC.decode(CODEC.encode_message(seal_message(CODEC, AvroMessage(REPLY, datum), key, key_id)))
