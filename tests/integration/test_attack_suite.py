"""An attacker on the host, against the secure deployment: every door the catalog does not open stays shut.

Generated from the catalog (topics, principals, ACL plan), run with real Kafka requests on a broker started
``--secure`` with ``security apply``: every principal x every topic it must not touch x read / write /
describe; every principal x every consumer group of another principal; administration (topics, ACLs,
configs) by every principal but admin; the controller port without credentials or with the wrong ones
(aiokafka and Kafka's own tools); the client port without a valid login; every private page of the
worker's HTTP port without its token; the files under the data dir.  Each test counts its attempts and the successes
(an attack that worked); the last one prints the totals and requires 0 successes and a minimum count.
"""

from __future__ import annotations

import contextlib
import stat
import subprocess
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from aiokafka.protocol.admin import AlterConfigsRequest, CreateAclsRequest, DeleteAclsRequest
from aiokafka.protocol.coordination import FindCoordinatorRequest
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.metadata import MetadataRequest
from pydantic import SecretStr

from hub.broker.config import CONTROLLER_USER
from hub.process import WorkerProcess, http_json
from hub.security.acls import GROUP, plan
from hub.security.users import CredentialStore, admin_settings, principals
from hub.settings import HubSettings
from tests.integration.conftest import SecureDeployment
from topics.catalog import DEFAULT_CATALOG, acl_grants

NO_ERROR = 0
TIMEOUT_MS = 4_000
# Kafka's AclOperation / ResourceType / PatternType / AclPermissionType codes
ACL_TOPIC, ACL_LITERAL, ACL_READ, ACL_ALLOW, ACL_ANY = 2, 3, 3, 3, 1
CONFIG_TOPIC, CONFIG_BROKER = 2, 4
MIN_ATTEMPTS = 5_000

ATTEMPTS: Counter[str] = Counter()
SUCCESSES: list[str] = []


def _tally(category: str, label: str, succeeded: bool) -> None:
    ATTEMPTS[category] += 1
    if succeeded:
        SUCCESSES.append(f"{category}: {label}")


def _as(deployment: SecureDeployment, principal: str) -> HubSettings:
    return CredentialStore(deployment.settings.data_dir).settings_for(deployment.settings, principal)


async def _client(settings: HubSettings) -> AIOKafkaClient:
    client = AIOKafkaClient(request_timeout_ms=TIMEOUT_MS, **settings.kafka_client_kwargs())
    await client.bootstrap()
    return client


def _node(client: AIOKafkaClient) -> int:
    return int(next(iter(client.cluster.brokers())).nodeId)


# --- topics ----------------------------------------------------------------------------------------------
async def test_no_principal_reads_writes_or_describes_a_topic_the_catalog_does_not_grant(
        secure_deployment: SecureDeployment) -> None:
    settings = secure_deployment.settings
    grants = {(g.principal, g.operation, g.topic) for g in acl_grants(DEFAULT_CATALOG, settings.topic_prefix)}
    topics = [settings.topic(spec.name) for spec in DEFAULT_CATALOG]
    for principal in principals(DEFAULT_CATALOG):
        creds = _as(secure_deployment, principal)
        no_read = [t for t in topics if (principal, "READ", t) not in grants]
        no_write = [t for t in topics if (principal, "WRITE", t) not in grants]
        no_describe = [t for t in no_read if t in no_write]
        client = await _client(creds)
        try:
            if no_read:  # one real Fetch of partition 0 of each
                response: Any = await client.send(_node(client), FetchRequest(0, 1, 1 << 20, 0,
                                                                             [(t, [(0, 0, 1024)]) for t in no_read]))
                for topic, parts, *_ in response.topics:
                    _tally("topic read", f"{principal} read {topic}", parts[0][1] == NO_ERROR)
            if no_describe:  # metadata names the topics one by one
                meta: Any = await client.send(_node(client), MetadataRequest(no_describe))
                for error_code, topic, *_ in meta.topics:
                    _tally("topic describe", f"{principal} described {topic}", error_code == NO_ERROR)
        finally:
            await client.close()
        producer = AIOKafkaProducer(request_timeout_ms=TIMEOUT_MS, acks="all", enable_idempotence=False,
                                    **creds.kafka_client_kwargs())
        await producer.start()
        try:
            for topic in no_write:
                try:
                    await producer.send_and_wait(topic, b"attack", key=b"attack")
                    written = True
                except TopicAuthorizationFailedError:
                    written = False
                _tally("topic write", f"{principal} wrote {topic}", written)
        finally:
            await producer.stop()
    assert not SUCCESSES, SUCCESSES[:20]


