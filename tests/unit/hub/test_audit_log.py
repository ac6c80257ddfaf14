"""The audit log (002 §5(二)): chains of signed Merkle batches; any change to a chain is found and located."""

from __future__ import annotations

from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit_log import AuditEntry, Batch, ChainCheck, entry_record, extend
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.merkle import CompactTree, root_of
from hub.tree_heads import InvalidTreeHead, TreeHead, sign_head, verify_head

CODEC = default_codec()
CLOCK = ManualClock(datetime.fromisoformat("2025-01-02T09:00:00+08:00"))
KEY = Ed25519PrivateKey.generate()


def _entries(first: int, n: int) -> list[bytes]:
    return [CODEC.encode_message(entry_record(
        AuditEntry("ACCEPT", "court.requests", f"payload {i}".encode(), "court-gateway", request_id=f"r{i}"),
        i, CLOCK.now(), CLOCK)) for i in range(first, first + n)]


def _chain(sizes: list[int], chain: int = 2) -> list[bytes]:
    """The batch records of a chain whose batches hold ``sizes`` entries."""
    tree, out = CompactTree(), []
    for n in sizes:
        batch = extend(tree, chain, _entries(tree.size, n))
        out.append(CODEC.encode_message(batch.to_message(CLOCK)))
    return out


def _check(records: list[bytes], chain: int = 2) -> ChainCheck:
    check = ChainCheck(chain, CODEC)
    for offset, raw in enumerate(records):
        if check.feed(offset, raw) is not None:
            break
    return check


def _rebatched(raw: bytes, entries: list[bytes], recompute: CompactTree | None = None) -> bytes:
    """A batch record with other entries (and, if ``recompute`` is given, the roots recomputed to match)."""
    batch = Batch.from_message(CODEC.decode(raw))
    if recompute is not None:
        batch = extend(recompute, batch.chain, entries)
    else:
        batch = Batch(batch.chain, batch.first_index, tuple(entries), batch.tree_size, batch.root, batch.subtrees)
    return CODEC.encode_message(batch.to_message(CLOCK))


def test_an_untouched_chain_verifies_and_each_batch_continues_the_tree() -> None:
    check = _check(_chain([3, 5, 1, 8]))
    assert check.broken is None and check.tree.size == 17
    assert check.tree.root() == root_of(check.leaves) and sorted(check.roots) == [3, 8, 9, 17]


@pytest.mark.parametrize("tamper", ["changed", "dropped", "reordered"])
def test_a_changed_dropped_or_reordered_entry_is_located_002_s5_2(tamper: str) -> None:
    records = _chain([4, 4, 4])
    entries = list(Batch.from_message(CODEC.decode(records[1])).entries)
    if tamper == "changed":  # one hex digit of the entry's payload digest
        entry = CODEC.decode(entries[2])
        digest = entry.body["payload_sha256"]
        entry.body["payload_sha256"] = ("0" if digest[0] != "0" else "1") + digest[1:]
        entries[2] = CODEC.encode_message(entry)
    elif tamper == "dropped":
        del entries[2]
    else:
        entries[1], entries[2] = entries[2], entries[1]
    records[1] = _rebatched(records[1], entries)
    broken = _check(records).broken
    assert broken is not None and broken.offset == 1, broken
    assert broken.index is not None and 4 <= broken.index <= 7


def test_a_batch_missing_from_the_partition_is_a_gap() -> None:
    records = _chain([2, 3, 2])
    del records[1]
    broken = _check(records).broken
    assert broken is not None and broken.offset == 1 and "missing" in broken.reason and broken.index == 2


def test_a_second_writer_continuing_from_the_same_point_is_a_fork() -> None:
    records = _chain([2, 3])
    records.append(records[1])  # entries 2..4 written again
    broken = _check(records).broken
    assert broken is not None and broken.offset == 2 and "fork" in broken.reason


def test_a_rewritten_tail_with_recomputed_roots_is_caught_by_an_earlier_signed_head() -> None:
    """The broker's operator rewrites entry 5 and recomputes every root after it: the chain is consistent
    with itself, but not with the tree head the hub signed before the rewrite."""
    honest = _chain([4, 4, 4])
    check = _check(honest)
    head = sign_head(TreeHead(2, 8, check.roots[8], 1), "hub-1", KEY)
    tree = CompactTree()
    forged = [CODEC.encode_message(extend(tree, 2, _entries(0, 4)).to_message(CLOCK))]
    rewritten = _entries(4, 4)
    rewritten[1] = _entries(5, 1)[0].replace(b"court-gateway", b"court-gatewaX")
    forged.append(_rebatched(honest[1], rewritten, recompute=tree))
    forged.append(_rebatched(honest[2], list(Batch.from_message(CODEC.decode(honest[2])).entries), recompute=tree))
    rewritten_check = _check(forged)
    assert rewritten_check.broken is None  # consistent with itself ...
    finding = rewritten_check.check_head(head)  # ... not with what the hub signed
    assert finding is not None and finding.index == 7 and "not those the hub signed" in finding.reason
    assert check.check_head(head) is None


def test_a_head_beyond_the_log_means_entries_are_missing() -> None:
    check = _check(_chain([4]))
    finding = check.check_head(sign_head(TreeHead(2, 9, b"\x00" * 32, 1), "hub-1", KEY))
    assert finding is not None and "missing" in finding.reason


def test_a_tree_head_verifies_only_with_the_hubs_key_and_unchanged() -> None:
    head = sign_head(TreeHead(1, 10, b"\x01" * 32, 1234), "hub-1", KEY)
    verify_head(head, KEY.public_key())
    with pytest.raises(InvalidTreeHead):
        verify_head(TreeHead(1, 11, head.root, head.timestamp_ms, head.key_id, head.signature), KEY.public_key())
    with pytest.raises(InvalidTreeHead):
        verify_head(head, Ed25519PrivateKey.generate().public_key())
