"""Authentication and authorisation on a real secure broker (SASL/SCRAM-SHA-512 + ACLs from the catalog).

One broker of this module's own is started with ``--secure``; ``interop-hub security apply`` creates a
SCRAM user per principal and the catalog's ACLs.  Then every principal is probed with real Kafka
requests: a produce (denied -> TopicAuthorizationFailedError) and a fetch (denied -> error code 29,
TOPIC_AUTHORIZATION_FAILED, per partition) on every catalog topic.  For every ordered pair of agencies
with mailboxes, reading or writing the other's inbox or outbox is denied, and each principal can do
exactly what :func:`topics.catalog.acl_grants` says, nothing more.
"""

from __future__ import annotations

import contextlib
import stat
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from aiokafka.protocol.fetch import FetchRequest

from hub.broker.server import LocalBroker
from hub.security.users import CredentialStore, principals
from hub.settings import HubSettings
from tests.integration.conftest import SecureDeployment
from topics.catalog import DEFAULT_CATALOG, acl_grants, agency_group_id

TOPIC_AUTHORIZATION_FAILED = 29
MAILBOX_AGENCIES = [a for a in DEFAULT_CATALOG.agencies if a.has_mailbox]


@pytest.fixture(scope="module")
def secure(secure_deployment: SecureDeployment) -> tuple[HubSettings, LocalBroker, str]:
    """The session's secure deployment (tests/integration/conftest.py), shared with the attack suite."""
    return secure_deployment.settings, secure_deployment.broker, secure_deployment.apply_output


def _as(settings: HubSettings, principal: str) -> HubSettings:
    return CredentialStore(settings.data_dir).settings_for(settings, principal)


async def _writable(settings: HubSettings, topics: list[str]) -> dict[str, bool]:
    """Produce one record to each topic: True when the broker accepted it."""
    producer = AIOKafkaProducer(request_timeout_ms=10_000, **settings.kafka_client_kwargs())
    await producer.start()
    out: dict[str, bool] = {}
    try:
        for topic in topics:
            try:
                await producer.send_and_wait(topic, b"isolation-probe", key=b"probe")
                out[topic] = True
            except TopicAuthorizationFailedError:
                out[topic] = False
    finally:
        await producer.stop()
    return out


async def _readable(settings: HubSettings, topics: list[str]) -> dict[str, bool]:
    """One real Fetch request for partition 0 of every topic: True unless TOPIC_AUTHORIZATION_FAILED."""
    client = AIOKafkaClient(**settings.kafka_client_kwargs())
    await client.bootstrap()
    try:
        node = next(iter(client.cluster.brokers())).nodeId
        request = FetchRequest(0, 1, 1 << 20, 0, [(t, [(0, 0, 1024)]) for t in topics])
        response: Any = await client.send(node, request)
        codes = {t: parts[0][1] for t, parts, *_ in response.topics}
    finally:
        await client.close()
    assert set(codes) == set(topics)
    return {t: code != TOPIC_AUTHORIZATION_FAILED for t, code in codes.items()}


def test_credentials_are_generated_private_and_never_printed(secure) -> None:
    settings, _, output = secure
    store = CredentialStore(settings.data_dir)
    passwords = store.load()
    assert sorted(passwords) == principals(DEFAULT_CATALOG) and len(passwords) >= 35
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.secrets_dir.stat().st_mode) == 0o700
    assert not [p for p in passwords.values() if p in output], "no password in the command's output"
    assert len(set(passwords.values())) == len(passwords), "every principal has its own password"
    print(f"\n{output.strip()}")


async def test_a_wrong_password_is_refused(secure) -> None:
    settings, _, _ = secure
    from aiokafka.errors import KafkaError
    from pydantic import SecretStr

    bad = _as(settings, "bank-icbc").model_copy(update={"sasl_password": SecretStr("not-the-password")})
    producer = AIOKafkaProducer(request_timeout_ms=5_000, **bad.kafka_client_kwargs())
    with pytest.raises(KafkaError):
        await producer.start()
    with contextlib.suppress(KafkaError):
        await producer.stop()


