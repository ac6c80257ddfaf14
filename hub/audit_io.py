"""Reading the audit log from Kafka: every partition's batches, the tree heads, one chain's last batch; and the
whole log verified (:func:`verify_log`) or searched, with what proofs need."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit_log import ChainCheck, Finding, head_of
from hub.codec import AvroCodec, AvroMessage
from hub.errors import CodecError, HubError
from hub.seal import KeyStore
from hub.settings import HubSettings
from hub.tree_heads import HUB_KEY, TreeHead, public_key_from_b64, verify_head
from topics.catalog import DEFAULT_CATALOG, Role


async def read_topic(settings: HubSettings, topic: str, *, batch: int = 5000) -> AsyncIterator[tuple[int, int, bytes]]:
    """(partition, offset, value) of every record of ``topic`` up to its current end, each partition in order."""
    partitions = await partitions_of(settings, topic)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    try:
        await consumer.start()  # inside: a consumer that could not reach the broker is closed too
        for p in partitions:
            tp = TopicPartition(topic, p)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            while await consumer.position(tp) < end:
                for rec in (await consumer.getmany(tp, timeout_ms=1000, max_records=batch)).get(tp, []):
                    if rec.offset >= end:
                        break
                    yield p, rec.offset, rec.value
    finally:
        await consumer.stop()


async def partitions_of(settings: HubSettings, topic: str) -> list[int]:
    """The partition numbers of ``topic`` as the broker has them (none if it does not exist)."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for t in described if t["topic"] == topic and not t["error_code"]
                  for p in t["partitions"])


async def last_record(settings: HubSettings, topic: str, partition: int, codec: AvroCodec) -> AvroMessage | None:
    """The last record stored on one partition (None if it is empty)."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    try:
        await consumer.start()
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return None
        consumer.seek(tp, end - 1)
        while True:
            records = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
            if records:
                return codec.decode(records[-1].value)
    finally:
        await consumer.stop()


@dataclass
class LogReport:
    """The audit log as read: each chain's check (entries, leaves, roots), the tree heads, what is broken."""

    chains: dict[int, ChainCheck] = field(default_factory=dict)
    heads: list[TreeHead] = field(default_factory=list)
    broken: list[Finding] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return sum(c.tree.size for c in self.chains.values())

    @property
    def ok(self) -> bool:
        return not self.broken

    def latest_head(self, chain: int, covering: int = 0) -> TreeHead | None:
        """The newest verified head of ``chain`` that covers entry ``covering``."""
        heads = [h for h in self.heads if h.chain == chain and h.size > covering]
        return max(heads, key=lambda h: (h.size, h.timestamp_ms), default=None)


async def verify_log(settings: HubSettings, codec: AvroCodec, audit_topic: str, heads_topic: str,
                     public_key: Callable[[], Ed25519PublicKey]) -> LogReport:
    """Every chain batch by batch, then every tree head: its signature (the hub's key, read when the first
    head is) and the root it signed."""
    report = LogReport()
    # The heads first: each covers batches already acknowledged, so the batches read after it are all there
    # (a live log grows meanwhile; read the other way round, a newer head would seem to sign missing entries).
    heads: list[tuple[int, bytes]] = [(offset, raw) async for _p, offset, raw in read_topic(settings, heads_topic)]
    async for partition, offset, raw in read_topic(settings, audit_topic):
        check = report.chains.setdefault(partition, ChainCheck(partition, codec))
        check.feed(offset, raw)
    report.broken.extend(c.broken for c in report.chains.values() if c.broken is not None)
    for offset, raw in heads:
        try:
            head = head_of(codec.decode(raw))
            verify_head(head, public_key())
        except (CodecError, HubError, KeyError, ValueError) as exc:
            report.broken.append(Finding(-1, offset, None, f"tree head at offset {offset} of {heads_topic}: {exc}"))
            continue
        check = report.chains.get(head.chain) or ChainCheck(head.chain, codec)
        finding = check.check_head(head) if check.broken is None else None
        if finding is not None:
            report.broken.append(finding)
        else:
            report.heads.append(head)
    return report


async def verify_deployment_log(settings: HubSettings, codec: AvroCodec, audit_topic: str | None = None) -> LogReport:
    """:func:`verify_log` of a deployment: its catalog topics (or another copy of the audit topic) and the hub's
    public key from its key registry (``keys/registry.json``, entry ``hub``)."""
    keys = KeyStore(settings.data_dir)
    return await verify_log(settings, codec, audit_topic or settings.topic(DEFAULT_CATALOG.one(Role.AUDIT).name),
                            settings.topic(DEFAULT_CATALOG.one(Role.AUDIT_HEADS).name),
                            lambda: public_key_from_b64(keys.public_key_b64(HUB_KEY)))
