"""Proofs about the audit log check offline with only the proof, the tree head and the hub's key (RFC 9162)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit_proofs import check_bundle, main, prove_consistency, prove_inclusion
from hub.errors import HubError
from hub.merkle import leaf_hash, root_of
from hub.tree_heads import TreeHead, sign_head

KEY = Ed25519PrivateKey.generate()
ENTRIES = [f"entry {i}".encode() for i in range(23)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def _head(size: int, key: Ed25519PrivateKey = KEY) -> TreeHead:
    return sign_head(TreeHead(1, size, root_of(LEAVES[:size]), 1000 + size), "hub-x", key)


def test_an_entry_proven_in_a_signed_head_checks_and_a_changed_entry_does_not_rfc_9162_s2_1_3() -> None:
    bundle = prove_inclusion(_head(20), LEAVES, 7, ENTRIES[7], {"request_id": "r7"}).to_json()
    assert "entry 7 of chain 1" in check_bundle(bundle, KEY.public_key())
    forged = {**bundle, "entry": base64.b64encode(b"entry 8").decode()}
    with pytest.raises(HubError):
        check_bundle(forged, KEY.public_key())


def test_a_head_signed_by_another_key_proves_nothing() -> None:
    bundle = prove_inclusion(_head(20, Ed25519PrivateKey.generate()), LEAVES, 7, ENTRIES[7], {}).to_json()
    with pytest.raises(HubError, match="signature"):
        check_bundle(bundle, KEY.public_key())


def test_a_later_head_extends_an_earlier_one_and_a_forged_earlier_head_fails_rfc_9162_s2_1_4() -> None:
    bundle = prove_consistency(_head(6), _head(23), LEAVES).to_json()
    assert "extends the one signed at size 6" in check_bundle(bundle, KEY.public_key())
    rewritten = [*LEAVES[:3], leaf_hash(b"forged"), *LEAVES[4:]]
    forged_old = sign_head(TreeHead(1, 6, root_of(rewritten[:6]), 1006), "hub-x", KEY)  # another history
    with pytest.raises(HubError):
        check_bundle({**bundle, "old_tree_head": forged_old.to_json()}, KEY.public_key())


def test_the_offline_checker_says_ok_or_not_proven(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    public = base64.b64encode(KEY.public_key().public_bytes(serialization.Encoding.Raw,
                                                             serialization.PublicFormat.Raw)).decode()
    good = tmp_path / "good.json"
    good.write_text(json.dumps([prove_inclusion(_head(9), LEAVES, 2, ENTRIES[2], {}).to_json()]), encoding="utf-8")
    assert main(["check", str(good), "--public-key", public]) == 0 and "OK: entry 2" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(prove_inclusion(_head(9), LEAVES, 2, ENTRIES[3], {}).to_json()), encoding="utf-8")
    assert main(["check", str(bad), "--public-key", public]) == 1 and "NOT PROVEN" in capsys.readouterr().err
