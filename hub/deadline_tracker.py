"""Answer deadlines of every request (SPEC §6), driven by the injected clock.

Every write to the ``requests`` table is observed: a request becoming *delivered* gets index
entries at its warning and due minutes; an *answered late* request gets an entry now.  On each
tick the partition's index is walked up to the clock's current minute:

- warning: a ``DeadlineEvent(WARNING)`` to the court (court.notices);
- due: the request becomes *overdue*, the court gets the "no answer in time" outcome
  (``DeadlineEvent(EXPIRED)`` on court.replies) and an escalation is raised (court.notices);
- late: the late answer was delivered; a ``DeadlineEvent(ANSWERED_LATE)`` records it.

A due time counted over days the official calendar does not cover yet is *provisional*
(:mod:`hub.working_calendar`).  When the calendar changes (a schedule file is loaded), each partition's
next tick counts the provisional deadlines of its open requests again and schedules the new times; an
index entry carries the time it was scheduled for, so the entry of a superseded time does nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from hub.app import emit, runtime
from hub.deadlines import RULES_BY_ID
from hub.envelope import envelope, message
from hub.lifecycle import OPEN, State, recompute_deadline, transition
from hub.tables import deadline_index, on_tick, open_rows, requests

log = logging.getLogger(__name__)

DEADLINE_EVENT = "cn.court.interop.ops.DeadlineEvent"
MINUTE_MS = 60_000
WAITING = frozenset({State.DELIVERED.value, State.PARTIALLY_ANSWERED.value})
ANSWERED = frozenset({State.ANSWERED.value, State.ANSWERED_LATE.value})


CHUNK = 64  # entries per index row: a busy minute is many small rows, never one growing list


def _key(partition: int, minute: int) -> str:
    """The row holding how many chunks the minute has."""
    return f"{partition}:{minute}"


def _chunk_key(partition: int, minute: int, n: int) -> str:
    return f"{partition}:{minute}:{n}"


def _cursor_key(partition: int) -> str:
    return f"{partition}:cursor"


def _calendar_key(partition: int) -> str:
    """The fingerprint of the working calendar the partition's deadlines were last counted on."""
    return f"{partition}:calendar"


