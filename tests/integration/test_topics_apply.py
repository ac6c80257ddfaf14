"""`interop-hub topics apply` on the real broker: creates, aligns, and is idempotent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hub.process import settings_env
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from topics.catalog import DEFAULT_CATALOG, Role


def _cli(settings: HubSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], env={**os.environ, **settings_env(settings)},
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_second_apply_changes_nothing_and_says_so(new_broker_settings, local_broker) -> None:
    settings = local_broker.settings.model_copy(update={"topic_prefix": "idem."})
    first = _cli(settings, "topics", "apply")
    assert first.returncode == 0, first.stderr
    assert f"{len(DEFAULT_CATALOG)} created" in first.stdout
    second = _cli(settings, "topics", "apply")
    assert second.returncode == 0, second.stderr
    assert "no change: all" in second.stdout and "created" not in second.stdout


async def _retention(admin: AIOKafkaAdminClient, topic: str, want: str, timeout: float = 10.0) -> str:
    """retention.ms of ``topic``, polled: KRaft propagates config changes asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        cfg = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {c["config_names"]: c["config_value"]
                   for c in cfg[0].to_object()["resources"][0]["config_entries"]}
        # right after creation the broker may not describe the topic yet: poll
        if entries.get("retention.ms") == want or time.monotonic() > deadline:
            return str(entries.get("retention.ms"))
        await asyncio.sleep(0.2)


def test_apply_realigns_drifted_config_and_partitions(local_broker) -> None:
    settings = local_broker.settings.model_copy(update={"topic_prefix": "drift."})
    asyncio.run(apply_catalog(settings.catalog, settings))
    history = settings.topic(DEFAULT_CATALOG.one(Role.LIST_HISTORY).name)
    requests = settings.topic(DEFAULT_CATALOG.one(Role.COURT_REQUESTS).name)

    async def drift_and_read() -> tuple[str, int]:
        from aiokafka.admin import NewPartitions

        admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
        await admin.start()
        try:
            (resp,) = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, history,
                                                                configs={"retention.ms": "1000"})])
            assert resp.to_object()["resources"][0]["error_code"] == 0
            assert await _retention(admin, history, want="1000") == "1000"
            report = await apply_catalog(settings.catalog, settings)
            assert [t for t, _ in report.configs_altered] == [history]
            assert report.configs_altered[0][1]["retention.ms"] == ("1000", "-1")
            await admin.create_partitions({requests: NewPartitions(6)})
            drift = await apply_catalog(settings.catalog, settings)
            assert any("cannot shrink" in d for d in drift.drift)
            parts = (await admin.describe_topics([requests]))[0]["partitions"]
            return await _retention(admin, history, want="-1"), len(parts)
        finally:
            await admin.close()

    retention, partitions = asyncio.run(drift_and_read())
    assert retention == "-1"
    assert partitions == 6


def test_topics_list_prints_the_catalog(broker_settings) -> None:
    out = _cli(broker_settings, "topics", "list")
    assert out.returncode == 0
    assert f"{broker_settings.topic_prefix}agency.icbc.inbox" in out.stdout
    assert f"{len(DEFAULT_CATALOG)} topics" in out.stdout
