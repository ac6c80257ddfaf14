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
from typing import Any

from hub.clock import utc_datetime
from hub.context import HubContext
from hub.deadlines import RULES_BY_ID
from hub.envelope import envelope, message
from hub.lifecycle import ANSWERED, OPEN, WAITING, RequestRow, State, recompute_deadline, transition

log = logging.getLogger(__name__)

DEADLINE_EVENT = "cn.court.interop.ops.DeadlineEvent"
MINUTE_MS = 60_000
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


def _entry_at(entry: list[Any], minute: int) -> int:
    """When an entry is due (entries written before they carried their time: the start of their minute)."""
    return int(entry[2]) if len(entry) > 2 else minute * MINUTE_MS


def rule_source(rule_id: str | None) -> str | None:
    rule = RULES_BY_ID.get(rule_id or "")
    return rule.source if rule is not None else None


def event_body(rec: RequestRow, kind: str, now_ms: int) -> dict[str, Any]:
    """The body of a ``DeadlineEvent`` about one request."""
    return {
        "kind": kind, "rule_id": rec.rule_id or "unknown", "rule_source": rule_source(rec.rule_id),
        "message_type": rec.message_type, "agency": rec.agency, "court_code": rec.court,
        "case_number": rec.case_number, "started_at": utc_datetime(rec.accepted_ms),
        "due_at": utc_datetime(rec.due_ms), "answered_at": utc_datetime(rec.answered_ms),
        "emitted_at": utc_datetime(now_ms), "provisional": rec.provisional,
    }


