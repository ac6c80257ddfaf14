"""The record headers the contract declares are those the hub sets: ``delivered-at`` on what it forwards to an
agency (000 §16), and a dead letter's reason, error, fingerprint and source."""

from __future__ import annotations

from typing import Any

from hub.contract.asyncapi import TABLE_ROW
from hub.deadletter import DEAD_LETTER
from hub.memory_backend import MemoryHub
from hub.outbound import DELIVERED_AT


def test_a_request_forwarded_to_an_agency_declares_delivered_at_in_epoch_milliseconds_000_s16(
        doc: dict[str, Any]) -> None:
    """000 §16: the delivery time travels in a header the hub sets on the agency's topic, not on court.requests."""
    headers = doc["components"]["messages"]["FreezeRequest"]["headers"]
    header = headers["properties"][DELIVERED_AT]
    assert header["pattern"] == "^[0-9]+$" and "agency.<code>.inbox" in header["description"]
    assert "court.requests" not in header["description"]
    assert "required" not in headers  # the same message on court.requests has none
    assert "headers" not in doc["components"]["messages"][TABLE_ROW]


async def test_the_dead_letter_headers_are_those_the_hub_sets(bare_hub: MemoryHub, doc: dict[str, Any]) -> None:
    await bare_hub.receive("court.requests", b"k", b"\xc3\x01not avro at all", partition=2)
    [sent] = bare_hub.sender.on("ops.deadletter")
    declared = doc["components"]["messages"][DEAD_LETTER.rpartition(".")[2]]["headers"]["properties"]
    assert {name for name, _ in sent.headers} == set(declared) - {DELIVERED_AT}
    assert "ops.deadletter" in declared["reason"]["description"]
    values = dict(sent.headers)
    assert values["source"] == b"court.requests/2/0"
    assert values["fingerprint"] == b"not avro".hex().encode()  # the 8 bytes after C3 01, as 16 hex digits
