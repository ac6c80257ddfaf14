"""The rendered configuration of the local single-node broker (pure functions, no JVM)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from hub.broker.config import (
    BrokerConfig,
    jaas_config,
    new_cluster_id,
    parse_bootstrap_port,
    render_client_properties,
    render_scram_config_file,
    render_server_properties,
    scram_credential_spec,
)
from hub.broker.dist import KafkaDistribution, render_pom
from hub.errors import BrokerDistributionError, ConfigError


def parse_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        assert key not in props, f"duplicate key {key}"
        props[key] = value
    return props


LOG_DIR = Path("/data/hub/kafka-logs")


def plain() -> dict[str, str]:
    return parse_properties(
        render_server_properties(BrokerConfig(port=19092, controller_port=19093, log_dir=LOG_DIR))
    )


TEST_PASSWORD = "s3cret-Pw_1"  # noqa: S105 - fixture value


def secure(password: str = TEST_PASSWORD) -> dict[str, str]:
    config = BrokerConfig(
        port=19092, controller_port=19093, log_dir=LOG_DIR, secure=True, admin_password=password,
        controller_password="ctl-pw",  # noqa: S106 - a test value
    )
    return parse_properties(render_server_properties(config))


def test_plain_mode_is_a_combined_kraft_node_on_loopback() -> None:
    props = plain()
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    assert props["log.dirs"] == str(LOG_DIR)


def test_plain_mode_has_single_node_replication_settings() -> None:
    """Without replication factor 1 and min ISR 1 the group and transaction coordinators never start."""
    props = plain()
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "offsets.topic.num.partitions",
        "transaction.state.log.num.partitions",
        "num.partitions",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.cleaner.dedupe.buffer.size"] == "33554432"
    assert props["message.max.bytes"] == str(2 * 1024 * 1024)


def test_plain_mode_has_no_security_settings() -> None:
    props = plain()
    assert not any(key.startswith(("sasl.", "listener.name.")) for key in props)
    assert "authorizer.class.name" not in props
    assert "super.users" not in props


def test_secure_mode_uses_sasl_scram_listener_and_standard_authorizer() -> None:
    props = secure()
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:19092"
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["listener.name.sasl_plaintext.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"


def test_secure_mode_controller_listener_authenticates_and_nobody_is_anonymous() -> None:
    """No door without a login: the controller port takes SASL/PLAIN as `controller` only; no ANONYMOUS."""
    props = secure()
    assert props["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["listener.name.controller.plain.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" '
        'password="ctl-pw" user_controller="ctl-pw";')
    assert props["super.users"] == "User:admin;User:controller"
    assert not [v for v in props.values() if "ANONYMOUS" in v]
    with pytest.raises(ConfigError):  # secure without the controller's password
        render_server_properties(BrokerConfig(port=1, controller_port=2, log_dir=LOG_DIR, secure=True,
                                              admin_password=TEST_PASSWORD))


def test_secure_mode_inter_broker_login_is_admin_with_its_password() -> None:
    props = secure("pw-123")
    jaas = props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
    assert jaas == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="pw-123";'
    )


def test_secure_mode_without_admin_password_is_refused() -> None:
    with pytest.raises(ConfigError):
        render_server_properties(BrokerConfig(port=1, controller_port=2, log_dir=LOG_DIR, secure=True))


def test_same_broker_and_controller_port_is_refused() -> None:
    with pytest.raises(ConfigError):
        render_server_properties(BrokerConfig(port=9092, controller_port=9092, log_dir=LOG_DIR))


def test_jaas_config_escapes_quotes_and_backslashes() -> None:
    assert jaas_config("a", 'p"q\\r').endswith('password="p\\"q\\\\r";')


def test_client_properties_authenticate_as_the_given_user() -> None:
    props = parse_properties(render_client_properties("admin", "pw"))
    assert props["security.protocol"] == "SASL_PLAINTEXT"
    assert props["sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'username="admin" password="pw";' in props["sasl.jaas.config"]


def test_scram_credential_spec_format() -> None:
    assert scram_credential_spec("pw", "admin") == "SCRAM-SHA-512=[name=admin,password=pw]"
    assert scram_credential_spec("pw") == "SCRAM-SHA-512=[password=pw]"


@pytest.mark.parametrize("bad", ["a,b", "a=b", "a]b", "a[b", 'a"b', "a\nb"])
def test_scram_credential_spec_rejects_characters_kafka_would_cut(bad: str) -> None:
    with pytest.raises(ConfigError):
        scram_credential_spec(bad, "admin")


def test_scram_config_file_holds_unbracketed_value() -> None:
    """ConfigCommand --add-config-file rejects the bracketed form used on the command line."""
    assert render_scram_config_file("pw", 8192) == "SCRAM-SHA-512=iterations=8192,password=pw\n"


@pytest.mark.parametrize(
    ("bootstrap", "port"),
    [("127.0.0.1:9092", 9092), ("localhost:19092", 19092), ("127.0.0.1:1234, 127.0.0.1:9", 1234)],
)
def test_bootstrap_port_is_taken_from_the_first_local_entry(bootstrap: str, port: int) -> None:
    assert parse_bootstrap_port(bootstrap) == port


@pytest.mark.parametrize("bootstrap", ["kafka.example.org:9092", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:0"])
def test_bootstrap_that_is_not_a_local_port_is_refused(bootstrap: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_bootstrap_port(bootstrap)
    assert info.value.field == "bootstrap_servers"


def test_cluster_id_looks_like_a_kafka_uuid() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")


def test_pom_pins_kafka_and_the_logging_backend() -> None:
    pom = render_pom("3.9.1")
    assert "@KAFKA_VERSION@" not in pom
    assert "<artifactId>kafka_2.13</artifactId>\n      <version>3.9.1</version>" in pom
    assert "<artifactId>slf4j-reload4j</artifactId>\n      <version>1.7.36</version>" in pom
    assert "<artifactId>reload4j</artifactId>\n      <version>1.2.25</version>" in pom


FAKE_MVN = """#!/bin/sh
echo run >> "$FAKE_MVN_CALLS"
if [ -n "$FAKE_MVN_FAIL" ]; then
  echo "[ERROR] Could not resolve dependencies for project local.interop-hub"
  exit 1