class DeadlineTracker:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        #: "<partition>:<minute>" -> number of chunks due in that minute; "<partition>:<minute>:<n>" ->
        #: [[kind, request id, at_ms], ...] (at most CHUNK); "<partition>:cursor" -> last minute done;
        #: "<partition>:calendar" -> fingerprint of the calendar the partition's deadlines were counted on
        self.index = ctx.table("deadline_index", large=True)

    def schedule(self, partition: int, at_ms: int, kind: str, request_id: str) -> None:
        """Add an index entry (inside stream processing); never before the partition's cursor.

        Appending costs O(CHUNK) whatever the number of requests due in that minute (each table write is
        one changelog record, so a single growing list per minute would make scheduling quadratic).
        """
        index = self.index
        cursor = index.get(_cursor_key(partition))
        if cursor is None:
            cursor = self.ctx.clock.now_ms() // MINUTE_MS - 1
            index[_cursor_key(partition)] = cursor
        minute = max(at_ms // MINUTE_MS, cursor + 1)
        chunks = index.get(_key(partition, minute)) or 0
        entry = [kind, request_id, at_ms]
        last = index.get(_chunk_key(partition, minute, chunks - 1)) if chunks else None
        if last is not None and len(last) < CHUNK:
            if entry not in last:
                index[_chunk_key(partition, minute, chunks - 1)] = [*last, entry]
            return
        index[_chunk_key(partition, minute, chunks)] = [entry]
        index[_key(partition, minute)] = chunks + 1

    def observe_request(self, rec: RequestRow, old: RequestRow | None) -> None:
        """Called for every row written to ``requests`` (``old``: the row it replaces); acts on transitions only."""
        state, ts = rec.history[-1]
        if ts != rec.changed_ms or (old is not None and len(old.history) == len(rec.history)):
            return
        metrics = self.ctx.runtime.metrics
        if state is State.DELIVERED and rec.due_ms is not None:
            if rec.provisional:
                metrics.provisional_deadlines_total.labels(rec.message_type).inc()
            if rec.warn_ms is not None:
                self.schedule(rec.partition, rec.warn_ms, "warn", rec.request_id)
            self.schedule(rec.partition, rec.due_ms, "due", rec.request_id)
        elif state in ANSWERED:
            metrics.round_trip_seconds.labels(rec.message_type).observe(max(ts - rec.accepted_ms, 0) / 1000)
            metrics.requests_completed_total.labels(rec.agency, rec.message_type, state.value).inc()
            if state is State.ANSWERED_LATE:
                self.schedule(rec.partition, self.ctx.clock.now_ms(), "late", rec.request_id)
        elif state in (State.REJECTED, State.FAILED, State.CANCELLED):
            metrics.requests_completed_total.labels(rec.agency, rec.message_type, state.value).inc()

    async def _emit_event(self, topic: str, rec: RequestRow, kind: str, now_ms: int) -> None:
        env = envelope(self.ctx.clock, request_id=rec.request_id, recipient=rec.court,
                       correlation_id=rec.correlation_id)
        await self.ctx.out.emit(topic, rec.case_number, message(DEADLINE_EVENT, env, event_body(rec, kind, now_ms)))

    async def _handle(self, kind: str, request_id: str, now_ms: int, at_ms: int | None = None) -> None:
        ctx = self.ctx
        rec = ctx.requests.get(request_id)
        if rec is None:
            return
        scheduled_for = {"warn": rec.warn_ms, "due": rec.due_ms}.get(kind)
        if kind in ("warn", "due") and at_ms is not None and scheduled_for != at_ms:
            return  # scheduled for a time the row's warn / due no longer has (recounted on a new calendar)
        metrics = ctx.runtime.metrics
        if kind == "warn" and rec.state in WAITING:
            metrics.deadline_events_total.labels("warning", rec.message_type).inc()
            await self._emit_event(ctx.topics.court_notices, rec, "WARNING", now_ms)
            for hook in ctx.hooks.warned:  # the anomaly detector learns a request passed its warning time
                await hook(rec, now_ms)
        elif kind == "due" and rec.state in WAITING:
            rec = ctx.requests.put(transition(rec, State.OVERDUE, now_ms))
            metrics.deadline_events_total.labels("expired", rec.message_type).inc()
            await self._emit_event(ctx.topics.court_replies, rec, "EXPIRED", now_ms)  # "no answer in time"
            await self._emit_event(ctx.topics.court_notices, rec, "EXPIRED", now_ms)  # the escalation
            for hook in ctx.hooks.expired:  # flows that wait on this answer (an intensive query's unit)
                await hook(rec, now_ms)
        elif kind == "late" and rec.state is State.ANSWERED_LATE:
            metrics.deadline_events_total.labels("answered_late", rec.message_type).inc()
            await self._emit_event(ctx.topics.court_notices, rec, "ANSWERED_LATE", now_ms)

    async def _run_minute(self, partition: int, minute: int, now_ms: int) -> None:
        """Handle every entry of a past minute, including those flows add while we await, then drop its rows.

        The current minute (``now_ms`` inside it) is handled up to ``now_ms`` only: its later entries stay
        in its rows for the next tick, so no deadline fires before its time.
        """
        index = self.index
        current = minute == now_ms // MINUTE_MS
        n, kept_any = 0, False
        while n < (index.get(_key(partition, minute)) or 0):
            handled, kept = 0, []
            while True:
                entries = index.get(_chunk_key(partition, minute, n)) or []
                if handled >= len(entries):
                    break
                for entry in entries[handled:]:
                    at = _entry_at(entry, minute)
                    if current and at > now_ms:
                        kept.append(entry)
                        continue
                    await self._handle(entry[0], entry[1], now_ms, at if len(entry) > 2 else None)
                handled = len(entries)
            if kept:
                index[_chunk_key(partition, minute, n)] = kept
                kept_any = True
            else:
                del index[_chunk_key(partition, minute, n)]
            n += 1
        if not kept_any and index.get(_key(partition, minute)) is not None:
            del index[_key(partition, minute)]

    async def process_deadlines(self, partition: int, now_ms: int) -> None:
        cursor = self.index.get(_cursor_key(partition))
        if cursor is None:
            return
        now_minute = now_ms // MINUTE_MS
        for minute in range(cursor + 1, now_minute + 1):
            await self._run_minute(partition, minute, now_ms)
        # The current minute stays open (entries scheduled "now" land in it and run on the next tick, even
        # when a manual clock stands still; entries later in it wait for their time); handled entries are
        # removed from their rows, so none runs twice.
        if now_minute - 1 != cursor:
            self.index[_cursor_key(partition)] = now_minute - 1

    async def recount_provisional_deadlines(self, partition: int, now_ms: int) -> None:
        """After a calendar change, count this partition's provisional deadlines again (once per calendar)."""
        ctx = self.ctx
        if ctx.runtime.calendar.refresh():
            ctx.runtime.calendar_changed()
        calendar = ctx.runtime.calendar.current
        applied = self.index.get(_calendar_key(partition))
        if applied == calendar.fingerprint:
            return
        recounted = 0
        # rows of an earlier calendar may be provisional; only delivered ones have index entries to replace
        if applied is not None:
            for rec in ctx.requests.in_partition(partition):
                if rec.state not in OPEN:
                    continue
                new = recompute_deadline(rec, calendar)
                if new is None:
                    continue
                ctx.requests.put(new)
                recounted += 1
                if new.state in WAITING and new.was(State.DELIVERED):
                    warned = rec.warn_ms is not None and rec.warn_ms <= now_ms  # a court is warned once
                    if new.warn_ms is not None and new.warn_ms != rec.warn_ms and not warned:
                        self.schedule(partition, new.warn_ms, "warn", rec.request_id)
                    if new.due_ms != rec.due_ms:
                        self.schedule(partition, new.due_ms, "due", rec.request_id)  # type: ignore[arg-type]
        self.index[_calendar_key(partition)] = calendar.fingerprint
        if recounted:
            log.info("partition %d: %d provisional deadlines counted again on calendar %s", partition, recounted,
                     calendar.fingerprint)


def register(ctx: HubContext) -> DeadlineTracker:
    tracker = DeadlineTracker(ctx)
    ctx.hooks.on_request_written(tracker.observe_request)
    ctx.hooks.on_tick(tracker.process_deadlines)
    ctx.hooks.on_tick(tracker.recount_provisional_deadlines)
    return tracker