def schedule(partition: int, at_ms: int, kind: str, request_id: str) -> None:
    """Add an index entry (inside stream processing); never before the partition's cursor.

    Appending costs O(CHUNK) whatever the number of requests due in that minute (each table write is
    one changelog record, so a single growing list per minute would make scheduling quadratic).
    """
    cursor = deadline_index.get(_cursor_key(partition))
    if cursor is None:
        cursor = runtime.clock.now_ms() // MINUTE_MS - 1
        deadline_index[_cursor_key(partition)] = cursor
    minute = max(at_ms // MINUTE_MS, cursor + 1)
    chunks = deadline_index.get(_key(partition, minute)) or 0
    entry = [kind, request_id, at_ms]
    last = deadline_index.get(_chunk_key(partition, minute, chunks - 1)) if chunks else None
    if last is not None and len(last) < CHUNK:
        if entry not in last:
            deadline_index[_chunk_key(partition, minute, chunks - 1)] = [*last, entry]
        return
    deadline_index[_chunk_key(partition, minute, chunks)] = [entry]
    deadline_index[_key(partition, minute)] = chunks + 1


def observe_request(request_id: str, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Called for every row written to ``requests`` (``old``: the row it replaces); acts on transitions only."""
    state, ts = rec["log"][-1]
    if ts != rec["at"] or (old is not None and len(old["log"]) == len(rec["log"])):
        return
    metrics = runtime.metrics
    if state == State.DELIVERED.value and rec.get("due") is not None:
        if rec.get("provisional"):
            metrics.provisional_deadlines_total.labels(rec["type"]).inc()
        if rec.get("warn") is not None:
            schedule(rec["p"], rec["warn"], "warn", request_id)
        schedule(rec["p"], rec["due"], "due", request_id)
    elif state in ANSWERED:
        metrics.round_trip_seconds.labels(rec["type"]).observe(max(ts - rec["accepted"], 0) / 1000)
        metrics.requests_completed_total.labels(rec["agency"], rec["type"], state).inc()
        if state == State.ANSWERED_LATE.value:
            schedule(rec["p"], runtime.clock.now_ms(), "late", request_id)
    elif state in (State.REJECTED.value, State.FAILED.value, State.CANCELLED.value):
        metrics.requests_completed_total.labels(rec["agency"], rec["type"], state).inc()


requests.observers.append(observe_request)


def _source(rule_id: str | None) -> str | None:
    rule = RULES_BY_ID.get(rule_id or "")
    return rule.source if rule is not None else None


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def event_body(rec: dict[str, Any], kind: str, now_ms: int) -> dict[str, Any]:
    answered = rec["log"][-1][1] if rec["state"] in ANSWERED else None
    return {
        "kind": kind, "rule_id": rec.get("rule") or "unknown", "rule_source": _source(rec.get("rule")),
        "message_type": rec["type"], "agency": rec["agency"], "court_code": rec["court"],
        "case_number": rec["case"], "started_at": _ts(rec["accepted"]), "due_at": _ts(rec["due"]),
        "answered_at": _ts(answered), "emitted_at": _ts(now_ms), "provisional": bool(rec.get("provisional")),
    }


async def _emit_event(topic: str, rec: dict[str, Any], kind: str, now_ms: int) -> None:
    env = envelope(runtime.clock, request_id=rec["id"], recipient=rec["court"], correlation_id=rec.get("corr"))
    await emit(topic, rec["case"], message(DEADLINE_EVENT, env, event_body(rec, kind, now_ms)))


async def _handle(kind: str, request_id: str, now_ms: int, at_ms: int | None = None) -> None:
    rec = requests.get(request_id)
    if rec is None:
        return
    if kind in ("warn", "due") and at_ms is not None and rec.get(kind) != at_ms:
        return  # scheduled for a time the row's warn / due no longer has (recounted on a new calendar)
    if kind == "warn" and rec["state"] in WAITING:
        runtime.metrics.deadline_events_total.labels("warning", rec["type"]).inc()
        await _emit_event("court.notices", rec, "WARNING", now_ms)
        await warning_hooks(rec, now_ms)
    elif kind == "due" and rec["state"] in WAITING:
        rec = transition(rec, State.OVERDUE, now_ms)
        requests[request_id] = rec
        runtime.metrics.deadline_events_total.labels("expired", rec["type"]).inc()
        await _emit_event("court.replies", rec, "EXPIRED", now_ms)  # the "no answer in time" outcome
        await _emit_event("court.notices", rec, "EXPIRED", now_ms)  # the escalation
        for hook in _expired_hooks:  # flows that wait on this answer (an intensive query's unit)
            await hook(rec, now_ms)
    elif kind == "late" and rec["state"] == State.ANSWERED_LATE.value:
        runtime.metrics.deadline_events_total.labels("answered_late", rec["type"]).inc()
        await _emit_event("court.notices", rec, "ANSWERED_LATE", now_ms)


async def warning_hooks(rec: dict[str, Any], now_ms: int) -> None:
    """Others (the anomaly detector) learn that a request passed its warning threshold."""
    for hook in _warning_hooks:
        await hook(rec, now_ms)


_warning_hooks: list[Any] = []
_expired_hooks: list[Any] = []


def on_warning(fn: Any) -> Any:
    _warning_hooks.append(fn)
    return fn


def on_expired(fn: Any) -> Any:
    """Register ``fn(record, now_ms)``, awaited when a request becomes overdue."""
    _expired_hooks.append(fn)
    return fn


def _entry_at(entry: list[Any], minute: int) -> int:
    """When an entry is due (entries written before they carried their time: the start of their minute)."""
    return int(entry[2]) if len(entry) > 2 else minute * MINUTE_MS


async def _run_minute(partition: int, minute: int, now_ms: int) -> None:
    """Handle every entry of a past minute, including those flows add while we await, then drop its rows.

    The current minute (``now_ms`` inside it) is handled up to ``now_ms`` only: its later entries stay
    in its rows for the next tick, so no deadline fires before its time.
    """
    current = minute == now_ms // MINUTE_MS
    n, kept_any = 0, False
    while n < (deadline_index.get(_key(partition, minute)) or 0):
        handled, kept = 0, []
        while True:
            entries = deadline_index.get(_chunk_key(partition, minute, n)) or []
            if handled >= len(entries):
                break
            for entry in entries[handled:]:
                at = _entry_at(entry, minute)
                if current and at > now_ms:
                    kept.append(entry)
                    continue
                await _handle(entry[0], entry[1], now_ms, at if len(entry) > 2 else None)
            handled = len(entries)
        if kept:
            deadline_index[_chunk_key(partition, minute, n)] = kept
            kept_any = True
        else:
            del deadline_index[_chunk_key(partition, minute, n)]
        n += 1
    if not kept_any and deadline_index.get(_key(partition, minute)) is not None:
        del deadline_index[_key(partition, minute)]


@on_tick
async def process_deadlines(partition: int, now_ms: int) -> None:
    cursor = deadline_index.get(_cursor_key(partition))
    if cursor is None:
        return
    now_minute = now_ms // MINUTE_MS
    for minute in range(cursor + 1, now_minute + 1):
        await _run_minute(partition, minute, now_ms)
    # The current minute stays open (entries scheduled "now" land in it and run on the next tick, even
    # when a manual clock stands still; entries later in it wait for their time); handled entries are
    # removed from their rows, so none runs twice.
    if now_minute - 1 != cursor:
        deadline_index[_cursor_key(partition)] = now_minute - 1


@on_tick
async def recount_provisional_deadlines(partition: int, now_ms: int) -> None:
    """After a calendar change, count this partition's provisional deadlines again (once per calendar)."""
    if runtime.calendar.refresh():
        runtime.calendar_changed()
    calendar = runtime.calendar.current
    applied = deadline_index.get(_calendar_key(partition))
    if applied == calendar.fingerprint:
        return
    recounted = 0
    # rows of an earlier calendar may be provisional; only delivered ones have index entries to replace
    if applied is not None:
        for request_id, rec in open_rows(requests, partition):
            if State(rec["state"]) not in OPEN:
                continue
            new = recompute_deadline(rec, calendar)
            if new is None:
                continue
            requests[request_id] = new
            recounted += 1
            if new["state"] in WAITING and any(s == State.DELIVERED.value for s, _ in new["log"]):
                warned = rec.get("warn") is not None and rec["warn"] <= now_ms  # a court is warned once
                if new.get("warn") is not None and new["warn"] != rec.get("warn") and not warned:
                    schedule(partition, new["warn"], "warn", request_id)
                if new["due"] != rec["due"]:
                    schedule(partition, new["due"], "due", request_id)
    deadline_index[_calendar_key(partition)] = calendar.fingerprint
    if recounted:
        log.info("partition %d: %d provisional deadlines counted again on calendar %s", partition, recounted,
                 calendar.fingerprint)
