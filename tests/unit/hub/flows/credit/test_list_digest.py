"""The list digest's documented definition: the test vector in ``list_digest``'s docstring and in the schema."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from hub.flows.credit.list_state import EMPTY_DIGEST, DigestAccumulator, canonical, list_digest
from schemas import SCHEMA_DIR

L1: dict[str, Any] = {
    "listing_id": "L1", "listed_at": datetime(2025, 1, 2, 1, 0, tzinfo=UTC), "term_start": date(2025, 1, 2),
    "term_end": None, "extension_years": 0, "requested_by_creditor": False,
    "content": {"subject": {"name": "张三", "id_number": "11010519800101001X"}},
}
L2: dict[str, Any] = {
    "listing_id": "L2", "listed_at": datetime(2025, 1, 3, 1, 30, tzinfo=UTC), "term_start": date(2025, 1, 3),
    "term_end": date(2027, 1, 2), "extension_years": 1, "requested_by_creditor": True,
    "content": {"subject": {"name": "李四", "id_number": "91110105MA01ABCD2X"}},
}
CANONICAL_L1 = ('{"content":{"subject":{"id_number":"11010519800101001X","name":"张三"}},"extension_years":0,'
                '"listed_at":1735779600000,"listing_id":"L1","requested_by_creditor":false,"term_end":null,'
                '"term_start":"2025-01-02"}')
CANONICAL_L2 = ('{"content":{"subject":{"id_number":"91110105MA01ABCD2X","name":"李四"}},"extension_years":1,'
                '"listed_at":1735867800000,"listing_id":"L2","requested_by_creditor":true,"term_end":"2027-01-02",'
                '"term_start":"2025-01-03"}')
EMPTY = "86580ed1bd617ead65e921acbe9495711461422644622889752c654f1c0b52c5"
ONE = "2bc8099fbdd4befba1b3b2d2ca5265fecf65758e9755bdc1c8c292a82ca6c8bd"
TWO = "0b7e35e41b54cfee1faf95aa2a25eadae3e29656022e89a028449fafc4dfb631"


def _by_the_text(canonical_forms: list[str]) -> str:
    """The digest computed from the written definition alone (steps 2-4), not with the hub's functions."""
    acc = sum(int.from_bytes(hashlib.shake_256(c.encode("utf-8")).digest(128), "big") for c in canonical_forms)
    payload = b"cn.court.interop.credit.list/v1\n" + len(canonical_forms).to_bytes(8, "big") + \
        (acc % (1 << 1024)).to_bytes(128, "big")
    return hashlib.sha256(payload).hexdigest()


def test_the_canonical_form_is_sorted_compact_utf8_with_epoch_millis_and_iso_dates() -> None:
    assert canonical(L1).decode("utf-8") == CANONICAL_L1
    assert canonical(L2).decode("utf-8") == CANONICAL_L2


def test_the_documented_vector_is_what_list_digest_and_the_written_steps_compute() -> None:
    assert list_digest([]) == EMPTY_DIGEST == EMPTY == _by_the_text([])
    assert list_digest([L1]) == ONE == _by_the_text([CANONICAL_L1])
    assert list_digest([L1, L2]) == list_digest([L2, L1]) == TWO == _by_the_text([CANONICAL_L2, CANONICAL_L1])
    acc = DigestAccumulator()
    acc.add(L2)
    acc.add(L1)
    assert acc.hexdigest() == TWO


def test_the_docstring_and_the_schema_carry_the_same_vector() -> None:
    doc = list_digest.__doc__ or ""
    schema = json.loads((SCHEMA_DIR / "cn.court.interop.credit.ListEvent.avsc").read_text(encoding="utf-8"))
    body = next(f for f in schema["fields"] if f["name"] == "body")["type"]
    field_doc = next(f for f in body["fields"] if f["name"] == "list_digest")["doc"]
    for text in (doc.replace("``\n      ``", ""), field_doc):
        for value in (EMPTY, ONE, TWO):
            assert value in text
    assert CANONICAL_L1 in field_doc and CANONICAL_L2 in field_doc
    unwrapped = " ".join(line.strip() for line in doc.splitlines()).replace("`` ``", "")
    assert CANONICAL_L1 in unwrapped and CANONICAL_L2 in unwrapped
