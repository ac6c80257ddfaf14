"""The records of the published registry: every party's sealing keys (``registry.keys``, key ``<agency>/<key id>``)
and the court registry with its execution accounts (``registry.courts``, key: the court code).

A record is a :data:`PUBLISHED_KEY` or :data:`PUBLISHED_COURT` message sealed by the hub by the one rule of every seal
(:func:`hub.seal.check_signature`): an Ed25519 signature with the hub's key over the Avro single-object encoding of
the whole message with ``seal`` = null.  Whoever reads one checks it with the hub's public key, the trust anchor it
was given out of band, and takes its content only if the record's Kafka key names what its body says.  Pure: Kafka
is in :mod:`hub.registry_publisher` (writing) and :mod:`agents.registry` (reading).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.clock import Clock
from hub.codec import AvroCodec, AvroMessage
from hub.envelope import HUB_SENDER, envelope
from hub.errors import CodecError, HubError, SealError
from hub.seal import ALGORITHM, RegisteredKey, check_signature
from topics.courts import Court, ExecutionAccount

PUBLISHED_KEY = "cn.court.interop.ops.PublishedKey"
PUBLISHED_COURT = "cn.court.interop.ops.PublishedCourt"
#: the envelope's recipient of a published record: every party may read it
EVERYONE = "all"
RAW_KEY_BYTES = 32


class InvalidPublication(HubError):
    """A published record that is not the hub's (bad or missing seal), or does not say what its key says."""

    code = "invalid_publication"


def key_record_key(key: RegisteredKey) -> str:
    return f"{key.owner}/{key.key_id}"


def instant_ms(value: Any) -> int:
    """A timestamp-millis field as milliseconds (fastavro decodes it to a datetime)."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


def key_message(key: RegisteredKey, clock: Clock) -> AvroMessage:
    """The unsealed record of one registered key."""
    body = {"agency": key.owner, "key_id": key.key_id, "algorithm": ALGORITHM, "public_key": key.public_key,
            "valid_from": key.valid_from_ms, "valid_until": key.valid_until_ms,
            "status": "ACTIVE" if key.active else "RETIRED", "published_at": clock.now()}
    env = envelope(clock, request_id=f"key/{key_record_key(key)}", recipient=EVERYONE)
    return AvroMessage(PUBLISHED_KEY, {"envelope": env, "body": body, "seal": None})


def court_message(court: Court, clock: Clock) -> AvroMessage:
    """The unsealed record of one registered court."""
    accounts = [{"bank_name": a.bank_name, "account_number": a.account_number, "account_name": a.account_name,
                 "currency": a.currency, "bank_code": None} for a in court.accounts]
    body = {"court": {"court_code": court.code, "court_name": court.name, "place_code": court.place_code or None},
            "accounts": accounts, "published_at": clock.now()}
    env = envelope(clock, request_id=f"court/{court.code}", recipient=EVERYONE)
    return AvroMessage(PUBLISHED_COURT, {"envelope": env, "body": body, "seal": None})


def check_publication(codec: AvroCodec, msg: AvroMessage, anchor: Ed25519PublicKey) -> None:
    """``msg`` was sent and sealed by the hub whose public key is ``anchor`` (raises :class:`InvalidPublication`)."""
    if msg.envelope.get("sender") != HUB_SENDER:
        raise InvalidPublication(f"{msg.message_type} sent by {msg.envelope.get('sender')!r}, not the hub",
                                 field="envelope.sender")
    try:
        check_signature(codec, msg, anchor, HUB_SENDER)
    except SealError as exc:
        raise InvalidPublication(f"{msg.message_type} {msg.request_id}: {exc.message}", field=exc.field) from None


def key_of(msg: AvroMessage) -> RegisteredKey:
    """The key a (checked) :data:`PUBLISHED_KEY` record publishes."""
    body = msg.body
    if body.get("algorithm") != ALGORITHM or len(body["public_key"]) != RAW_KEY_BYTES:
        raise InvalidPublication(f"key {body.get('key_id')!r} is not a raw {ALGORITHM} public key",
                                 field="body.public_key")
    until = body.get("valid_until")
    key = RegisteredKey(str(body["agency"]), str(body["key_id"]), bytes(body["public_key"]),
                        instant_ms(body["valid_from"]), None if until is None else instant_ms(until))
    if (body.get("status") == "ACTIVE") != key.active:
        raise InvalidPublication(f"key {key.key_id!r}: status {body.get('status')} contradicts valid_until",
                                 field="body.status")
    return key


def court_of(msg: AvroMessage) -> Court:
    """The court a (checked) :data:`PUBLISHED_COURT` record publishes."""
    court = msg.body["court"]
    accounts = tuple(ExecutionAccount(str(a["bank_name"]), str(a["account_number"]), str(a["account_name"]),
                                      str(a["currency"])) for a in msg.body["accounts"])
    return Court(str(court["court_code"]), str(court["court_name"]), str(court.get("place_code") or ""), accounts)


def _checked(codec: AvroCodec, schema: str, raw: bytes, anchor: Ed25519PublicKey) -> AvroMessage:
    try:
        msg = codec.decode(raw)
    except CodecError as exc:
        raise InvalidPublication(f"not a {schema.rpartition('.')[2]} record: {exc}", field="value") from None
    if msg.schema != schema:
        raise InvalidPublication(f"a {msg.message_type} where a {schema.rpartition('.')[2]} belongs", field="value")
    check_publication(codec, msg, anchor)
    return msg


def read_key(codec: AvroCodec, record_key: str, raw: bytes, anchor: Ed25519PublicKey) -> RegisteredKey:
    """The key published under ``record_key``, if the hub sealed it and it is the key the record key names."""
    key = key_of(_checked(codec, PUBLISHED_KEY, raw, anchor))
    if key_record_key(key) != record_key:
        raise InvalidPublication(f"record {record_key!r} carries key {key_record_key(key)!r}", field="key")
    return key


def read_court(codec: AvroCodec, record_key: str, raw: bytes, anchor: Ed25519PublicKey) -> Court:
    """The court published under ``record_key``, if the hub sealed it and it is the court the record key names."""
    court = court_of(_checked(codec, PUBLISHED_COURT, raw, anchor))
    if court.code != record_key:
        raise InvalidPublication(f"record {record_key!r} carries court {court.code!r}", field="key")
    return court
