"""What each catalog topic's record key is, for the contract."""

from __future__ import annotations

from hub.contract.record_keys import KEY_MEANINGS, record_key
from topics.catalog import DEFAULT_CATALOG, Role


def test_every_key_the_catalog_names_is_described() -> None:
    """A new kind of key needs a line in hub/contract/record_keys.py (changelog keys are the tables' own)."""
    keys = {spec.key for spec in DEFAULT_CATALOG if spec.role is not Role.TABLE_CHANGELOG}
    assert keys <= set(KEY_MEANINGS), f"describe {sorted(keys - set(KEY_MEANINGS))} in KEY_MEANINGS"


def test_a_changelog_key_is_the_tables_key_as_a_json_string() -> None:
    key = record_key(DEFAULT_CATALOG.get("hub.table.requests"))
    assert key.name == "request_id" and "JSON string" in key.description
