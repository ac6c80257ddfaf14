"""Sealing keys with validity (000 §8): a rotation registers a new key id and retires the old one, kept, so every
receipt sealed before the rotation keeps verifying by its key id; ``registry.json`` files written before validity
was recorded keep working."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.codec import default_codec
from hub.errors import InvalidSeal, UnknownSealKey
from hub.seal import KeyStore
from tests.unit.sealed_replies import ROTATED, T0, sealed_reply

CODEC = default_codec()


def test_a_rotated_key_keeps_verifying_the_receipts_it_sealed_000_s8(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate(["icbc"], now_ms=T0)
    old_id = keys.signer("icbc")[0]
    before = sealed_reply(keys, "icbc", ROTATED - 1)
    retired, new = keys.rotate("icbc", now_ms=ROTATED)
    after = sealed_reply(keys, "icbc", ROTATED + 1, seed=2)
    assert (retired.key_id, retired.valid_from_ms, retired.valid_until_ms) == (old_id, T0, ROTATED)
    assert new.key_id != old_id and new.active and new.valid_from_ms == ROTATED
    verifier = keys.verifier()
    assert verifier.verify(CODEC, before, "icbc") == old_id
    assert verifier.verify(CODEC, after, "icbc") == new.key_id
    assert keys.signer("icbc")[0] == new.key_id


def test_a_retired_key_seals_nothing_sent_after_its_retirement_000_s8(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate(["icbc"], now_ms=T0)
    late = sealed_reply(keys, "icbc", ROTATED + 1)  # sealed with the old key, dated after the rotation
    keys.rotate("icbc", now_ms=ROTATED)
    with pytest.raises(InvalidSeal, match="retired"):
        keys.verifier().verify(CODEC, late, "icbc")


def test_a_seal_naming_an_unregistered_key_id_is_refused_000_s8(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate(["icbc", "ccb"], now_ms=T0)
    reply = sealed_reply(keys, "icbc", T0 + 1)
    with pytest.raises(UnknownSealKey, match="not a registered key of ccb"):
        keys.verifier().verify(CODEC, reply, "ccb")
    with pytest.raises(UnknownSealKey, match="no sealing key registered for boc"):
        keys.verifier().verify(CODEC, reply, "boc")


def _legacy_store(tmp_path: Path) -> tuple[KeyStore, str]:
    """A ``keys/`` directory as ``keys generate`` wrote it before validity was recorded."""
    keys = KeyStore(tmp_path)
    keys.dir.mkdir(parents=True)
    key = Ed25519PrivateKey.generate()
    keys.private_path("icbc").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = f"icbc-{raw[:6].hex()}"
    keys.registry_path.write_text(json.dumps({"icbc": {"key_id": key_id,
                                                       "public_key": base64.b64encode(raw).decode()}}))
    return keys, key_id


def test_a_registry_written_before_validity_was_recorded_still_verifies_and_rotates(tmp_path: Path) -> None:
    keys, key_id = _legacy_store(tmp_path)
    reply = sealed_reply(keys, "icbc", T0)
    [legacy] = keys.registered_keys()
    assert (legacy.key_id, legacy.valid_from_ms, legacy.active) == (key_id, 0, True)
    assert keys.generate(["icbc"]) == []  # present: left alone
    keys.rotate("icbc", now_ms=ROTATED)
    assert keys.verifier().verify(CODEC, reply, "icbc") == key_id
    entry = json.loads(keys.registry_path.read_text())["icbc"]
    assert entry["retired"] == [{"key_id": key_id, "public_key": entry["retired"][0]["public_key"],
                                 "valid_from": 0, "valid_until": ROTATED}]
    assert set(entry) == {"key_id", "public_key", "valid_from", "retired"}  # what older readers use is still there


def test_a_key_whose_private_half_is_lost_is_retired_not_forgotten(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate(["icbc"], now_ms=T0)
    reply = sealed_reply(keys, "icbc", T0 + 1)
    keys.private_path("icbc").unlink()
    assert keys.generate(["icbc"], now_ms=ROTATED) == ["icbc"]
    assert [k.active for k in keys.registered_keys()] == [False, True]
    assert keys.verifier().verify(CODEC, reply, "icbc") == reply.datum["seal"]["key_id"]
    assert oct(keys.private_path("icbc").stat().st_mode & 0o777) == "0o600"
