"""The Avro contracts of the hub: one ``<fullname>.avsc`` per type in ``schemas/avro``."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent / "avro"
COMMON_NAMESPACE_SUFFIX = ".common"