# --- consumer groups -------------------------------------------------------------------------------------
def _owned_groups(settings: HubSettings) -> dict[str, set[str]]:
    """principal -> the consumer group names the deployment gives it (a prefix grant: the prefix itself)."""
    owned: dict[str, set[str]] = {}
    for rule in plan(DEFAULT_CATALOG, settings.topic_prefix, settings.app_id):
        if rule.resource_type == GROUP:
            owned.setdefault(rule.principal, set()).add(rule.name)
    owned.setdefault("hub", set()).add(f"{settings.app_id}-credit-sequencer")
    return owned


async def test_no_principal_joins_a_consumer_group_of_another(secure_deployment: SecureDeployment) -> None:
    """FindCoordinator needs Describe on the group, joining needs Read: refused for every foreign group (also
    when one agency code is a prefix of another: cmb / cmbc, boc / bocom)."""
    owned = _owned_groups(secure_deployment.settings)
    assert {"bank-cmb", "bank-cmbc", "bank-boc", "bank-bocom"} <= owned.keys()
    for principal in principals(DEFAULT_CATALOG):
        foreign = sorted({g for other, groups in owned.items() if other != principal for g in groups}
                         - owned.get(principal, set()))
        client = await _client(_as(secure_deployment, principal))
        try:
            for group in foreign:
                response: Any = await client.send(_node(client), FindCoordinatorRequest(group, 0))
                _tally("consumer group", f"{principal} found the coordinator of {group}",
                       response.error_code == NO_ERROR)
        finally:
            await client.close()
    assert not SUCCESSES, SUCCESSES[:20]


# --- administration ----------------------------------------------------------------------------------------
async def test_no_principal_but_admin_creates_deletes_or_reconfigures_topics_or_changes_acls(
        secure_deployment: SecureDeployment) -> None:
    settings = secure_deployment.settings
    audit, victim = settings.topic("ops.audit"), settings.topic("agency.icbc.inbox")
    for principal in principals(DEFAULT_CATALOG):
        creds = _as(secure_deployment, principal)
        admin = AIOKafkaAdminClient(request_timeout_ms=TIMEOUT_MS, **creds.kafka_client_kwargs())
        await admin.start()
        try:
            created: Any = await admin.create_topics([NewTopic(settings.topic(f"attack.{principal}"), 1, 1)])
            _tally("administration", f"{principal} created a topic", created.topic_errors[0][1] == NO_ERROR)
            deleted: Any = await admin.delete_topics([victim])
            _tally("administration", f"{principal} deleted {victim}", deleted.topic_error_codes[0][1] == NO_ERROR)
        finally:
            await admin.close()
        client = await _client(creds)
        try:
            node = _node(client)
            acl = CreateAclsRequest(ACL_TOPIC, audit, ACL_LITERAL, f"User:{principal}", "*", ACL_READ, ACL_ALLOW)
            made: Any = await client.send(node, acl)
            _tally("administration", f"{principal} added an ACL", made.creation_responses[0][0] == NO_ERROR)
            gone: Any = await client.send(node, DeleteAclsRequest(ACL_ANY, "", ACL_ANY, "", "", ACL_ANY, ACL_ANY))
            _tally("administration", f"{principal} deleted ACLs", gone.filter_responses[0][0] == NO_ERROR)
            for rtype, name, key in ((CONFIG_TOPIC, audit, "retention.ms"),
                                     (CONFIG_BROKER, "1", "log.cleaner.threads")):
                altered: Any = await client.send(node, AlterConfigsRequest([(rtype, name, [(key, "1")])]))
                _tally("administration", f"{principal} altered {name} {key}", altered.resources[0][0] == NO_ERROR)
        finally:
            await client.close()
    assert not SUCCESSES, SUCCESSES[:20]


