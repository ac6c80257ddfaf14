"""The contract's document, built once per module from the production catalog and the schemas."""

from __future__ import annotations

from typing import Any

import pytest

from hub.codec import SchemaRegistry
from hub.contract.asyncapi import build_document
from hub.contract.commands import DEFAULT_APP_ID
from schemas import SCHEMA_DIR
from topics.catalog import DEFAULT_CATALOG


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_document(DEFAULT_CATALOG, SCHEMA_DIR, version="0.0.0", app_id=DEFAULT_APP_ID, kafka_version="3.9.1")


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.from_dir(SCHEMA_DIR)
