"""The published registry on a real broker: the hub publishes every sealing key and every court, signed, on the
compacted topics ``registry.keys`` / ``registry.courts``; a court gateway (and a bank) read them with their own
logins on the secure deployment and verify a bank's receipts with nothing else than what they read and the hub's
public key (000 §8), across a key rotation; publishing again sends only what changed.  The session's worker
publishes them at start."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agents.court.adapter import verify_receipt
from agents.registry import hub_public_key, read_registry
from hub.codec import default_codec
from hub.compacted import read_latest
from hub.process import WorkerProcess
from hub.registry_publisher import publish_registry
from hub.registry_records import read_court
from hub.seal import KeyStore
from hub.security.users import as_principal
from hub.tree_heads import HUB_KEY, public_key_from_b64
from tests.integration.conftest import SecureDeployment
from tests.unit.sealed_replies import ROTATED, T0, sealed_reply
from topics.catalog import COURT_GATEWAY, HUB, Role
from topics.courts import COURTS

CODEC = default_codec()


async def test_a_court_verifies_receipts_across_a_rotation_from_the_registry_topics_alone_000_s8(
        secure_deployment: SecureDeployment, tmp_path: Path) -> None:
    settings = secure_deployment.settings
    hub, court = as_principal(settings, HUB), as_principal(settings, COURT_GATEWAY)
    keys = KeyStore(tmp_path / "hub")  # the hub's key registry (the banks' private keys beside it, as in the demo)
    keys.generate([HUB_KEY, "icbc"], now_ms=T0)

    first = await publish_registry(hub, CODEC, keys)
    assert (len(first.keys.sends), len(first.courts.sends)) == (2, len(COURTS))
    before = sealed_reply(keys, "icbc", ROTATED - 1)
    keys.rotate("icbc", now_ms=ROTATED)
    after = sealed_reply(keys, "icbc", ROTATED + 1, seed=2)
    second = await publish_registry(hub, CODEC, keys)
    assert (len(second.keys.sends), second.keys.unchanged) == (2, 1)  # the retired key and the new one
    assert (second.courts.sends, second.courts.unchanged) == ([], len(COURTS))
    third = await publish_registry(hub, CODEC, keys)
    assert third.keys.sends == [] and third.courts.sends == []

    anchor = hub_public_key(keys.public_key_b64(HUB_KEY))  # handed to the court out of band
    registry = await read_registry(court, anchor)
    assert not registry.refused and len(registry.keys) == 3 and set(registry.courts) == {c.code for c in COURTS}
    nothing_local = tmp_path / "court"  # the court has no key file at all
    for reply in (before, after):
        verified = verify_receipt(CODEC.encode_message(reply), nothing_local, published=registry)
        assert verified.datum["seal"]["key_id"] == reply.datum["seal"]["key_id"]
    assert registry.court("京0105").account_for("CNY") == COURTS[0].account_for("CNY")

    as_bank = await read_registry(as_principal(settings, "bank-icbc"), anchor)  # every party reads the same
    assert as_bank.key_ids() == registry.key_ids()


def test_the_worker_publishes_the_court_registry_at_start(hub_worker: WorkerProcess) -> None:
    settings = hub_worker.settings
    anchor = public_key_from_b64(KeyStore(settings.data_dir).public_key_b64(HUB_KEY))
    topic = settings.topic(settings.catalog.one(Role.PUBLISHED_COURTS).name)
    deadline = time.monotonic() + 60
    while True:
        records = asyncio.run(read_latest(settings, topic))
        if len(records) == len(COURTS) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert {code: read_court(CODEC, code, raw or b"", anchor) for code, raw in records.items()} == \
        {c.code: c for c in COURTS}
