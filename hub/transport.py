"""What the hub's code needs of Kafka, as interfaces: a sender and a row table (see :mod:`hub.worker_app`
for faust's, :mod:`hub.memory_backend` for the in-process ones)."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import Any, Protocol

Headers = list[tuple[str, bytes]]


class Sender(Protocol):
    """Produces records; every producer behind it is ``acks=all`` and idempotent."""

    async def send(self, topic: str, key: bytes | None, value: bytes | None, *, partition: int | None = None,
                   headers: Headers | None = None) -> Awaitable[int]:
        """Enqueue a record; the returned awaitable gives its offset once the broker acknowledged it."""
        ...

    async def send_soon(self, topic: str, key: str, value: bytes, headers: Headers | None = None) -> None:
        """Enqueue without waiting (the hot path): a send that fails for good stops this worker's commits."""
        ...


async def send_acked(sender: Sender, topic: str, key: str, value: bytes, headers: Headers | None = None) -> int:
    """Produce and wait for the broker's acknowledgement; the record's offset."""
    return await (await sender.send(topic, key.encode(), value, headers=headers))


class RowTable(Protocol):
    """A table of JSON rows by id, written while processing a record of the row's partition."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...

    def __delitem__(self, key: str) -> None: ...

    def items(self) -> Any: ...

    def values(self) -> Any: ...

    def __iter__(self) -> Iterator[str]: ...


def open_rows(table: RowTable, partition: int) -> list[tuple[str, dict[str, Any]]]:
    """Rows of ``table`` that belong to ``partition`` (rows record their partition as ``p``)."""
    return [(k, v) for k, v in table.items() if isinstance(v, dict) and v.get("p") == partition]
