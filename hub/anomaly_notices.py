"""The anomaly book's one owner and the notices it sends (002 §4(五)).

The :class:`~hub.anomaly.AnomalyBook` decides; this module keeps it and delivers what it decides: an
``AnomalyNotice`` to the agency's inbox and to ``court.notices`` for each affected court, the anomaly
record itself to ``ops.anomalies``.  A notice is delivered when the broker acknowledged it; one not
delivered within 24 hours of detection is escalated and counted.

Exactly one worker keeps the book: the owner of partition :data:`~hub.anomaly_feed.OWNER_PARTITION` of
``hub.ticks``.  Every worker's observations (:mod:`hub.anomaly_feed`) arrive there; the book's rows are
written to the ``anomaly_book`` table in that partition, so when the partition moves (its owner stopped or
died) the next owner loads the book from them and goes on — no notice doubled, none forgotten.  When an
anomaly of an agency opens, the owner asks every partition who waits on the agency (``AnomalyWatch``) and
tells everyone affected once they all answered (or :data:`GATHER_MS` passed).  Missing heartbeats are judged
against how far the workers have read the agency's outbox while they report it behind, not against the owner's
wall clock alone.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any

from hub.anomaly import HUB, NOTIFY_WITHIN_MS, Anomaly, AnomalyBook, Notice
from hub.anomaly_feed import OBSERVATIONS, OWNER_PARTITION, WATCH, wall_ms
from hub.anomaly_rows import book_rows, load_book
from hub.clock import utc_datetime
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.envelope import envelope, message
from hub.errors import HubError
from hub.transport import RowTable
from topics.catalog import COURT_GATEWAY, inbox_name

log = logging.getLogger(__name__)

ANOMALY_NOTICE = "cn.court.interop.ops.AnomalyNotice"
KINDS = ("AGENCY_SILENT", "ERROR_RATE", "HEARTBEAT_MISSING", "OUT_OF_SERVICE", "HUB_FAULT")
#: longest the owner waits for every partition to say who waits on an agency before telling those it knows
GATHER_MS = 10_000
#: how often the open anomalies are told to every partition again (a restarted worker learns them)
WATCH_EVERY_MS = 30_000
LAG = "consumer lag"


def notice_body(a: Anomaly, notice: Notice | None = None) -> dict[str, Any]:
    """The notice (to one party: due 24 hours from when it became affected; to ops: from detection)."""
    due = notice.due_ms if notice is not None and notice.due_ms is not None else a.notify_due_ms
    return {
        "anomaly_id": a.anomaly_id, "kind": a.kind, "state": "OPEN" if a.open else "RESOLVED",
        "agency": None if a.agency == HUB else a.agency, "affected_courts": sorted(a.courts),
        "affected_message_types": sorted(a.message_types), "detected_at": utc_datetime(a.detected_ms),
        "notify_due_at": utc_datetime(due), "resolved_at": utc_datetime(a.resolved_ms),
        "outstanding_requests": a.outstanding, "description": a.description,
    }


class AnomalyNotices:
    """The book, kept by the owner of partition 0 while it handles that partition's records."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.table: RowTable = ctx.table("anomaly_book")
        self._book: AnomalyBook | None = None
        self.written: dict[str, Any] = {}
        #: anomaly id -> wall time until which its notices wait for every partition's answer
        self.gathering: dict[str, int] = {}
        self.watched_at = 0

    # --- the book and its rows ----------------------------------------------------------------------------
    @property
    def book(self) -> AnomalyBook:
        """The book as the table holds it (loaded when this worker became the owner)."""
        if self._book is None:
            rows = dict(self.table.items())
            self._book, self.written = load_book(rows), rows
            if rows:
                log.info("anomaly book loaded: %d anomalies, %d agencies", len(self._book.anomalies),
                         len(self._book.health))
        return self._book

    def revoked(self, partitions: set[int]) -> None:
        """Partition 0 went to another worker: its book is that worker's now."""
        if OWNER_PARTITION in partitions and self._book is not None:
            self._book, self.written, self.gathering = None, {}, {}
            for kind in KINDS:
                self.ctx.runtime.metrics.anomalies_open.labels(kind).set(0)

    def save(self) -> None:
        """Write the rows that changed since the last save (in partition 0: the caller handles its record)."""
        rows = book_rows(self.book)
        for key, row in rows.items():
            if self.written.get(key) != row:
                self.table[key] = row
        for key in set(self.written) - set(rows):
            del self.table[key]
        self.written = rows

    # --- delivering notices -------------------------------------------------------------------------------
    def _is_agency(self, code: str) -> bool:
        return any(ag.code == code and ag.has_mailbox for ag in self.ctx.runtime.catalog.agencies)

    async def _send_notice(self, a: Anomaly, recipient: str, notice: Notice) -> str:
        ctx = self.ctx
        msg = message(ANOMALY_NOTICE, envelope(ctx.clock, request_id=a.anomaly_id, recipient=recipient,
                                               correlation_id=a.anomaly_id), notice_body(a, notice))
        agency = self._is_agency(recipient)
        await ctx.out.emit(inbox_name(recipient) if agency else ctx.topics.court_notices, a.anomaly_id, msg)
        ctx.runtime.metrics.notices_sent_total.labels("agency" if agency else "court",
                                                      "open" if a.open else "resolved").inc()
        return str(msg.envelope["message_id"])

    async def notify(self, a: Anomaly) -> None:
        """Deliver what each party has not had yet: the notice, and once resolved, the resolution."""
        ctx = self.ctx
        now = ctx.clock.now_ms()
        for recipient in a.recipients() or [COURT_GATEWAY]:
            notice = a.notices.setdefault(recipient,
                                          Notice(recipient, due_ms=max(now, a.detected_ms) + NOTIFY_WITHIN_MS))
            try:
                if notice.delivered_ms is None:
                    notice.message_id = await self._send_notice(a, recipient, notice)
                    notice.delivered_ms = now
                    if not a.open:  # over before anyone was told: the one notice says so
                        notice.resolution_delivered_ms = now
                if not a.open and notice.resolution_delivered_ms is None:
                    await self._send_notice(a, recipient, notice)
                    notice.resolution_delivered_ms = now
            except HubError as exc:  # delivery failed: retried on the next sweep, escalated after 24 hours
                log.warning("notice of %s to %s not delivered: %s", a.anomaly_id, recipient, exc)
        record = message(ANOMALY_NOTICE, envelope(ctx.clock, request_id=a.anomaly_id, recipient="ops",
                                                  correlation_id=a.anomaly_id), notice_body(a))
        await ctx.out.emit(ctx.topics.anomalies, a.anomaly_id, record)

    def _untold(self, a: Anomaly) -> bool:
        recipients = a.recipients() or [COURT_GATEWAY]
        return any(r not in a.notices or a.notices[r].delivered_ms is None for r in recipients) or (
            not a.open and any(n.resolution_delivered_ms is None for n in a.notices.values()))

    def _gathered(self, a: Anomaly) -> bool:
        until = self.gathering.get(a.anomaly_id)
        if until is None:
            return True
        if len(a.answered) >= self.ctx.runtime.catalog.hub_partitions or wall_ms() >= until:
            del self.gathering[a.anomaly_id]
            return True
        return False

    async def tell_parties(self) -> None:
        """Everyone affected and not yet told (and the resolution, once resolved) hears now."""
        for anomaly in list(self.book.anomalies.values()):
            if self._untold(anomaly) and self._gathered(anomaly):
                await self.notify(anomaly)

    def _refresh_gauges(self) -> None:
        open_by_kind = Counter(a.kind for a in self.book.anomalies.values() if a.open)
        for kind in KINDS:
            self.ctx.runtime.metrics.anomalies_open.labels(kind).set(open_by_kind.get(kind, 0))

    # --- the partitions' part -----------------------------------------------------------------------------
    async def watch(self, ask: list[str]) -> None:
        """Tell every partition the open anomalies of agencies; ``ask``: those whose waiting courts they report."""
        ctx = self.ctx
        watched = [{"anomaly_id": a.anomaly_id, "agency": a.agency}
                   for a in self.book.anomalies.values() if a.open and a.agency != HUB]
        topic = ctx.settings.topic(ctx.topics.ticks)
        sends = []
        for partition in range(ctx.runtime.catalog.hub_partitions):
            msg = message(WATCH, envelope(ctx.clock, request_id=f"anomaly-watch-{partition}", recipient=HUB),
                          {"partition": partition, "open": watched, "ask": ask})
            sends.append(await ctx.sender.send(topic, str(partition).encode(), ctx.codec.encode_message(msg),
                                               partition=partition, headers=[]))
        for sent in sends:
            await sent
        self.watched_at = wall_ms()

    # --- what the workers observed ------------------------------------------------------------------------
    async def observed(self, msg: AvroMessage, record: RawRecord) -> None:
        """One worker's observations, applied in order; then the parties told and the book saved."""
        if record.partition != OWNER_PARTITION:
            log.error("observations on partition %d ignored: the book is kept on partition %d", record.partition,
                      OWNER_PARTITION)
            return
        book, body = self.book, msg.body
        if not book.first_report(str(msg.envelope["message_id"])):
            return  # delivered again after its owner's crash: applied already
        was_open = {a.anomaly_id for a in book.anomalies.values() if a.open}
        changed: list[Anomaly | None] = []
        for seen in body["messages"]:
            changed.append(book.message_from(seen["agency"], seen["at_ms"]))
        for hb in body["heartbeats"]:
            changed.append(book.heartbeat(hb["agency"], hb["status"], hb["interval_ms"], hb["at_ms"], hb["wall_ms"])
                           or book.open_for(hb["agency"]))
        changed += [book.error_from(e["agency"], e["at_ms"]) for e in body["errors"]]
        changed += [book.dead_letter(d["principal"], d["at_ms"]) for d in body["dead_letters"]]
        changed += [book.past_warning(w["agency"], w["court"], w["message_type"], w["delivered_ms"], w["at_ms"])
                    for w in body["warnings"]]
        changed += [book.court_sent(j["agency"], j["court"], j["message_type"]) for j in body["joined"]]
        reports: dict[tuple[str, int], list[tuple[str, str, int]]] = defaultdict(list)
        for w in body["waiting"]:
            reports[(w["anomaly_id"], w["partition"])].append((w["court"], w["message_type"], w["requests"]))
        for answer in body["answered"]:
            key = (answer["anomaly_id"], answer["partition"])
            changed.append(book.courts_waiting(key[0], key[1], reports.get(key, [])))
        for ack in body["acks"]:
            if book.acknowledge(ack["anomaly_id"], ack["by"], ack["at_ms"]):
                self.ctx.runtime.metrics.notices_acknowledged_total.inc()
        for fault in body["faults"]:
            changed.append(self._hub_fault(fault["description"], fault["resolved"], fault["at_ms"]))
        applied_ms = wall_ms()
        for lag in body.get("lagging", []):  # how far the worker has read the outboxes it is behind on
            book.outbox_read(lag["agency"], lag["partition"], lag["read_ms"], lag["behind"], applied_ms)
        # when the worker sent it (the record's timestamp: its wall clock at the send)
        book.worker_reported(str(body["worker"]), record.timestamp_ms or applied_ms, applied_ms)
        await self._settle([a for a in changed if a is not None], was_open)

    def _hub_fault(self, description: str, resolved: bool, at_ms: int) -> Anomaly | None:
        book = self.book
        current = book.open_for(HUB)
        if description.startswith(LAG) and resolved:  # lag back to normal: the lag fault clears
            if current is not None and current.description.startswith(LAG):
                current.resolved_ms = at_ms
            return current
        anomaly = book.hub_fault(description, at_ms)
        if resolved and anomaly is not current:
            anomaly.resolved_ms = at_ms  # over already (an unclean restart): notice and resolution together
        return anomaly

    async def _settle(self, changed: list[Anomaly], was_open: set[str]) -> None:
        """Count and log what opened, ask who waits on a new agency anomaly, tell the parties, save."""
        opened = [a for a in {a.anomaly_id: a for a in changed}.values() if a.anomaly_id not in was_open and a.open]
        for anomaly in opened:
            self.ctx.runtime.metrics.anomalies_total.labels(anomaly.kind).inc()
            log.warning("anomaly %s opened: %s", anomaly.anomaly_id, anomaly.description)
        asked = [a.anomaly_id for a in opened if a.agency != HUB]
        for anomaly_id in asked:
            self.gathering[anomaly_id] = wall_ms() + GATHER_MS
        if asked or any(a.anomaly_id in was_open and not a.open for a in changed):
            await self.watch(asked)
        await self.tell_parties()
        self._refresh_gauges()
        self.save()

    # --- time-driven work (partition 0's tick) ------------------------------------------------------------
    async def tick(self, partition: int, now_ms: int) -> None:
        if partition != OWNER_PARTITION:
            return
        ctx, book = self.ctx, self.book
        was_open = {a.anomaly_id for a in book.anomalies.values() if a.open}
        changed = book.sweep(now_ms, wall_ms())
        for anomaly, notice in book.late_notices(now_ms):
            ctx.runtime.metrics.notices_overdue_total.inc()
            log.error("notice of %s to %s not delivered within 24 hours: escalated to operators", anomaly.anomaly_id,
                      notice.recipient)
            await ctx.out.emit(ctx.topics.anomalies, anomaly.anomaly_id, message(
                ANOMALY_NOTICE, envelope(ctx.clock, request_id=anomaly.anomaly_id, recipient="ops",
                                         correlation_id=anomaly.anomaly_id),
                {**notice_body(anomaly, notice),
                 "description": f"ESCALATED: the notice to {notice.recipient} was not delivered within 24 hours "
                                f"(002 §4(五)); {anomaly.description}"}))
        book.forget_settled(now_ms)
        if wall_ms() - self.watched_at >= WATCH_EVERY_MS:  # a restarted worker (or a new owner) learns them again
            partitions = ctx.runtime.catalog.hub_partitions
            await self.watch([a.anomaly_id for a in book.anomalies.values()
                              if a.open and a.agency != HUB and len(a.answered) < partitions])
        await self._settle(changed, was_open)


def register(ctx: HubContext) -> AnomalyNotices:
    notices = AnomalyNotices(ctx)
    ctx.hooks.internal_route(OBSERVATIONS)(notices.observed)
    ctx.hooks.on_tick(notices.tick)
    ctx.hooks.on_revoked(notices.revoked)
    return notices
