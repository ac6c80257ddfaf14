"""Integration-tier fixtures: one secure deployment (SASL/SCRAM, ACLs from the catalog) per session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hub.broker.server import LocalBroker
from hub.process import settings_env
from hub.security.users import admin_settings
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from tests.conftest import SettingsFactory, stop_at_exit


@dataclass(frozen=True)
class SecureDeployment:
    settings: HubSettings  # the hub's principal (no credentials: see CredentialStore.settings_for)
    broker: LocalBroker
    apply_output: str  # what `interop-hub security apply` printed


@pytest.fixture(scope="session")
def secure_deployment(new_broker_settings: SettingsFactory) -> Iterator[SecureDeployment]:
    """A broker started ``--secure`` with every catalog topic, a SCRAM user per principal and the ACLs."""
    settings = new_broker_settings(security_protocol="SASL_PLAINTEXT", app_id="hub-sec")
    broker = LocalBroker(settings, secure=True)
    stop_at_exit(broker)
    try:
        broker.start()
        password = broker.admin_password()
        assert password
        asyncio.run(apply_catalog(settings.catalog, admin_settings(settings, password)))
        env = {**os.environ, **settings_env(settings)}
        result = subprocess.run(
            [sys.executable, "-m", "hub", "security", "apply"], env=env, capture_output=True, text=True,
            timeout=240, check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        yield SecureDeployment(settings, broker, result.stdout)
    finally:
        broker.stop()
