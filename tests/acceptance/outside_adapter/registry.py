"""The published keys (``registry.keys``) read and checked by the four rules of the guide's §6; the trust anchor
is the hub's public key, handed over out of band."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .connection import Login, read_to_end
from .seal import SealError, verify
from .wire import Codec, WireError

PUBLISHED_KEY = "cn.court.interop.ops.PublishedKey"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
log = logging.getLogger(__name__)


def epoch_ms(value: datetime | int) -> int:
    """A ``timestamp-millis`` as fastavro reads it (an aware datetime) or as written (an int), in ms."""
    if isinstance(value, datetime):
        return (value - EPOCH) // timedelta(milliseconds=1)
    return int(value)


@dataclass(frozen=True)
class PublishedKey:
    agency: str
    key_id: str
    public_key: Ed25519PublicKey
    valid_from_ms: int
    valid_until_ms: int | None


@dataclass
class KeyRegistry:
    keys: dict[tuple[str, str], PublishedKey] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # record keys refused, with the reason

    def for_seal(self, agency: str, key_id: str, sent_at_ms: int) -> PublishedKey:
        """§6: look up (``envelope.sender``, ``seal.key_id``); ``sent_at`` before the key's ``valid_until``."""
        key = self.keys[(agency, key_id)]
        if key.valid_until_ms is not None and sent_at_ms >= key.valid_until_ms:
            raise KeyError(f"{key_id} was retired before the message was sent")
        return key


async def read_keys(login: Login, codec: Codec, anchor: Ed25519PublicKey) -> KeyRegistry:
    """Every key of ``registry.keys`` (last record of each key) that passes §6's rules 1-4."""
    latest: dict[str, bytes | None] = {}
    for key, value, _ in await read_to_end(login, login.topic("registry.keys")):
        if key is not None:
            latest[key.decode("utf-8")] = value
    registry = KeyRegistry()
    for record_key, raw in latest.items():
        if raw is None:
            continue
        try:
            message = codec.decode(raw)
            if message.name != PUBLISHED_KEY or message.envelope["sender"] != "hub":  # rule 1
                raise SealError(f"a {message.name} from {message.envelope['sender']}")
            verify(codec, raw, anchor)  # rule 2
            body = message.body
            if record_key != f"{body['agency']}/{body['key_id']}":  # rule 3
                raise SealError(f"the record key does not name {body['agency']}/{body['key_id']}")
            until = body["valid_until"]
            if body["algorithm"] != "Ed25519" or len(body["public_key"]) != 32 or \
                    (body["status"] == "ACTIVE") != (until is None):  # rule 4
                raise SealError("not an Ed25519 key of 32 bytes with a status agreeing with valid_until")
        except (WireError, SealError, InvalidSignature, KeyError) as exc:
            registry.refused.append(f"{record_key}: {exc!r}")
            log.warning("refused registry.keys record %s: %r", record_key, exc)
            continue
        registry.keys[(body["agency"], body["key_id"])] = PublishedKey(
            body["agency"], body["key_id"], Ed25519PublicKey.from_public_bytes(body["public_key"]),
            epoch_ms(body["valid_from"]), None if until is None else epoch_ms(until))
    return registry
