"""Logins, topic names and consumer groups as the guide's §1-2 give them."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class Login:
    """What the operator hands a party out of band: where the broker is, its principal and password, the
    deployment's topic prefix and app id (§1: ``interop-hub`` unless told otherwise)."""

    bootstrap_servers: str
    principal: str | None = None  # None: a plain deployment without logins
    password: str | None = None
    topic_prefix: str = ""
    app_id: str = "interop-hub"

    def client_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {"bootstrap_servers": self.bootstrap_servers}
        if self.principal is not None:
            kwargs.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                          sasl_plain_username=self.principal, sasl_plain_password=self.password)
        return kwargs

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def agency_group(self, code: str) -> str:
        """§1: an agency's consumer group, a literal name."""
        return f"{self.app_id}-sim-{code}"


def producer(login: Login) -> AIOKafkaProducer:
    """§2: ``acks=all``, idempotence on, aiokafka's default (murmur2) partitioner."""
    return AIOKafkaProducer(acks="all", enable_idempotence=True, **login.client_kwargs())


async def all_partitions(login: Login, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``, as the broker describes it to this principal (reading implies describing)."""
    admin = AIOKafkaAdminClient(**login.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(topic, int(p["partition"])) for t in described if t["topic"] == topic
            and not t["error_code"] for p in sorted(t["partitions"], key=lambda p: int(p["partition"]))]


async def read_to_end(login: Login, topic: str) -> list[tuple[bytes | None, bytes | None, int]]:
    """(key, value, partition) of every record of ``topic`` from its beginning to the end offsets seen at the
    start, without a consumer group (any principal allowed to read the topic may)."""
    partitions = await all_partitions(login, topic)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **login.client_kwargs())
    records: list[tuple[bytes | None, bytes | None, int]] = []
    if not partitions:
        raise LookupError(f"{topic} has no partition this login may read")
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                for rec in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if rec.offset < ends[tp]:
                        records.append((rec.key, rec.value, tp.partition))
    finally:
        await consumer.stop()
    return records
