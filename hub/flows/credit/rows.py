"""What the credit flow keeps about the list besides the request table, typed (pure).

The flow has no table of its own: a decision, look-up or restriction is a row of the hub's
``requests`` table (:class:`hub.lifecycle.RequestRow`), and everything else is derived from
``credit.list.history`` and the journal on (re)start (:mod:`hub.flows.credit.sequencer`).  Here:
the acknowledgement the credit platform owes for a term-end deletion (:class:`PendingAck`), where a
journal record came from on ``court.requests`` (:func:`court_record_of`), and the flow's one pair
of epoch-millisecond helpers for the list's timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hub.deadletter import RawRecord

#: header of a journalled decision: ``<topic>/<partition>/<offset>`` of the court's record
SOURCE_HEADER = "source"
#: header of a journalled decision: the court's record key (the listing's case number)
CASE_HEADER = "case"

#: headers as a consumed record has them, or as they are produced
RecordHeaders = tuple[tuple[str, bytes | None], ...] | list[tuple[str, bytes]]


def epoch_ms(value: datetime | int) -> int:
    """An instant of a list body (an aware datetime, or already epoch milliseconds) in epoch milliseconds."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


def as_datetime(value: datetime | int) -> datetime:
    """An instant of a list body (a datetime, or epoch milliseconds) as a datetime (UTC if from ms)."""
    return value if isinstance(value, datetime) else datetime.fromtimestamp(int(value) / 1000, UTC)


@dataclass(frozen=True)
class PendingAck:
    """A term-end deletion whose acknowledgement by the credit platform is due by ``due_ms``.

    Never stored: rebuilt from the history and the journal.  (A court's revocation, correction or
    deletion is a row of the hub's request table instead, with its deadline tracked by
    :mod:`hub.deadline_tracker` like every other request.)
    """

    publication_id: int
    request_id: str
    listing_id: str
    case_number: str
    court_code: str
    rule_id: str
    rule_source: str
    started_ms: int
    due_ms: int
    warn_ms: int | None = None
    provisional: bool = False  # the due time counted a day the official calendar does not cover yet
    warned: bool = False
    escalated: bool = False
    acked_ms: int | None = None


def header(headers: RecordHeaders, name: str) -> str | None:
    """The value of header ``name``, decoded (None if absent)."""
    for key, value in headers:
        if key == name and value is not None:
            return value.decode()
    return None


def court_record_of(raw: bytes, headers: RecordHeaders, court_requests_topic: str) -> RawRecord:
    """The court's record as it arrived on ``court.requests`` (for the error reply and the dead letter),
    from the headers the decision was journalled with; without a usable ``source`` header, a record of
    ``court_requests_topic`` at offset -1 with the journalled case number as key."""
    parts = (header(headers, SOURCE_HEADER) or "").rsplit("/", 2)
    case = (header(headers, CASE_HEADER) or "").encode()
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return RawRecord(parts[0], int(parts[1]), int(parts[2]), case, raw)
    return RawRecord(court_requests_topic, 0, -1, case, raw)
