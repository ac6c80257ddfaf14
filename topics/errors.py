"""The one root of every error raised on purpose, and the catalog's own errors.

``topics`` is the bottom layer (topics <- hub <- agents), so the root lives here and every layer's errors
derive from it (:mod:`hub.errors` has the rest).  Whether an operation may be retried is a class
attribute (like aiokafka's ``KafkaError.retriable``), never decided by parsing message text.  ``code``
is a stable machine-readable identifier used in error replies, dead-letter headers and metric labels.
"""

from __future__ import annotations


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    retriable: bool = False
    code: str = "hub_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message


class CatalogError(HubError):
    """A name, role or table that is not in the catalog, or a catalog that contradicts itself."""

    code = "catalog_error"