fi
for arg in "$@"; do
  case "$arg" in
    -DoutputDirectory=*) out="${arg#-DoutputDirectory=}" ;;
  esac
done
mkdir -p "$out" && touch "$out/kafka_2.13-3.9.1.jar" "$out/kafka-clients-3.9.1.jar"
"""


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``mvn`` on PATH that records its calls (the real fetch is covered by integration)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN)
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_MVN_CALLS", str(calls))
    monkeypatch.delenv("FAKE_MVN_FAIL", raising=False)
    return calls


def test_distribution_is_fetched_once_then_served_from_cache(fake_mvn: Path, tmp_path: Path) -> None:
    dist = KafkaDistribution("3.9.1", home=tmp_path / "kafka")
    libs = dist.ensure()
    assert (libs / "kafka_2.13-3.9.1.jar").is_file()
    assert dist.ensure() == libs
    assert KafkaDistribution("3.9.1", home=tmp_path / "kafka").classpath().split(":") == [
        str(libs / "kafka-clients-3.9.1.jar"),
        str(libs / "kafka_2.13-3.9.1.jar"),
    ]
    assert fake_mvn.read_text().splitlines() == ["run"], "mvn runs only for the first fetch"
    assert "<version>3.9.1</version>" in (tmp_path / "kafka" / "pom.xml").read_text()


def test_failed_fetch_raises_with_mvn_output_and_leaves_no_cache(
    fake_mvn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MVN_FAIL", "1")
    dist = KafkaDistribution("3.9.1", home=tmp_path / "kafka")
    with pytest.raises(BrokerDistributionError) as info:
        dist.ensure()
    assert "Could not resolve dependencies" in str(info.value)
    assert info.value.retriable
    assert not dist.is_cached()
    monkeypatch.delenv("FAKE_MVN_FAIL")
    assert (dist.ensure() / "kafka_2.13-3.9.1.jar").is_file(), "a later fetch succeeds"


def test_the_broker_indexes_every_mib_so_rarely_written_partitions_seldom_touch_their_index_pages() -> None:
    """A sweep writes to ~900 partitions a few times a minute; with an index entry per 4 KiB each write went into
    a memory-mapped index page the host had paged out, and the request handlers stalled on the faults."""
    for props in (plain(), secure()):
        assert props["log.index.interval.bytes"] == str(1024 * 1024)
