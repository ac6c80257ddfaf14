"""A copy of the list from the compacted current list, verified against the history: the consistent cut.

``credit.list.current`` (compacted, one partition) holds each listing's latest ``ListEntry``;
``credit.list.history`` (one partition, kept forever) holds every ``ListEvent`` with the digest and size of
the whole list right after it.  The hub's single writer sends, for publication ``p`` of listing ``l``,
``ListEvent(p)`` to the history, then ``ListEntry(l, p)`` to the current list, then a tombstone of ``l`` if
``l`` left the list (:mod:`hub.flows.credit.publisher`).  So the current list is written in publication
order, and compaction keeps that order (it only drops records that a later record of the same key
supersedes).

What a reader of the current list gets is not the list at one publication: while it reads, the hub may
publish, and compaction may drop a record in favour of a later one.  Two things make the highest
``last_publication_id`` seen, ``M``, no cut by itself: a listing that left the list is a tombstone, which
carries no publication id (and disappears after ``delete.retention.ms``), so removals after the newest
surviving value are invisible as publications; and records written while reading may be partly seen.
What holds instead (call it a *fuzzy snapshot*): every publication ``<= M`` is reflected — each listing's
state is the one after its own last publication ``<= M`` or a later one, because records up to ``M`` lie
before ``M``'s record in offset order and compaction only replaces a record by a later one.  Some listings
may already show publications ``> M``.

``ListState.apply`` sets a listing's whole state from each event (the entry after it, in force or not); it
does not add a delta.  So replaying the history from ``M + 1`` over the fuzzy snapshot brings every listing
to its exact state once the replay has passed every publication the snapshot shows: listings it shows
ahead are overwritten by their own later events on the way, and listings untouched since ``M`` are
already exact.  The cut is therefore:

1. read the current list from its beginning to the end offset seen at the start: the latest value of
   each key (a tombstone or an ``in_force = false`` value: not on the list); ``M`` = the highest
   ``last_publication_id`` among the values;
2. compare the copy with the digest and size published with publication ``M`` (no values at all: the
   empty list at publication 0, which every history starts from); if they differ, apply the history
   from ``M + 1`` on, one publication at a time, comparing after each;
3. the first publication ``P >= M`` whose published digest and size the copy has is the cut: the copy
   *is* the list at ``P`` (the digest is a collision-resistant hash of the multiset of entries in force,
   see :func:`hub.flows.credit.list_state.list_digest`), and from ``P + 1`` on every publication is
   applied and verified as in a full replay.

The window ``(M, P]`` is the run of removals at the end of the history whose records compaction already
dropped, plus what the hub published while the snapshot was read: usually empty.  If no publication
matches — the current list lacks an update the history has (a hub that lost a ``ListEntry`` send), or the
read took longer than ``delete.retention.ms`` and missed a tombstone — the copy cannot be verified:
:class:`SnapshotUnverified`, and a full replay of the history is the way.  Nothing unverified is ever kept.

What a snapshot copy does not hold: publications before ``P`` (``as_of`` before ``P``'s time is refused,
:class:`BeforeSnapshot`) and listings removed before ``P`` (the full replay keeps how each ended).  The
listings in force, the digest, the last publication id and the history offset to continue from are those
of a full replay.

This module is pure (no Kafka): :mod:`agents.credit.bootstrap` feeds it the records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.codec import AvroMessage
from hub.errors import ConfigError, InternalError, ListDigestMismatch
from hub.flows.credit.list_state import Entry, ListState, entry_hash, subject_key
from hub.flows.credit.messages import ENTRY, EVENT
from hub.flows.credit.rows import epoch_ms


class SnapshotUnverified(ListDigestMismatch):
    """No publication of the history matches the copy read from the current list: replay the history."""

    code = "snapshot_unverified"


class BeforeSnapshot(ConfigError):
    """A copy bootstrapped from a snapshot holds no history before its first publication."""

    code = "before_snapshot"


@dataclass(frozen=True)
class SnapshotBase:
    """Where a snapshot copy starts: the list at publication ``publication_id`` (the cut)."""

    publication_id: int
    #: offset of ``credit.list.history`` to continue from (the record after the cut's)
    next_offset: int
    published_at_ms: int
    digest: str
    size: int


def put_listing(state: ListState, listing_id: str, entry: Entry) -> None:
    """Put a listing in force with ``entry`` (no publication applied: a snapshot record)."""
    old = state.hashes.pop(listing_id, None)
    if old is not None:
        state.digest.remove_hash(old)
    h = entry_hash(entry)
    state.entries[listing_id] = entry
    state.hashes[listing_id] = h
    state.digest.add_hash(h)
    state.removed.pop(listing_id, None)
    state.by_subject.setdefault(subject_key(entry), set()).add(listing_id)


def drop_listing(state: ListState, listing_id: str) -> None:
    """A listing not on the list (a tombstone or a removed value in the snapshot): forget it."""
    old = state.hashes.pop(listing_id, None)
    if old is not None:
        state.digest.remove_hash(old)
    entry = state.entries.pop(listing_id, None)
    if entry is not None:
        listings = state.by_subject.get(subject_key(entry))
        if listings is not None:
            listings.discard(listing_id)
            if not listings:
                del state.by_subject[subject_key(entry)]


def listing_in_force(msg: AvroMessage) -> tuple[str, Entry | None]:
    """(listing id, its entry if on the list) of a ``ListEntry`` or a ``ListEvent``."""
    body = msg.body
    if msg.schema == ENTRY:
        entry = body.get("record")
    elif msg.schema == EVENT:
        entry = body.get("entry")
    else:
        raise SnapshotUnverified(f"a {msg.schema} is neither a ListEntry nor a ListEvent", field="schema")
    on_list = bool(body.get("in_force", True)) and entry is not None
    return str(body["listing_id"]), dict(entry) if on_list and entry is not None else None


def restored(base: SnapshotBase, listings: Iterable[tuple[str, Entry]]) -> ListState:
    """The list at ``base`` from its entries in force, checked against the digest verified at the cut."""
    state = ListState()
    for listing_id, entry in listings:
        put_listing(state, listing_id, entry)
    state.last_publication_id = base.publication_id
    state.last_published_at_ms = base.published_at_ms
    if state.hexdigest() != base.digest or state.size != base.size:
        raise ListDigestMismatch(
            f"the stored snapshot at publication {base.publication_id} has {state.size} listings and digest "
            f"{state.hexdigest()}, verified were {base.size} and {base.digest}: bootstrap or replay it again",
            field="snapshot")
    return state


class ConsistentCut:
    """The list from the current topic and a window of the history, verified at one publication.

    Feed :meth:`current` every record of ``credit.list.current`` in offset order, call :meth:`start`, then
    feed :meth:`history` the history from the record of publication :attr:`newest` (or from its beginning
    when that is 0) until it returns the :class:`SnapshotBase`.  :attr:`raws` then holds, for each listing
    in force, the hub's bytes its entry came from (a ``ListEntry`` or a ``ListEvent``).
    """

    def __init__(self) -> None:
        self.state = ListState()
        self.raws: dict[str, bytes] = {}
        #: ``M``: the highest ``last_publication_id`` among the current list's values
        self.newest = 0
        self.records = 0
        #: history publications applied on top of the snapshot (the window ``(M, P]``)
        self.window = 0
        self.base: SnapshotBase | None = None
        self._started = False

    def current(self, key: str, raw: bytes | None, body: Mapping[str, Any] | None) -> None:
        """One record of the current list (``raw``/``body`` None: a tombstone), in offset order."""
        if self._started:
            raise InternalError("the current list was already read: a new cut reads it again")
        self.records += 1
        if raw is None or body is None:
            drop_listing(self.state, key)
            self.raws.pop(key, None)
            return
        listing_id = str(body["listing_id"])
        self.newest = max(self.newest, int(body["last_publication_id"]))
        record = body.get("record")
        if bool(body.get("in_force", True)) and record is not None:
            put_listing(self.state, listing_id, dict(record))
            self.raws[listing_id] = raw
        else:
            drop_listing(self.state, listing_id)
            self.raws.pop(listing_id, None)

    def start(self, history_begin: int) -> SnapshotBase | None:
        """The current list is read; the snapshot is the base at once when it showed no value (publication 0:
        the empty list, the start of every history, which begins at offset ``history_begin``)."""
        self._started = True
        self.state.last_publication_id = self.newest
        if self.newest == 0 and self.state.size == 0:
            self.base = SnapshotBase(0, history_begin, 0, self.state.hexdigest(), 0)
        return self.base

    def history(self, offset: int, raw: bytes, body: Mapping[str, Any]) -> SnapshotBase | None:
        """One history record, in order from publication :attr:`newest`; the base once the copy matches."""
        if not self._started:
            raise InternalError("the history is offered before the current list was read")
        if self.base is not None:
            return self.base
        pub = int(body["publication_id"])
        if pub < self.newest:
            return None
        if pub > self.newest:
            self.state.apply(body, verify=False)  # absolute per listing; a gap raises PublicationOrderError
            self.window += 1
            listing_id = str(body["listing_id"])
            if listing_id in self.state.entries:
                self.raws[listing_id] = raw
            else:
                self.raws.pop(listing_id, None)
        if self.state.size == int(body["list_size"]) and self.state.hexdigest() == body["list_digest"]:
            self.state.last_published_at_ms = epoch_ms(body["published_at"])
            self.base = SnapshotBase(pub, offset + 1, self.state.last_published_at_ms, str(body["list_digest"]),
                                     self.state.size)
        return self.base
