"""What the key of each catalog topic's records is: a UTF-8 string, named by the catalog (``TopicSpec.key``).

The catalog says *which* value keys a topic (``case_number``, ``listing_id``, ...); this says what that
value looks like on the wire, for the contract.  A table changelog's key is whatever the table is keyed by,
JSON-encoded by faust (its ``json`` key serializer), so a request id ``r1`` is the 4 bytes ``"r1"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from topics.catalog import Role, TopicSpec


@dataclass(frozen=True, slots=True)
class RecordKey:
    """The key of a topic's records: the catalog's name for it and what its bytes are."""

    name: str
    description: str


#: catalog key name -> what the key's bytes are (every topic but the table changelogs)
KEY_MEANINGS: dict[str, str] = {
    "case_number": (
        "the enforcement case number (案号) in canonical form, UTF-8, e.g. （2024）京0105执1234号 (full-width "
        "parentheses, ASCII digits); every co-partitioned hub topic is keyed by it, so a case's requests, replies "
        "and table rows share one partition number; agencies answer with the key of the request"
    ),
    "listing_id": (
        "the listing id of a dishonest-debtor list entry (失信名单条目), UTF-8; on the compacted "
        "credit.list.current a record with this key and no value (a tombstone) removes the listing"
    ),
    "anomaly_id": "the anomaly's id, UTF-8",
    "source": "<topic>/<partition>/<offset> of the record that was dead-lettered, UTF-8",
    "chain": "the audit chain: the number of the hub partition it records, in ASCII decimal",
    "partition": "the hub partition the tick is for, in ASCII decimal (the record goes to that partition)",
    "agency/key_id": "<agency code>/<key id> of a published sealing key, UTF-8",
    "court_code": "the court's code (法院代字, e.g. 京0105), UTF-8; a tombstone removes a court that left the registry",
}


def record_key(spec: TopicSpec) -> RecordKey:
    """The key of ``spec``'s records (a key :data:`KEY_MEANINGS` lacks is described by its catalog name alone)."""
    if spec.role is Role.TABLE_CHANGELOG:
        return RecordKey(spec.key, "the table's key as a JSON string (faust's json key serializer)")
    return RecordKey(spec.key, KEY_MEANINGS.get(spec.key, f"the record's {spec.key}, UTF-8"))
