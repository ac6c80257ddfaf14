"""A party's copy of the published registry: every record checked against the hub's key (the trust anchor given
out of band); a court verifies a bank's receipt from the published keys alone (000 §8), a receipt sealed before a
rotation included, and finds a court's registered execution accounts (000 §13-14)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.court.adapter import verify_receipt
from agents.registry import PublishedRegistry, UnknownCourt, hub_public_key
from hub.clock import ManualClock
from hub.codec import AvroMessage, default_codec
from hub.errors import UnknownSealKey
from hub.registry_publisher import Changes, HubSigner, plan_courts, plan_keys
from hub.seal import KeyStore
from hub.tree_heads import HUB_KEY
from tests.unit.sealed_replies import ROTATED, T0, sealed_reply
from topics.courts import COURTS

CODEC = default_codec()
CLOCK = ManualClock()


def _published(keys: KeyStore, courts: dict[str, bytes | None] | None = None) -> tuple[dict[str, bytes | None],
                                                                                     dict[str, bytes | None]]:
    signer = HubSigner(CODEC, *keys.signer(HUB_KEY))
    changes: Changes = plan_keys(signer, {}, keys.registered_keys(), CLOCK)
    return dict(changes.sends), courts if courts is not None else dict(plan_courts(signer, {}, COURTS, CLOCK).sends)


def _anchor(keys: KeyStore) -> str:
    return keys.public_key_b64(HUB_KEY)  # what the party is handed out of band


def test_a_court_verifies_receipts_sealed_before_and_after_a_rotation_from_published_keys_only_000_s8(
        tmp_path: Path) -> None:
    hub_side = KeyStore(tmp_path / "hub")
    hub_side.generate([HUB_KEY, "icbc"], now_ms=T0)
    before = sealed_reply(hub_side, "icbc", ROTATED - 1)
    hub_side.rotate("icbc", now_ms=ROTATED)
    after = sealed_reply(hub_side, "icbc", ROTATED + 1, seed=2)
    key_records, court_records = _published(hub_side)
    registry = PublishedRegistry.from_records(CODEC, key_records, court_records, hub_public_key(_anchor(hub_side)))
    court_side = tmp_path / "court"  # no key files at all
    for reply in (before, after):
        verified = verify_receipt(CODEC.encode_message(reply), court_side, published=registry)
        assert verified.datum["seal"]["key_id"] == reply.datum["seal"]["key_id"]
    old = registry.key("icbc", before.datum["seal"]["key_id"])
    assert not old.active and old.valid_until_ms == ROTATED
    with pytest.raises(UnknownSealKey):
        registry.key("icbc", "icbc-000000000000")


def test_records_the_hub_did_not_seal_are_refused_and_the_rest_is_taken(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate([HUB_KEY, "icbc", "ccb"])
    key_records, court_records = _published(keys)
    icbc = next(k for k in key_records if k.startswith("icbc/"))
    tampered = CODEC.decode(key_records[icbc] or b"")
    swapped = {**tampered.body, "public_key": base64.b64decode(keys.public_key_b64("ccb"))}
    key_records[icbc] = CODEC.encode_message(AvroMessage(tampered.schema, {**tampered.datum, "body": swapped}))
    court_records["京0105"] = court_records["沪0115"]  # a genuine record under another court's code
    registry = PublishedRegistry.from_records(CODEC, key_records, court_records, hub_public_key(_anchor(keys)))
    assert set(registry.refused) == {f"registry.keys/{icbc}", "registry.courts/京0105"}
    assert {owner for owner, _ in registry.keys} == {HUB_KEY, "ccb"}
    with pytest.raises(UnknownCourt):
        registry.court("京0105")
    assert registry.court("沪0115") == next(c for c in COURTS if c.code == "沪0115")


def test_a_court_finds_another_courts_registered_execution_account_000_s13_14(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate([HUB_KEY])
    registry = PublishedRegistry.from_records(CODEC, *_published(keys), hub_public_key(_anchor(keys)))
    for court in COURTS:
        account = registry.court(court.code).account_for("CNY")
        assert account is not None and account == court.account_for("CNY")
    with pytest.raises(UnknownCourt):
        registry.court("京9999")


def test_a_registry_read_with_the_wrong_trust_anchor_takes_nothing(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate([HUB_KEY, "icbc"])
    other = KeyStore(tmp_path / "other")
    other.generate([HUB_KEY])
    registry = PublishedRegistry.from_records(CODEC, *_published(keys), hub_public_key(_anchor(other)))
    assert not registry.keys and not registry.courts and len(registry.refused) == 2 + len(COURTS)
