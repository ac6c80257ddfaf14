"""The dishonest-debtor list as a pure state machine over publications, and its digest.

The hub and every consumer (credit platform, joint-punishment units, ``interop-agency credit replay``)
apply ListEvents with :func:`ListState.apply`, so a copy rebuilt from the history topic is the
hub's list by construction, and :func:`list_digest` proves it.

List digest (``ListEvent.list_digest``, ``ListAck.list_digest``), version 1: defined in the docstring
of :func:`list_digest`, the one function that computes it from scratch; :class:`DigestAccumulator`
maintains the same value incrementally (O(1) per publication).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from hub.errors import ListDigestMismatch, ValidationError
from hub.flows.credit.rows import epoch_ms

DIGEST_DOMAIN = b"cn.court.interop.credit.list/v1\n"
_HASH_BYTES = 128
_MODULUS = 1 << (8 * _HASH_BYTES)
IN_FORCE_ACTIONS = frozenset({"LIST", "CORRECT", "EXTEND"})
REMOVING_ACTIONS = frozenset({"REVOKE", "DELETE"})

Entry = dict[str, Any]


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError("naive datetime in a list entry", field="entry")
        return int(value.astimezone(UTC).timestamp() * 1000)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The canonical bytes of one ListingRecord datum (see the module docstring)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default).encode("utf-8")


def entry_hash(entry: Mapping[str, Any]) -> int:
    return int.from_bytes(hashlib.shake_256(canonical(entry)).digest(_HASH_BYTES), "big")


def _finish(size: int, accumulator: int) -> str:
    payload = DIGEST_DOMAIN + size.to_bytes(8, "big") + accumulator.to_bytes(_HASH_BYTES, "big")
    return hashlib.sha256(payload).hexdigest()


def list_digest(entries: Iterable[Mapping[str, Any]]) -> str:
    """The digest of a list, from scratch: the one definition every party uses (version 1).

    ``entries`` are the ``ListingRecord`` data of the listings **in force** (``ListEvent.entry`` /
    ``ListEntry.record`` of each listing whose ``in_force`` is true), in any order.

    1. Canonical form of an entry: the datum as a JSON object, UTF-8 encoded, no whitespace
       (separators ``,`` and ``:``), object keys sorted by Unicode code point at every level, every field
       present.  Values: a string as itself (not ASCII-escaped: only ``"`` ``\\`` and U+0000-U+001F are
       escaped, as ``\\"`` ``\\\\`` ``\\b`` ``\\f`` ``\\n`` ``\\r`` ``\\t`` or ``\\u00xx`` with lower-case hex);
       an enum as its symbol; ``int``/``long`` as a decimal integer; ``boolean`` as ``true``/``false``;
       ``null`` as ``null``; a union as the value of its branch (no type wrapper); a record as an
       object; an array as an array in order; ``timestamp-millis`` as an integer of milliseconds since
       1970-01-01T00:00:00Z; ``date`` as a ``"YYYY-MM-DD"`` string; bytes as lower-case hex
       (``ListingRecord`` has no floating-point field).
    2. Entry hash: SHAKE-256 of the canonical bytes, 128 bytes of output, read as an unsigned
       big-endian integer.
    3. Accumulator: the sum of the entry hashes of all entries, modulo 2**1024 (a multiset hash:
       independent of order, so a publication adds and removes one entry hash).
    4. Digest: lower-case hex of SHA-256 over ``cn.court.interop.credit.list/v1`` followed by one line
       feed (32 bytes), then the number of entries as 8 bytes unsigned big-endian, then the accumulator as
       128 bytes unsigned big-endian.  64 hex characters.

    Test vector (``tests/unit/hub/flows/credit/test_list_digest.py`` checks it and the schema's copy):

    * the empty list: ``86580ed1bd617ead65e921acbe9495711461422644622889752c654f1c0b52c5``;
    * a list of one entry (a record cut down to a few fields: the algorithm takes whatever fields
      a record has) whose canonical form is
      ``{"content":{"subject":{"id_number":"11010519800101001X","name":"张三"}},"extension_years":0,``
      ``"listed_at":1735779600000,"listing_id":"L1","requested_by_creditor":false,"term_end":null,``
      ``"term_start":"2025-01-02"}`` (one line):
      ``2bc8099fbdd4befba1b3b2d2ca5265fecf65758e9755bdc1c8c292a82ca6c8bd``;
    * that entry and a second one,
      ``{"content":{"subject":{"id_number":"91110105MA01ABCD2X","name":"李四"}},"extension_years":1,``
      ``"listed_at":1735867800000,"listing_id":"L2","requested_by_creditor":true,"term_end":"2027-01-02",``
      ``"term_start":"2025-01-03"}``, in either order:
      ``0b7e35e41b54cfee1faf95aa2a25eadae3e29656022e89a028449fafc4dfb631``.
    """
    acc, size = 0, 0
    for entry in entries:
        acc = (acc + entry_hash(entry)) % _MODULUS
        size += 1
    return _finish(size, acc)


EMPTY_DIGEST = list_digest(())


@dataclass
class DigestAccumulator:
    """:func:`list_digest` maintained incrementally (add / remove one entry in O(1))."""

    size: int = 0
    value: int = 0
    _memo: tuple[int, int, str] = field(default=(0, 0, EMPTY_DIGEST), init=False, repr=False, compare=False)

    def add(self, entry: Mapping[str, Any]) -> int:
        """Add an entry; returns its hash (keep it to remove the entry cheaply)."""
        h = entry_hash(entry)
        self.add_hash(h)
        return h

    def add_hash(self, h: int) -> None:
        self.value = (self.value + h) % _MODULUS
        self.size += 1

    def remove(self, entry: Mapping[str, Any]) -> None:
        self.remove_hash(entry_hash(entry))

    def remove_hash(self, h: int) -> None:
        self.value = (self.value - h) % _MODULUS
        self.size -= 1

    def hexdigest(self) -> str:
        size, value, digest = self._memo  # the digest of the last state asked about, reused while unchanged
        if size != self.size or value != self.value:
            digest = _finish(self.size, self.value)
            self._memo = (self.size, self.value, digest)
        return digest


def subject_key(entry: Mapping[str, Any]) -> str:
    """Whom a listing is about: the subject's ID number or credit code, upper-cased."""
    return str(entry["content"]["subject"]["id_number"]).strip().upper()


@dataclass
class Removal:
    """A listing no longer in force: how it stood and how it ended."""

    entry: Entry
    action: str
    at_ms: int
    publication_id: int
    deletion_ground: str | None


class PublicationOrderError(ListDigestMismatch):
    """A publication arrived out of order (a gap): the copy cannot be trusted until replayed."""

    code = "publication_gap"


@dataclass
class ListState:
    """The list after a sequence of publications (shared by the hub and every consumer)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    removed: dict[str, Removal] = field(default_factory=dict)
    by_subject: dict[str, set[str]] = field(default_factory=dict)
    hashes: dict[str, int] = field(default_factory=dict)  # listing id -> entry hash of the entry in force
    decisions: dict[str, int] = field(default_factory=dict)  # decision request id -> publication id
    #: (subject, case number) -> when a deletion on ground art. 10(三) was decided (ms): the 6-month bar
    creditor_deletions: dict[tuple[str, str], int] = field(default_factory=dict)
    last_publication_id: int = 0
    last_published_at_ms: int = 0
    digest: DigestAccumulator = field(default_factory=DigestAccumulator)

    @property
    def size(self) -> int:
        return len(self.entries)

    def hexdigest(self) -> str:
        return self.digest.hexdigest()

    def apply(self, body: Mapping[str, Any], *, verify: bool = True) -> bool:
        """Apply one ListEvent body; False if it was already applied (a re-delivery).

        With ``verify`` the published ``list_digest`` and ``list_size`` must match this copy.  Everything
        that can fail on the event itself (order, timestamps, the entry's canonical form) is computed before
        the first change, so an event that cannot be applied leaves the state as it was.
        """
        pub = int(body["publication_id"])
        if pub <= self.last_publication_id:
            return False
        if pub != self.last_publication_id + 1:
            raise PublicationOrderError(
                f"publication {pub} follows {self.last_publication_id}: replay from the log", field="publication_id")
        lid, action, entry = str(body["listing_id"]), str(body["action"]), body.get("entry")
        published_ms = epoch_ms(body["published_at"])
        decided_ms = epoch_ms(body["decided_at"]) if action == "DELETE" else 0
        in_force = action in IN_FORCE_ACTIONS and entry is not None and body.get("in_force", True)
        new_hash = entry_hash(entry) if in_force and entry is not None else None
        old = self.entries.get(lid)
        if old is not None:
            self.digest.remove_hash(self.hashes.pop(lid))
        stored: Entry | None
        if new_hash is not None and entry is not None:
            stored = dict(entry)
            self.entries[lid] = stored
            self.digest.add_hash(new_hash)
            self.hashes[lid] = new_hash
            self.removed.pop(lid, None)
        else:
            self.entries.pop(lid, None)
            stored = dict(entry) if entry is not None else old
            if stored is not None:
                self.removed[lid] = Removal(stored, action, published_ms, pub, body.get("deletion_ground"))
        if stored is not None:
            key = subject_key(stored)
            listings = self.by_subject.get(key)
            if listings is None:
                self.by_subject[key] = {lid}
            else:
                listings.add(lid)
        if action == "DELETE" and body.get("deletion_ground") == "CREDITOR_APPLICATION" and stored is not None:
            case = str(stored["content"]["case"]["case_number"])
            self.creditor_deletions[(subject_key(stored), case)] = decided_ms
        self.decisions[str(body["decision_request_id"])] = pub
        self.last_publication_id = pub
        self.last_published_at_ms = published_ms
        if verify and body.get("list_digest") is not None:
            mine = self.hexdigest()
            if mine != body["list_digest"] or int(body["list_size"]) != self.size:
                raise ListDigestMismatch(
                    f"after publication {pub} this copy has {self.size} listings and digest {mine}, "
                    f"the hub published {body['list_size']} and {body['list_digest']}", field="list_digest")
        return True

    def listings_of(self, subject_id: str) -> list[str]:
        return sorted(self.by_subject.get(subject_id.strip().upper(), ()))
