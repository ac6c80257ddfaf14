"""The published registry's records: the hub's seal covers exactly what the schema says (the single-object encoding
of the whole record with seal = null, the rule of a bank's seal, 000 §8), and a record that was changed, sealed by
another key or moved under another record key is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import ManualClock
from hub.codec import MARKER, AvroMessage, default_codec
from hub.registry_publisher import HubSigner
from hub.registry_records import (
    PUBLISHED_KEY,
    InvalidPublication,
    court_message,
    key_message,
    key_record_key,
    read_court,
    read_key,
)
from hub.seal import KeyStore, RegisteredKey
from hub.tree_heads import HUB_KEY
from topics.courts import COURTS

CODEC = default_codec()
CLOCK = ManualClock()


@pytest.fixture
def signer(tmp_path: Path) -> HubSigner:
    keys = KeyStore(tmp_path)
    keys.generate([HUB_KEY, "icbc"])
    return HubSigner(CODEC, *keys.signer(HUB_KEY))


def _icbc(tmp_path: Path) -> RegisteredKey:
    return next(k for k in KeyStore(tmp_path).registered_keys() if k.owner == "icbc")


def test_the_hub_seal_covers_the_single_object_encoding_of_the_record_with_seal_null_000_s8(
        signer: HubSigner, tmp_path: Path) -> None:
    """What an adapter written with any Avro library checks: marker, schema fingerprint, datum with seal = null."""
    raw = signer.encode(key_message(_icbc(tmp_path), CLOCK))
    msg = CODEC.decode(raw)
    unsealed = CODEC.encode(PUBLISHED_KEY, {**msg.datum, "seal": None})
    assert unsealed[:2] == MARKER and unsealed[2:10] == CODEC.registry.by_name(PUBLISHED_KEY).fingerprint
    signer.anchor.verify(msg.datum["seal"]["signature"], unsealed)  # raises if not
    assert msg.datum["seal"]["key_id"] == signer.key_id and msg.datum["seal"]["algorithm"] == "Ed25519"
    assert read_key(CODEC, key_record_key(_icbc(tmp_path)), raw, signer.anchor) == _icbc(tmp_path)


@pytest.mark.parametrize("tamper", ["public_key", "valid_until", "sent_at", "seal"])
def test_a_changed_key_record_is_refused(signer: HubSigner, tmp_path: Path, tamper: str) -> None:
    key = _icbc(tmp_path)
    msg = CODEC.decode(signer.encode(key_message(key, CLOCK)))
    body, env = dict(msg.body), dict(msg.envelope)
    datum = dict(msg.datum)
    if tamper == "public_key":
        body["public_key"] = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    elif tamper == "valid_until":  # also RETIRED, so the record is consistent: only the seal can tell
        body.update(valid_until=1, status="RETIRED")
    elif tamper == "sent_at":  # the envelope is covered too
        env["sent_at"] = CLOCK.now().replace(year=2020)
    else:
        datum["seal"] = None
    raw = CODEC.encode_message(AvroMessage(PUBLISHED_KEY, {**datum, "body": body, "envelope": env}))
    with pytest.raises(InvalidPublication):
        read_key(CODEC, key_record_key(key), raw, signer.anchor)


def test_a_record_sealed_by_another_key_than_the_hubs_is_refused(signer: HubSigner, tmp_path: Path) -> None:
    forger = HubSigner(CODEC, signer.key_id, Ed25519PrivateKey.generate())  # claims the hub's key id
    raw = forger.encode(court_message(COURTS[0], CLOCK))
    with pytest.raises(InvalidPublication, match="does not match"):
        read_court(CODEC, COURTS[0].code, raw, signer.anchor)


def test_a_sealed_record_replayed_under_another_record_key_is_refused(signer: HubSigner, tmp_path: Path) -> None:
    raw = signer.encode(court_message(COURTS[0], CLOCK))
    with pytest.raises(InvalidPublication, match="carries court"):
        read_court(CODEC, COURTS[1].code, raw, signer.anchor)
    key_raw = signer.encode(key_message(_icbc(tmp_path), CLOCK))
    with pytest.raises(InvalidPublication, match="a PublishedKey where a PublishedCourt belongs"):
        read_court(CODEC, COURTS[0].code, key_raw, signer.anchor)


def test_a_published_court_carries_its_registered_execution_accounts_000_s13_14(signer: HubSigner) -> None:
    for court in COURTS:
        read = read_court(CODEC, court.code, signer.encode(court_message(court, CLOCK)), signer.anchor)
        assert read == court
        assert read.account_for("CNY") == court.account_for("CNY") and read.account_for("USD") is not None