# --- the controller port -----------------------------------------------------------------------------------
def _controller(deployment: SecureDeployment, **over: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"bootstrap_servers": f"127.0.0.1:{deployment.settings.controller_port}",
                              "request_timeout_ms": TIMEOUT_MS, "connections_max_idle_ms": 10_000}
    kwargs.update(over)
    return kwargs


async def _controller_attempt(kwargs: dict[str, Any]) -> bool:
    """Connect to the controller port and ask it to describe the cluster: True if it answered."""
    admin = AIOKafkaAdminClient(**kwargs)
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await admin.close()


def _kafka_tool(deployment: SecureDeployment, tmp_path: Path, config: str, *args: str) -> bool:
    """Run one of Kafka's own admin tools against the controller port; True if it succeeded."""
    properties = tmp_path / f"client-{abs(hash(config))}.properties"
    properties.write_text("request.timeout.ms=4000\ndefault.api.timeout.ms=8000\n"
                          "socket.connection.setup.timeout.ms=2000\n" + config, encoding="utf-8")
    properties.chmod(0o600)
    out = subprocess.run(
        ["java", "-Xmx128m", "-cp", deployment.broker.dist.classpath(), *args[:1], "--bootstrap-controller",
         f"127.0.0.1:{deployment.settings.controller_port}", "--command-config", str(properties), *args[1:]],
        capture_output=True, text=True, timeout=120, check=False)
    return out.returncode == 0


async def test_the_controller_port_answers_only_the_controllers_own_login(secure_deployment: SecureDeployment,
                                                                         tmp_path: Path) -> None:
    """No anonymous super user: with Kafka's own tools and no credentials the controller port neither shows
    nor changes anything; a wrong password or a client's SCRAM login (admin's included) is refused."""
    bank = _as(secure_deployment, "bank-icbc")
    admin_password = secure_deployment.broker.admin_password() or ""
    logins = {
        "wrong controller password": _controller(
            secure_deployment, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
            sasl_plain_username=CONTROLLER_USER, sasl_plain_password="guess"),  # noqa: S106 - a wrong guess
        "a bank's SCRAM login": _controller(
            secure_deployment, security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username="bank-icbc",
            sasl_plain_password=bank.sasl_password.get_secret_value() if bank.sasl_password else ""),
        "admin's SCRAM login": _controller(
            secure_deployment, security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username="admin", sasl_plain_password=admin_password),
        "admin's password over PLAIN": _controller(
            secure_deployment, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
            sasl_plain_username="admin", sasl_plain_password=admin_password),
    }
    for label, kwargs in logins.items():
        _tally("controller port", label, await _controller_attempt(kwargs))
    # the 2026 report's attempts, with Kafka's own tools and no credentials
    inbox = secure_deployment.settings.topic("agency.cmbc.inbox")
    anonymous = {
        "describe broker configs": ("kafka.admin.ConfigCommand", "--describe", "--entity-type", "brokers"),
        "alter a broker config": ("kafka.admin.ConfigCommand", "--alter", "--entity-type", "brokers",
                                  "--entity-default", "--add-config", "log.cleaner.threads=2"),
        "add an ACL": ("kafka.admin.AclCommand", "--add", "--allow-principal", "User:bank-cmb", "--operation",
                       "Read", "--topic", inbox),
        "describe the quorum": ("org.apache.kafka.tools.MetadataQuorumCommand", "describe", "--status"),
    }
    for label, args in anonymous.items():
        _tally("controller port", f"{label} without credentials",
               _kafka_tool(secure_deployment, tmp_path, "", *args))
    assert not SUCCESSES, SUCCESSES[:20]
    # the control: the same tool with the controller's own login works (the refusals are not vacuous)
    password = (secure_deployment.broker.secrets_dir / "controller.password").read_text(encoding="utf-8").strip()
    login = ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
             "org.apache.kafka.common.security.plain.PlainLoginModule required "
             f'username="{CONTROLLER_USER}" password="{password}";\n')
    assert _kafka_tool(secure_deployment, tmp_path, login, "kafka.admin.ConfigCommand", "--describe",
                       "--entity-type", "brokers")


