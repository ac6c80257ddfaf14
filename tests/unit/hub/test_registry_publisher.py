"""Publishing the registry is idempotent: a record is sent only when what it says changed (compacted topics), a
rotation sends the retired and the new key only, a court that left the registry gets a tombstone, and a stored
record the hub did not seal is replaced."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import ManualClock
from hub.codec import default_codec
from hub.registry_publisher import Changes, HubSigner, plan_courts, plan_keys
from hub.registry_records import court_message
from hub.seal import KeyStore
from hub.tree_heads import HUB_KEY
from topics.courts import COURTS

CODEC = default_codec()
CLOCK = ManualClock()


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path)
    store.generate([HUB_KEY, "icbc", "ccb"])
    return store


def _signer(keys: KeyStore) -> HubSigner:
    return HubSigner(CODEC, *keys.signer(HUB_KEY))


def _apply(topic: dict[str, bytes | None], changes: Changes) -> dict[str, bytes | None]:
    """The topic's last value per key after the sends (what compaction keeps)."""
    return {**topic, **dict(changes.sends)}


def _keys(topic: Mapping[str, bytes | None]) -> list[str]:
    return sorted(k for k, v in topic.items() if v is not None)


def test_every_key_is_published_once_then_nothing_until_it_changes(keys: KeyStore) -> None:
    signer = _signer(keys)
    first = plan_keys(signer, {}, keys.registered_keys(), CLOCK)
    assert len(first.sends) == 3 and first.unchanged == 0
    topic = _apply({}, first)
    again = plan_keys(signer, topic, keys.registered_keys(), CLOCK)
    assert again.sends == [] and again.unchanged == 3


def test_a_rotation_publishes_the_retired_and_the_new_key_only_000_s8(keys: KeyStore) -> None:
    signer = _signer(keys)
    topic = _apply({}, plan_keys(signer, {}, keys.registered_keys(), CLOCK))
    old_id = keys.signer("icbc")[0]
    retired, new = keys.rotate("icbc")
    changes = plan_keys(signer, topic, keys.registered_keys(), CLOCK)
    assert sorted(k for k, _ in changes.sends) == sorted([f"icbc/{old_id}", f"icbc/{new.key_id}"])
    assert changes.unchanged == 2 and retired.key_id == old_id
    assert len(_keys(_apply(topic, changes))) == 4  # the retired key stays published


def test_a_court_that_changed_is_published_again_and_one_that_left_gets_a_tombstone(keys: KeyStore) -> None:
    signer = _signer(keys)
    topic = _apply({}, plan_courts(signer, {}, COURTS, CLOCK))
    assert _keys(topic) == sorted(c.code for c in COURTS)
    moved = dataclasses.replace(COURTS[0], accounts=COURTS[0].accounts[:1])
    changes = plan_courts(signer, topic, [moved, *COURTS[1:3]], CLOCK)
    assert changes.sends[0][0] == COURTS[0].code and changes.sends[1] == (COURTS[3].code, None)
    assert (changes.unchanged, changes.removed) == (2, 1)
    assert plan_courts(signer, _apply(topic, changes), [moved, *COURTS[1:3]], CLOCK).sends == []


def test_a_stored_record_the_hub_did_not_seal_is_replaced(keys: KeyStore) -> None:
    signer = _signer(keys)
    topic = _apply({}, plan_courts(signer, {}, COURTS, CLOCK))
    forger = HubSigner(CODEC, signer.key_id, Ed25519PrivateKey.generate())
    topic[COURTS[1].code] = forger.encode(court_message(COURTS[1], CLOCK))
    changes = plan_courts(signer, topic, COURTS, CLOCK)
    assert [k for k, _ in changes.sends] == [COURTS[1].code] and changes.unchanged == len(COURTS) - 1
