"""The Kafka record headers the hub sets on what it produces, as the contract declares them.

Two kinds of record carry headers (everything else the hub produces has none):

* a court's request the hub forwards to an agency carries ``delivered-at`` (:data:`hub.outbound.DELIVERED_AT`,
  set by :mod:`hub.flows.delivery`): the moment the request reached the hub, from which the agency's deadline
  runs (000 §16), in epoch milliseconds as ASCII decimal;
* a dead letter on ``ops.deadletter`` carries its reason, error text, schema fingerprint and source
  (:mod:`hub.deadletter`), so operators can filter without decoding the record.

Every header value is bytes on the wire; each one here is ASCII or UTF-8 text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.deadletter import DEAD_LETTER
from hub.outbound import DELIVERED_AT
from topics.catalog import HUB, Role, TopicSpec


def hub_to_agency(spec: TopicSpec) -> bool:
    """A topic the hub writes to one agency (its inbox, or another lane of its own)."""
    return spec.agency is not None and HUB in spec.producers


def dead_letters(spec: TopicSpec) -> bool:
    return spec.role is Role.DEAD_LETTER


@dataclass(frozen=True, slots=True)
class RecordHeader:
    """One header: its name, what its value is, and on which topics' records the hub sets it.

    ``messages``: the message schemas that carry it (empty: any message on such a topic); ``always``: set on
    every record of those messages there (else only on some, said in ``description``)."""

    name: str
    description: str
    on: Callable[[TopicSpec], bool]
    messages: frozenset[str] = frozenset()
    pattern: str | None = None
    always: bool = True

    def applies_to(self, message: str) -> bool:
        return not self.messages or message in self.messages


HEADERS: tuple[RecordHeader, ...] = (
    RecordHeader(
        DELIVERED_AT,
        "when the request reached the hub (000 §16: the agency's deadline runs from it), epoch milliseconds in "
        "ASCII decimal; set by the hub on every court request it forwards to an agency (a resend carries the "
        "first delivery's time)",
        hub_to_agency, pattern="^[0-9]+$", always=False,
    ),
    RecordHeader("reason", "the error code of why the record was dead-lettered (e.g. corrupt_payload, no_route)",
                 dead_letters, frozenset({DEAD_LETTER})),
    RecordHeader("error", "the error text, UTF-8, at most 1,024 bytes", dead_letters, frozenset({DEAD_LETTER})),
    RecordHeader("fingerprint", "the CRC-64-AVRO fingerprint the original record named, 16 lowercase hex digits, "
                 "or empty when it named none", dead_letters, frozenset({DEAD_LETTER}), pattern="^([0-9a-f]{16})?$"),
    RecordHeader("source", "<topic>/<partition>/<offset> of the original record (also the dead letter's key)",
                 dead_letters, frozenset({DEAD_LETTER})),
)
