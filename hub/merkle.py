"""Merkle trees of RFC 9162 §2.1 (Certificate Transparency v2): tree hash, inclusion and consistency proofs.

Leaves are hashed ``SHA-256(0x00 || entry)`` and interior nodes ``SHA-256(0x01 || left || right)``; the
tree over ``n`` leaves splits at the largest power of two below ``n``.  :class:`CompactTree` appends
leaves keeping only the roots of its perfect subtrees (``O(log n)`` hashes), so a writer can continue a
tree from its last published state; the proofs are computed from the leaf hashes and checked by the
``verify_*`` functions, which need nothing but the proof, the sizes and the roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.errors import HubError

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(HubError):
    """A proof that does not prove what it claims (or sizes that cannot have one)."""

    code = "invalid_proof"


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 §2.1.3.1, over hashed leaves."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ProofError(f"leaf {index} is not in a tree of {n}", field="index")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root_of(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root_of(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the tree of the first ``old_size`` leaves is a prefix of this one."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ProofError(f"no consistency proof from {old_size} to {n} leaves", field="old_size")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root_of(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), root_of(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_of(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raises :class:`ProofError` unless ``leaf`` (hashed) is leaf ``index`` of the tree
    of ``size`` leaves whose root is ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} cannot be in a tree of {size}", field="index")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep", field="proof")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep", field="proof")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the tree head's root", field="proof")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2: raises :class:`ProofError` unless the tree (old_size, old_root) is a prefix of
    (new_size, new_root) — i.e. nothing of the older tree was changed, dropped or reordered."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"sizes {old_size} -> {new_size} cannot be consistent", field="size")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("two tree heads of the same size must have the same root", field="root")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    if not path:
        raise ProofError("empty consistency proof", field="proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep", field="proof")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep", field="proof")
    if fr != old_root:
        raise ProofError("the older tree head is not a prefix of the newer one", field="old_root")
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the newer tree head's root", field="new_root")


@dataclass
class CompactTree:
    """A tree grown leaf by leaf from the roots of its perfect subtrees (left to right, sizes decreasing)."""

    size: int = 0
    subtrees: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> None:
        self.subtrees.append(leaf)
        self.size += 1
        n = self.size
        while n & 1 == 0:  # merge the two equal perfect subtrees the new leaf completed
            right = self.subtrees.pop()
            left = self.subtrees.pop()
            self.subtrees.append(node_hash(left, right))
            n >>= 1

    def root(self) -> bytes:
        if not self.subtrees:
            return EMPTY_ROOT
        r = self.subtrees[-1]
        for h in reversed(self.subtrees[:-1]):
            r = node_hash(h, r)
        return r

    def copy(self) -> CompactTree:
        return CompactTree(self.size, list(self.subtrees))
