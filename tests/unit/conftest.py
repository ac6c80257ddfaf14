"""Fixtures of the unit tier: in-process hubs (the real context, intake and hooks, no Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from hub.memory_backend import MemoryHub
from hub.runtime import HubRuntime
from hub.settings import HubSettings

START = "2025-01-02T09:00:00+08:00"  # a Thursday, a working day


def memory_runtime(data_dir: Path) -> HubRuntime:
    settings = HubSettings(data_dir=data_dir, clock="manual", clock_start=START, max_message_bytes=16 * 1024)
    return HubRuntime.build(settings, registry=CollectorRegistry())


@pytest.fixture
def bare_hub(tmp_path: Path) -> MemoryHub:
    """The hub's core without any flow registered (tests register what they need)."""
    return MemoryHub(memory_runtime(tmp_path), flows=False)


@pytest.fixture
def full_hub(tmp_path: Path) -> MemoryHub:
    """The hub with every flow registered, as the worker runs it."""
    return MemoryHub(memory_runtime(tmp_path))
