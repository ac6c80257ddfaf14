"""The worker's audit log: entries join their partition's chain, leave in batches, continue after a move."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit_log import AuditEntry, Batch, ChainCheck, head_of
from hub.audit_writer import AuditWriter, in_chain
from hub.codec import AvroMessage
from hub.memory_backend import RecordingSender
from hub.runtime import HubRuntime
from hub.tree_heads import verify_head
from tests.unit.conftest import memory_runtime

KEY = Ed25519PrivateKey.generate()


def _entry(n: int) -> AuditEntry:
    return AuditEntry("ACCEPT", "court.requests", f"payload {n}".encode(), "court-gateway", request_id=f"r{n}")


class _Log:
    """The audit topic as the writers see it: the last batch of each partition."""

    def __init__(self, runtime: HubRuntime, sender: RecordingSender) -> None:
        self.rt, self.sender = runtime, sender

    async def last_batch(self, chain: int) -> AvroMessage | None:
        mine = [s for s in self.sender.on("ops.audit") if s.partition == chain]
        return self.rt.codec.decode(mine[-1].value or b"") if mine else None

    def batches(self, chain: int) -> list[Batch]:
        return [Batch.from_message(self.rt.codec.decode(s.value or b""))
                for s in self.sender.on("ops.audit") if s.partition == chain]


def _writer(runtime: HubRuntime, log: _Log, owned: list[int], signed: bool = False) -> AuditWriter:
    return AuditWriter(runtime, log.sender, "ops.audit", "ops.audit.heads", log.last_batch, lambda: owned,
                       (lambda: ("hub-test", KEY)) if signed else None)


async def test_entries_join_the_chain_of_the_partition_being_handled_and_leave_in_one_batch(tmp_path: Path) -> None:
    rt = memory_runtime(tmp_path)
    log = _Log(rt, RecordingSender())
    writer = _writer(rt, log, owned=[1, 3])
    with in_chain(3):
        for n in range(5):
            await writer.append(_entry(n))
    await writer.append(_entry(99))  # a timer's entry: the lowest partition this worker owns
    assert log.sender.sent == []  # nothing produced per entry
    await writer.flush()
    assert [(b.chain, b.first_index, len(b.entries)) for b in log.batches(3)] == [(3, 0, 5)]
    assert [(b.chain, len(b.entries)) for b in log.batches(1)] == [(1, 1)]
    assert len(log.sender.sent) == 2


async def test_a_new_owner_continues_the_chain_exactly_where_the_last_batch_left_it(tmp_path: Path) -> None:
    rt = memory_runtime(tmp_path)
    log = _Log(rt, RecordingSender())
    first = _writer(rt, log, owned=[2])
    with in_chain(2):
        for n in range(3):
            await first.append(_entry(n))
    await first.revoked()  # the partition moves: flushed, then forgotten
    second = _writer(rt, log, owned=[2])  # another worker (or the same one, restarted)
    with in_chain(2):
        for n in range(3, 7):
            await second.append(_entry(n))
    await second.flush()
    check = ChainCheck(2, rt.codec)
    for offset, s in enumerate(s for s in log.sender.on("ops.audit") if s.partition == 2):
        assert check.feed(offset, s.value or b"") is None
    assert check.tree.size == 7 and [b.first_index for b in log.batches(2)] == [0, 3]


async def test_a_signed_head_follows_every_acknowledged_growth_and_repeats_when_idle(tmp_path: Path) -> None:
    rt = memory_runtime(tmp_path)
    log = _Log(rt, RecordingSender())
    writer = _writer(rt, log, owned=[0], signed=True)
    with in_chain(0):
        await writer.append(_entry(1))
    await writer.flush()
    await asyncio.sleep(0)  # the acknowledgement is noted
    [head] = await writer.publish_heads(now_ms=1_000, idle_ms=60_000)
    assert head.size == 1 and head.root == log.batches(0)[0].root
    verify_head(head, KEY.public_key())
    assert await writer.publish_heads(now_ms=2_000, idle_ms=60_000) == []  # nothing grew
    [again] = await writer.publish_heads(now_ms=62_000, idle_ms=60_000)  # idle: signed again, later
    assert again.size == 1 and again.timestamp_ms == 62_000
    published = [head_of(rt.codec.decode(s.value or b"")) for s in log.sender.on("ops.audit.heads")]
    assert [h.timestamp_ms for h in published] == [1_000, 62_000]


async def test_entries_written_while_owning_no_partition_wait_for_the_first_owned_chain(tmp_path: Path) -> None:
    rt = memory_runtime(tmp_path)
    log = _Log(rt, RecordingSender())
    owned: list[int] = []
    writer = AuditWriter(rt, log.sender, "ops.audit", "ops.audit.heads", log.last_batch, lambda: owned, None)
    await writer.append(_entry(1))  # e.g. a sweep during a rebalance
    await writer.flush()
    assert log.sender.sent == []
    owned.append(2)
    await writer.flush()
    assert [len(b.entries) for b in log.batches(2)] == [1]


