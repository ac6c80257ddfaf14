"""An agency tells the hub about an inbox record it cannot decode instead of dropping it (SPEC §7)."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition

from agents.inbox import batch_offsets, undecodable_reply
from hub.codec import default_codec
from hub.errors import CodecError
from hub.memory_backend import MemoryHub

CODEC = default_codec()


def _record() -> SimpleNamespace:
    return SimpleNamespace(topic="agency.icbc.inbox", partition=2, offset=41, key="（2024）京0105执1号".encode(),
                           value=b"\x00garbage", headers=[])


def _reply() -> bytes:
    try:
        CODEC.decode(_record().value)
    except CodecError as exc:
        return undecodable_reply(CODEC, "icbc", _record(), exc)
    raise AssertionError("garbage decoded")


def test_the_error_reply_names_the_record_by_its_position_and_the_decoders_reason() -> None:
    reply = CODEC.decode(_reply())
    assert reply.schema == "cn.court.interop.ops.ErrorReply" and reply.envelope["sender"] == "icbc"
    assert reply.request_id == "agency.icbc.inbox/2/41"
    body = reply.body
    assert (body["rejected_topic"], body["rejected_partition"], body["rejected_offset"]) == ("agency.icbc.inbox", 2, 41)
    assert body["rejected_key"] == "（2024）京0105执1号" and body["error_code"] == "bad_marker"


async def test_the_hub_accepts_and_audits_it_from_the_agencys_outbox(full_hub: MemoryHub) -> None:
    await full_hub.receive("agency.icbc.outbox", b"k", _reply())
    assert not full_hub.sender.on("ops.deadletter")
    actions = await full_hub.audit_entries()
    assert [(a["action"], a["message_type"]) for a in actions][:1] == [("ACCEPT", "ErrorReply")]


def test_a_batch_commits_the_next_offset_of_each_partition_it_read_and_no_other() -> None:
    inbox, lane = TopicPartition("agency.icbc.inbox", 3), TopicPartition("agency.icbc.sweeps", 0)
    batch = {inbox: [SimpleNamespace(offset=7), SimpleNamespace(offset=8)], lane: [SimpleNamespace(offset=0)],
             TopicPartition("agency.icbc.inbox", 5): []}
    assert batch_offsets(batch) == {inbox: 9, lane: 1}