async def test_no_agency_can_read_or_write_another_agencys_mailbox(secure) -> None:
    """For every ordered pair (A, B) of agencies with mailboxes: A reading / writing B's inbox / outbox is denied."""
    settings, _, _ = secure
    tried = denied = pairs = 0
    for a in MAILBOX_AGENCIES:
        others = [b for b in MAILBOX_AGENCIES if b.code != a.code]
        mailboxes = [settings.topic(n) for b in others for n in (f"agency.{b.code}.inbox", f"agency.{b.code}.outbox")]
        creds = _as(settings, a.principal)
        writes, reads = await _writable(creds, mailboxes), await _readable(creds, mailboxes)
        pairs += len(others)
        tried += len(writes) + len(reads)
        denied += sum(not ok for ok in writes.values()) + sum(not ok for ok in reads.values())
        assert not [t for t, ok in writes.items() if ok], f"{a.principal} could write another agency's mailbox"
        assert not [t for t, ok in reads.items() if ok], f"{a.principal} could read another agency's mailbox"
    n = len(MAILBOX_AGENCIES)
    print(f"\nagency pairs: {pairs}; operations tried: {tried}; denied: {denied}")
    assert pairs == n * (n - 1) and tried == 4 * pairs and denied == tried


async def test_each_principal_can_do_exactly_what_the_catalog_grants(secure) -> None:
    """Every principal x every catalog topic x {produce, fetch}: allowed iff ``acl_grants`` lists it."""
    settings, _, _ = secure
    grants = {(g.principal, g.operation, g.topic) for g in acl_grants(DEFAULT_CATALOG, settings.topic_prefix)}
    topics = [settings.topic(spec.name) for spec in DEFAULT_CATALOG]
    checked = allowed = 0
    for principal in principals(DEFAULT_CATALOG):
        creds = _as(settings, principal)
        writes, reads = await _writable(creds, topics), await _readable(creds, topics)
        for topic in topics:
            assert writes[topic] == ((principal, "WRITE", topic) in grants), (principal, "write", topic)
            assert reads[topic] == ((principal, "READ", topic) in grants), (principal, "read", topic)
        checked += 2 * len(topics)
        allowed += sum(writes.values()) + sum(reads.values())
    expected = sum(1 for p, op, _ in grants if op in ("READ", "WRITE") and p != "admin")
    print(f"\nprincipal x topic x operation checks: {checked}; allowed: {allowed}; denied: {checked - allowed}")
    assert allowed == expected and checked == 2 * len(topics) * len(principals(DEFAULT_CATALOG))


async def test_an_agency_may_use_its_own_consumer_group_but_not_anothers(secure) -> None:
    settings, _, _ = secure
    icbc = _as(settings, "bank-icbc")
    tp = TopicPartition(settings.topic("agency.icbc.inbox"), 0)
    own = AIOKafkaConsumer(group_id=agency_group_id(settings.app_id, "icbc"), enable_auto_commit=False,
                           **icbc.kafka_client_kwargs())
    await own.start()
    try:
        own.assign([tp])
        await own.commit({tp: 0})
        assert await own.committed(tp) == 0
    finally:
        await own.stop()
    other = AIOKafkaConsumer(group_id=agency_group_id(settings.app_id, "ccb"), enable_auto_commit=False,
                             **icbc.kafka_client_kwargs())
    await other.start()
    try:
        other.assign([tp])
        with pytest.raises(GroupAuthorizationFailedError):
            await other.commit({tp: 0})
    finally:
        await other.stop()


@pytest.mark.parametrize(("short", "long"), [("cmb", "cmbc"), ("boc", "bocom")])
async def test_an_agency_cannot_use_the_group_of_an_agency_whose_code_it_prefixes(secure, short: str,
                                                                                  long: str) -> None:
    """Group ACLs are literal names: bank-cmb's grant does not reach cmbc's group (nor boc's bocom's)."""
    settings, _, _ = secure
    creds = _as(settings, f"bank-{short}")
    tp = TopicPartition(settings.topic(f"agency.{short}.inbox"), 0)
    for group, allowed in ((agency_group_id(settings.app_id, short), True),
                           (agency_group_id(settings.app_id, long), False),
                           (agency_group_id(settings.app_id, short) + "-2", False)):
        consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **creds.kafka_client_kwargs())
        await consumer.start()
        try:
            consumer.assign([tp])
            if allowed:
                await consumer.commit({tp: 0})
                assert await consumer.committed(tp) == 0
            else:
                with pytest.raises(GroupAuthorizationFailedError):
                    await consumer.commit({tp: 0})
        finally:
            await consumer.stop()
