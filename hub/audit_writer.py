"""The worker's side of the audit log: one chain per hub partition, written only by that partition's owner.

An entry joins the chain of the partition whose record is being handled (:func:`in_chain`, set by
the intake); an entry of a timer or task (no record being handled) joins the lowest partition this
worker owns.  Entries wait in memory and leave in batches (:mod:`hub.audit_log`): when a chain has
``BATCH_ENTRIES`` of them, and before every offset commit (the producer's flush,
:class:`~hub.producer.GuardedProducer`), so no record counts as processed before its entries are on
the broker.  A partition that moves to another worker is flushed on revocation; its new owner reads
the chain's last batch and continues the tree from it (no fork, no gap: faust's rebalance revokes
every partition before it assigns any).  Signed tree heads are published for every owned chain whose
acknowledged size grew (:meth:`AuditWriter.publish_heads`, every ``audit_head_interval_s``), and at
least every ``audit_head_idle_s``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.audit_log import AuditEntry, Batch, entry_record, extend, head_message
from hub.codec import AvroMessage
from hub.merkle import CompactTree
from hub.runtime import HubRuntime
from hub.transport import Sender
from hub.tree_heads import TreeHead, sign_head

log = logging.getLogger(__name__)

BATCH_ENTRIES = 500

_chain: ContextVar[int | None] = ContextVar("audit_chain", default=None)


@contextmanager
def in_chain(partition: int) -> Iterator[None]:
    """Entries written inside belong to the chain of hub partition ``partition``."""
    token = _chain.set(partition)
    try:
        yield
    finally:
        _chain.reset(token)


@dataclass
class ChainState:
    tree: CompactTree
    acked: tuple[int, bytes] | None = None  # (size, root) the broker has acknowledged
    headed: tuple[int, int] | None = None  # (size, at_ms) of the last tree head published
    pending: list[tuple[AuditEntry, datetime]] = field(default_factory=list)


#: the last batch record stored on one audit partition (None: the chain is empty)
LastBatch = Callable[[int], Awaitable[AvroMessage | None]]


class AuditWriter:
    def __init__(self, runtime: HubRuntime, sender: Sender, audit_topic: str, heads_topic: str,
                 last_batch: LastBatch, owned: Callable[[], list[int]],
                 signer: Callable[[], tuple[str, Any]] | None) -> None:
        self.rt = runtime
        self.sender = sender
        self.audit_topic = audit_topic
        self.heads_topic = heads_topic
        self.last_batch = last_batch
        self.owned = owned
        self.signer = signer
        self.chains: dict[int, ChainState] = {}
        self.homeless: list[tuple[AuditEntry, datetime]] = []  # written while owning no partition
        self.waiting: dict[int, list[tuple[AuditEntry, datetime]]] = {}  # chains not loaded yet
        self._lock = asyncio.Lock()

    def chain_of_now(self) -> int | None:
        chain = _chain.get()
        if chain is not None:
            return chain
        owned = self.owned()
        return min(owned) if owned else None

    async def append(self, entry: AuditEntry) -> None:
        chain = self.chain_of_now()
        item = (entry, self.rt.clock.now())
        if chain is None:
            self.homeless.append(item)
            return
        waiting = self.waiting.setdefault(chain, [])
        waiting.append(item)
        if len(waiting) >= BATCH_ENTRIES:
            await self.flush([chain])

    async def _state(self, chain: int) -> ChainState:
        """The chain as its last stored batch left it (read once per ownership)."""
        state = self.chains.get(chain)
        if state is None:
            last = await self.last_batch(chain)
            tree = Batch.from_message(last).tree() if last is not None else CompactTree()
            state = ChainState(tree, acked=(tree.size, tree.root()))
            self.chains[chain] = state
        return state

    async def flush(self, chains: list[int] | None = None) -> None:
        """Send every waiting entry (of ``chains``) as one batch per chain; acknowledged before the next commit."""
        async with self._lock:
            owned = self.owned()
            if self.homeless and owned:
                self.waiting.setdefault(min(owned), []).extend(self.homeless)
                self.homeless = []
            for chain in list(self.waiting if chains is None else chains):
                items = self.waiting.pop(chain, [])
                if items:
                    await self._send_batch(chain, items)

    async def _send_batch(self, chain: int, items: list[tuple[AuditEntry, datetime]]) -> None:
        rt = self.rt
        state = await self._state(chain)
        first = state.tree.size
        raws = [rt.codec.encode_message(entry_record(e, first + i, at, rt.clock)) for i, (e, at) in enumerate(items)]
        batch = extend(state.tree, chain, raws)
        value = rt.codec.encode_message(batch.to_message(rt.clock))
        acked = await self.sender.send(self.audit_topic, str(chain).encode(), value, partition=chain)
        for entry, _ in items:
            rt.metrics.audit_records_total.labels(entry.action).inc()
        rt.metrics.audit_batches_total.inc()

        async def note_ack() -> None:
            await acked
            if state.acked is None or state.acked[0] < batch.tree_size:
                state.acked = (batch.tree_size, batch.root)

        asyncio.ensure_future(note_ack())  # noqa: RUF006  (its failure is the producer's: no commit after it)

    async def revoked(self) -> None:
        """The worker's partitions are being taken away: flush and wait, then forget every chain."""
        await self.flush()
        self.chains.clear()

    async def publish_heads(self, now_ms: int, idle_ms: int) -> list[TreeHead]:
        """A signed tree head for each owned chain whose acknowledged size grew (or after ``idle_ms``)."""
        if self.signer is None:
            return []
        published = []
        for chain in self.owned():
            state = self.chains.get(chain)
            if state is None or state.acked is None:
                continue
            size, root = state.acked
            grew = state.headed is None or state.headed[0] != size
            if not grew and now_ms - state.headed[1] < idle_ms:  # type: ignore[index]
                continue
            key_id, key = self.signer()
            head = sign_head(TreeHead(chain, size, root, now_ms), key_id, key)
            msg = head_message(head, self.rt.clock)
            await self.sender.send_soon(self.heads_topic, str(chain), self.rt.codec.encode_message(msg))
            state.headed = (size, now_ms)
            published.append(head)
        return published
