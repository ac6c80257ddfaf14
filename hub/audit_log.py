"""The audit log (002 §5(二), memo §4): one Merkle tree per hub partition, appended in signed batches.

Every message the hub accepts, rejects or emits is an *entry* (an ``AuditRecord``, single-object
encoded) of the *chain* of the hub partition it was handled in; entry ``i`` of a chain is leaf ``i``
of that chain's RFC 9162 tree (:mod:`hub.merkle`).  Entries travel in batches (one ``AuditBatch``
Kafka record carries many, on the audit topic's partition of the same number) that name where they
start, the tree's size and root after them and the roots of its perfect subtrees (from which the
next owner of the partition continues the tree without reading it all).  The hub publishes signed tree
heads (:mod:`hub.tree_heads`) on a topic every party may read.

:class:`ChainCheck` verifies a chain batch by batch: a gap, an overlap (a fork), a changed, dropped or
reordered entry or a rewritten tail is named with its chain, offset and entry index — a rewritten
tail whose batch roots were recomputed too is caught by the tree heads signed before the rewrite.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.clock import Clock
from hub.codec import AvroCodec, AvroMessage
from hub.envelope import envelope, message
from hub.errors import CodecError
from hub.merkle import CompactTree, leaf_hash, root_of
from hub.tree_heads import TreeHead

AUDIT_RECORD = "cn.court.interop.ops.AuditRecord"
AUDIT_BATCH = "cn.court.interop.ops.AuditBatch"
TREE_HEAD = "cn.court.interop.ops.AuditTreeHead"


@dataclass
class AuditEntry:
    action: str  # ACCEPT / REJECT / EMIT / DEAD_LETTER / DEADLINE / NOTICE ...
    topic: str
    payload: bytes
    principal: str
    client: str | None = None
    partition: int | None = None
    offset: int | None = None
    message_type: str | None = None
    message_id: str | None = None
    request_id: str | None = None
    case_number: str | None = None
    agency: str | None = None
    decision: str | None = None


def entry_record(entry: AuditEntry, index: int, at: datetime, clock: Clock) -> AvroMessage:
    """Entry ``index`` (0-based) of its chain as an ``AuditRecord`` (``seq`` = index + 1)."""
    body: dict[str, Any] = {
        "seq": index + 1, "principal": entry.principal, "client": entry.client, "action": entry.action,
        "at": at, "topic": entry.topic, "partition": entry.partition, "offset": entry.offset,
        "message_type": entry.message_type, "message_id": entry.message_id, "request_id": entry.request_id,
        "case_number": entry.case_number, "agency": entry.agency,
        "payload_sha256": hashlib.sha256(entry.payload).hexdigest(), "decision": entry.decision,
        "prev_hash": "", "hash": "",
    }
    return message(AUDIT_RECORD, envelope(clock, request_id=entry.request_id or "", recipient="audit"), body)


@dataclass(frozen=True)
class Batch:
    """One ``AuditBatch``: entries ``first_index ..`` of ``chain`` and the tree after them."""

    chain: int
    first_index: int
    entries: tuple[bytes, ...]
    tree_size: int
    root: bytes
    subtrees: tuple[bytes, ...]

    def to_message(self, clock: Clock) -> AvroMessage:
        return message(AUDIT_BATCH, envelope(clock, request_id=f"audit-{self.chain}-{self.first_index}",
                                             recipient="audit"), {
            "chain": self.chain, "first_index": self.first_index, "entries": list(self.entries),
            "tree_size": self.tree_size, "root": self.root.hex(), "subtrees": [h.hex() for h in self.subtrees],
            "written_at": clock.now(),
        })

    @classmethod
    def from_message(cls, msg: AvroMessage) -> Batch:
        b = msg.body
        return cls(int(b["chain"]), int(b["first_index"]), tuple(bytes(e) for e in b["entries"]),
                   int(b["tree_size"]), bytes.fromhex(b["root"]), tuple(bytes.fromhex(h) for h in b["subtrees"]))

    def tree(self) -> CompactTree:
        """The chain's tree after this batch (to continue it)."""
        return CompactTree(self.tree_size, list(self.subtrees))


def extend(tree: CompactTree, chain: int, entries: list[bytes]) -> Batch:
    """Append encoded entries to ``tree`` (in place) and describe them as the chain's next batch."""
    first = tree.size
    for raw in entries:
        tree.append(leaf_hash(raw))
    return Batch(chain, first, tuple(entries), tree.size, tree.root(), tuple(tree.subtrees))


