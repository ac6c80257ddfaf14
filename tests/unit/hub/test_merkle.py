"""The audit log's Merkle trees follow RFC 9162 §2.1: proofs verify, and any change to the log is caught."""

from __future__ import annotations

import hashlib

import pytest

from hub.merkle import (
    EMPTY_ROOT,
    CompactTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(70)]


def test_tree_hashes_follow_rfc_9162_s2_1_1() -> None:
    a, b, c = LEAVES[:3]
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert root_of([a]) == a and root_of([a, b]) == node_hash(a, b)
    assert root_of([a, b, c]) == node_hash(node_hash(a, b), c)  # split at the largest power of two below 3


def test_the_compact_tree_grows_to_the_same_roots_as_the_full_tree() -> None:
    tree = CompactTree()
    for n, leaf in enumerate(LEAVES, start=1):
        tree.append(leaf)
        assert tree.size == n and tree.root() == root_of(LEAVES[:n])
        assert len(tree.subtrees) == bin(n).count("1")  # O(log n) hashes to continue from


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 70])
def test_every_leaf_has_an_inclusion_proof_that_verifies_rfc_9162_s2_1_3(size: int) -> None:
    leaves, root = LEAVES[:size], root_of(LEAVES[:size])
    for i in range(size):
        verify_inclusion(leaves[i], i, size, inclusion_proof(i, leaves), root)


def test_an_inclusion_proof_fails_for_another_leaf_position_size_or_root() -> None:
    leaves, root = LEAVES[:13], root_of(LEAVES[:13])
    proof = inclusion_proof(6, leaves)
    for leaf, index, size, r in ((leaves[7], 6, 13, root), (leaves[6], 7, 13, root),
                                 (leaves[6], 6, 14, root_of(LEAVES[:14])), (leaves[6], 6, 13, root_of(leaves[:12]))):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof, r)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[6], 6, 13, proof[:-1], root)


def test_every_older_tree_is_provably_a_prefix_of_every_newer_one_rfc_9162_s2_1_4() -> None:
    for new in range(1, 40):
        for old in range(1, new + 1):
            proof = consistency_proof(old, LEAVES[:new])
            verify_consistency(old, new, root_of(LEAVES[:old]), root_of(LEAVES[:new]), proof)


@pytest.mark.parametrize("change", ["changed", "dropped", "reordered", "appended_elsewhere"])
def test_a_rewritten_history_has_no_consistency_proof_from_an_old_tree_head(change: str) -> None:
    """The operator rewrites the log from leaf 5 on and recomputes every hash: an old head exposes it."""
    old_size, old_root = 9, root_of(LEAVES[:9])
    rewritten = list(LEAVES[:30])
    if change == "changed":
        rewritten[5] = leaf_hash(b"forged")
    elif change == "dropped":
        del rewritten[5]
    elif change == "reordered":
        rewritten[5], rewritten[6] = rewritten[6], rewritten[5]
    else:
        rewritten = [*LEAVES[:5], leaf_hash(b"inserted"), *LEAVES[5:29]]
    proof = consistency_proof(old_size, rewritten)  # the best the rewriter can offer
    with pytest.raises(ProofError):
        verify_consistency(old_size, len(rewritten), old_root, root_of(rewritten), proof)