async def test_a_wrong_or_missing_password_gets_nothing_on_the_client_port(
        secure_deployment: SecureDeployment) -> None:
    settings = secure_deployment.settings
    variants = {
        "no credentials": settings.model_copy(update={"security_protocol": "PLAINTEXT"}),
        "wrong password": _as(secure_deployment, "bank-icbc").model_copy(
            update={"sasl_password": SecretStr("not-the-password")}),
        "unknown user": admin_settings(settings, "x").model_copy(update={"sasl_username": "mallory"}),
    }
    for label, creds in variants.items():
        producer = AIOKafkaProducer(request_timeout_ms=TIMEOUT_MS, **creds.kafka_client_kwargs())
        try:
            await producer.start()
            await producer.send_and_wait(settings.topic("court.requests"), b"x", key=b"x")
            written = True
        except (KafkaError, OSError, TimeoutError):
            written = False
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await producer.stop()
        _tally("client port", label, written)
    assert not SUCCESSES, SUCCESSES[:20]


# --- the worker's HTTP port --------------------------------------------------------------------------------
PRIVATE_PAGES = ("/requests", "/requests?court=京0105", "/requests/any-id", "/clock", "/table/requests/x/",
                 "/table/", "/router/", "/graph/", "/", "/stats/", "/performance/", "/signal/")


def test_no_page_but_health_ready_and_metrics_answers_without_the_token(hub_worker: WorkerProcess) -> None:
    """Without a token, with a wrong one, or with another deployment's: 401, never a row (resident IDs)."""
    someone_elses = "a-token-of-another-deployment-0123456789"
    for path in PRIVATE_PAGES:
        url = hub_worker.base_url + urllib.parse.quote(path, safe="/?=&")
        for label, token in (("no token", None), ("wrong token", "x" * 32), ("another deployment's", someone_elses)):
            status, _ = http_json(url, token=token)
            _tally("http", f"GET {path} with {label}: {status}", status == 200)
            if path == "/clock":
                status, _ = http_json(url, data={"advance_seconds": 3600}, token=token)
                _tally("http", f"POST {path} with {label}: {status}", status == 200)
    assert not SUCCESSES, SUCCESSES[:20]
    assert hub_worker.http("/requests")[0] == 200  # the control: with the deployment's own token it answers


# --- files --------------------------------------------------------------------------------------------------
def test_nothing_under_the_data_dir_is_readable_by_another_local_user(secure_deployment: SecureDeployment) -> None:
    """Kafka's segments hold resident ID numbers: past every ACL if another user could read them."""
    root = Path(secure_deployment.settings.data_dir)
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        _tally("files", f"{path.relative_to(root.parent)} is {mode:o}", bool(mode & 0o077))
    assert not SUCCESSES, SUCCESSES[:20]


def test_attack_suite_totals(secure_deployment: SecureDeployment) -> None:
    """The figures of the closing note: attempts by category, and 0 successes."""
    total = sum(ATTEMPTS.values())
    lines = [f"  {category:<16} {n:>6} attempts" for category, n in sorted(ATTEMPTS.items())]
    print(f"\nattack suite: {total} attempts, {len(SUCCESSES)} succeeded\n" + "\n".join(lines))
    assert not SUCCESSES
    assert total >= MIN_ATTEMPTS, f"only {total} attempts: the suite no longer covers the catalog"
    assert {"topic read", "topic write", "topic describe", "consumer group", "administration", "controller port",
            "client port", "http", "files"} <= ATTEMPTS.keys()