@dataclass(frozen=True)
class Finding:
    """Where a chain stops being what it claims (or what the hub signed)."""

    chain: int
    offset: int | None  # of the batch record on the audit partition (None: a tree head)
    index: int | None  # the first entry concerned
    reason: str

    def __str__(self) -> str:
        where = f"chain {self.chain}" + (f" offset {self.offset}" if self.offset is not None else "") + (
            f" entry {self.index}" if self.index is not None else "")
        return f"{where}: {self.reason}"


@dataclass
class ChainCheck:
    """Verifies one chain's batches in offset order, then the tree heads signed for it."""

    chain: int
    codec: AvroCodec
    tree: CompactTree = field(default_factory=CompactTree)
    roots: dict[int, bytes] = field(default_factory=dict)  # tree size at each batch's end -> root
    leaves: list[bytes] = field(default_factory=list)  # leaf hashes (kept for proofs)
    entries: list[bytes] = field(default_factory=list)  # the entries (kept for search and proofs)
    broken: Finding | None = None

    def feed(self, offset: int, raw: bytes) -> Finding | None:
        """One batch record; the first problem found stops the check of this chain."""
        if self.broken is not None:
            return self.broken
        self.broken = self._check(offset, raw)
        return self.broken

    def _check(self, offset: int, raw: bytes) -> Finding | None:
        try:
            batch = Batch.from_message(self.codec.decode(raw))
        except (CodecError, KeyError, TypeError, ValueError) as exc:
            return Finding(self.chain, offset, self.tree.size, f"undecodable batch: {exc}")
        if batch.chain != self.chain:
            return Finding(self.chain, offset, batch.first_index, f"a batch of chain {batch.chain} on this chain")
        if batch.first_index > self.tree.size:
            return Finding(self.chain, offset, self.tree.size,
                           f"entries {self.tree.size}..{batch.first_index - 1} are missing")
        if batch.first_index < self.tree.size:
            return Finding(self.chain, offset, batch.first_index,
                           f"the batch starts at entry {batch.first_index} again: the chain forks")
        for i, entry in enumerate(batch.entries):
            try:
                rec = self.codec.decode(entry)
            except CodecError as exc:
                return Finding(self.chain, offset, batch.first_index + i, f"undecodable entry: {exc}")
            if int(rec.body["seq"]) != batch.first_index + i + 1:
                return Finding(self.chain, offset, batch.first_index + i,
                               f"entry says seq {rec.body['seq']}, it stands at {batch.first_index + i + 1}")
            leaf = leaf_hash(entry)
            self.tree.append(leaf)
            self.leaves.append(leaf)
            self.entries.append(entry)
        if (self.tree.size, self.tree.root()) != (batch.tree_size, batch.root):
            return Finding(self.chain, offset, batch.first_index,
                           "the entries do not hash to the tree the batch claims (changed, dropped or reordered)")
        self.roots[self.tree.size] = batch.root
        return None

    def check_head(self, head: TreeHead) -> Finding | None:
        """A signed head must name a size the chain reached and the root it had there."""
        if head.size > self.tree.size:
            return Finding(self.chain, None, self.tree.size,
                           f"a tree head signed {head.size} entries; the log has {self.tree.size}: entries are missing")
        root = self.roots.get(head.size)
        if root is None:
            root = root_of(self.leaves[:head.size])
        if root != head.root:
            return Finding(self.chain, None, head.size - 1,
                           f"the log's first {head.size} entries are not those the hub signed at "
                           f"{head.timestamp_ms} ms: rewritten at or before this entry")
        return None


def head_message(head: TreeHead, clock: Clock) -> AvroMessage:
    """A signed tree head as the ``AuditTreeHead`` record published on ``ops.audit.heads``."""
    return message(TREE_HEAD, envelope(clock, request_id=f"tree-head-{head.chain}-{head.size}", recipient="all"), {
        "chain": head.chain, "tree_size": head.size, "root": head.root.hex(), "timestamp_ms": head.timestamp_ms,
        "key_id": head.key_id, "signature": head.signature,
    })


def head_of(msg: AvroMessage) -> TreeHead:
    """The signed tree head an ``AuditTreeHead`` record carries."""
    b = msg.body
    return TreeHead(int(b["chain"]), int(b["tree_size"]), bytes.fromhex(b["root"]), int(b["timestamp_ms"]),
                    str(b["key_id"]), bytes(b["signature"]))
