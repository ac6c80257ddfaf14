"""Anomaly notices (002 §4(五)) and what feeds them: agency heartbeats, errors, warnings, dead letters.

The :class:`~hub.anomaly.AnomalyBook` decides; this module feeds it what the hub observes and
delivers the notices: an ``AnomalyNotice`` to the agency's inbox and to ``court.notices`` for each
affected court, the anomaly record itself to ``ops.anomalies``.  A notice is delivered when the
broker acknowledged it; one not delivered within 24 hours of detection is escalated and counted.
Acknowledgements (``NoticeAck``) come back from agencies and courts.  The detector keeps its state
in this process: run one detecting worker per hub (the default single worker is one).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from hub.anomaly import HUB, NOTIFY_WITHIN_MS, Anomaly, AnomalyBook, Notice
from hub.clock import utc_datetime
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.envelope import envelope, message
from hub.errors import HubError
from hub.flows.correlation import forward_answer
from hub.lifecycle import RequestRow, State, can_transition, transition
from hub.request_gauges import RequestCounts
from topics.catalog import COURT_GATEWAY, Role, TopicSpec, inbox_name

log = logging.getLogger(__name__)

ANOMALY_NOTICE = "cn.court.interop.ops.AnomalyNotice"
NOTICE_ACK = "cn.court.interop.ops.NoticeAck"
HEARTBEAT = "cn.court.interop.ops.Heartbeat"
ERROR_REPLY = "cn.court.interop.ops.ErrorReply"
KINDS = ("AGENCY_SILENT", "ERROR_RATE", "HEARTBEAT_MISSING", "OUT_OF_SERVICE", "HUB_FAULT")


def _mono_ms() -> int:
    return int(time.monotonic() * 1000)


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
    def __init__(self, ctx: HubContext, counts: Callable[[], RequestCounts]) -> None:
        self.ctx = ctx
        self.book = AnomalyBook(lambda agency: counts().courts_waiting_on(agency))

    # --- delivering notices -------------------------------------------------------------------------
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
                if not a.open and notice.resolution_delivered_ms is None:
                    await self._send_notice(a, recipient, notice)
                    notice.resolution_delivered_ms = now
            except HubError as exc:  # delivery failed: retried on the next sweep, escalated after 24 hours
                log.warning("notice of %s to %s not delivered: %s", a.anomaly_id, recipient, exc)
        record = message(ANOMALY_NOTICE, envelope(ctx.clock, request_id=a.anomaly_id, recipient="ops",
                                                  correlation_id=a.anomaly_id), notice_body(a))
        await ctx.out.emit(ctx.topics.anomalies, a.anomaly_id, record)

    def _refresh_gauges(self) -> None:
        open_by_kind = Counter(a.kind for a in self.book.anomalies.values() if a.open)
        for kind in KINDS:
            self.ctx.runtime.metrics.anomalies_open.labels(kind).set(open_by_kind.get(kind, 0))

    async def changed(self, a: Anomaly | None, was_open: set[str]) -> None:
        """An anomaly the book opened or changed: counted, logged, its parties told."""
        if a is None:
            return
        if a.anomaly_id not in was_open and a.open:
            self.ctx.runtime.metrics.anomalies_total.labels(a.kind).inc()
            log.warning("anomaly %s opened: %s", a.anomaly_id, a.description)
        await self.notify(a)
        self._refresh_gauges()

    def open_ids(self) -> set[str]:
        return {a.anomaly_id for a in self.book.anomalies.values() if a.open}

    # --- what feeds the book ----------------------------------------------------------------------------
    async def request_past_warning(self, rec: RequestRow, now_ms: int) -> None:
        if rec.agency in ("intensive", "hub"):
            return
        before = self.open_ids()
        anomaly = self.book.past_warning(rec.agency, rec.court, rec.message_type, rec.accepted_ms, now_ms)
        if anomaly is not None and (anomaly.anomaly_id not in before or rec.court not in anomaly.notices):
            await self.changed(anomaly, before)

    async def agency_alive(self, role: Role, msg: AvroMessage, record: RawRecord) -> None:
        if role is Role.AGENCY_OUTBOX:
            before = self.open_ids()
            await self.changed(self.book.message_from(str(msg.envelope["sender"]), self.ctx.clock.now_ms()), before)

    async def dead_lettered(self, record: RawRecord, spec: TopicSpec | None, error: HubError,
                            decoded: AvroMessage | None) -> None:
        """Bad records are the anomaly of whoever sent them: an agency's error rate, the court gateway's spike;
        only records from no known principal count against the hub."""
        now = self.ctx.clock.now_ms()
        before = self.open_ids()
        if spec is not None and spec.role is Role.AGENCY_OUTBOX and spec.agency:
            await self.changed(self.book.error_from(spec.agency, now), before)
            return
        principal = next(iter(spec.producers)) if spec is not None and len(spec.producers) == 1 else HUB
        await self.changed(self.book.dead_letter(principal, now), before)

    def request_written(self, row: RequestRow, old: RequestRow | None) -> None:
        if row.state is State.DELIVERED and (old is None or old.state is not State.DELIVERED):
            self.book.court_sent(row.agency, row.court, row.message_type)  # told by the next sweep

    async def heartbeat(self, msg: AvroMessage, record: RawRecord) -> None:
        body, sender = msg.body, str(msg.envelope["sender"])
        before = self.open_ids()
        changed = self.book.heartbeat(sender, body["status"], int(body["interval_ms"]), self.ctx.clock.now_ms(),
                                      _mono_ms())
        await self.changed(changed or self.book.open_for(sender), before)

    async def agency_error(self, msg: AvroMessage, record: RawRecord) -> None:
        """An agency could not process a request: the court is told, the request failed, the error counted."""
        ctx = self.ctx
        agency = str(msg.envelope["sender"])
        before = self.open_ids()
        await self.changed(self.book.error_from(agency, ctx.clock.now_ms()), before)
        rec = ctx.requests.get(msg.request_id)
        if rec is not None and rec.agency == agency:
            await forward_answer(ctx, rec, msg, record)
            if can_transition(rec, State.FAILED):
                ctx.requests.put(transition(rec, State.FAILED, ctx.clock.now_ms()))

    async def acknowledged(self, msg: AvroMessage, record: RawRecord) -> None:
        if self.book.acknowledge(msg.body["anomaly_id"], str(msg.envelope["sender"]), self.ctx.clock.now_ms()):
            self.ctx.runtime.metrics.notices_acknowledged_total.inc()

    async def hub_fault(self, description: str, *, resolved: bool = False) -> None:
        """The hub itself is at fault (an unclean restart, lag): operators and courts are told."""
        before = self.open_ids()
        anomaly = self.book.hub_fault(description, self.ctx.clock.now_ms())
        if resolved:
            anomaly.resolved_ms = self.ctx.clock.now_ms()  # running again: notice and resolution together
        await self.changed(anomaly, before)

    # --- time-driven work -------------------------------------------------------------------------------
    async def sweep(self) -> None:
        ctx = self.ctx
        now = ctx.clock.now_ms()
        before = self.open_ids()
        for anomaly in self.book.sweep(now, _mono_ms()):
            await self.changed(anomaly, before)
        for anomaly in self.book.anomalies.values():
            recipients = anomaly.recipients() or [COURT_GATEWAY]
            untold = [r for r in recipients if r not in anomaly.notices or anomaly.notices[r].delivered_ms is None]
            if anomaly.open and untold:  # not delivered yet, or a court that joined since
                await self.notify(anomaly)
        for anomaly, notice in self.book.late_notices(now):
            ctx.runtime.metrics.notices_overdue_total.inc()
            log.error("notice of %s to %s not delivered within 24 hours: escalated to operators", anomaly.anomaly_id,
                      notice.recipient)
            await ctx.out.emit(ctx.topics.anomalies, anomaly.anomaly_id, message(
                ANOMALY_NOTICE, envelope(ctx.clock, request_id=anomaly.anomaly_id, recipient="ops",
                                         correlation_id=anomaly.anomaly_id),
                {**notice_body(anomaly, notice),
                 "description": f"ESCALATED: the notice to {notice.recipient} was not delivered within 24 hours "
                                f"(002 §4(五)); {anomaly.description}"}))


def register(ctx: HubContext, counts: Callable[[], RequestCounts]) -> AnomalyNotices:
    notices = AnomalyNotices(ctx, counts)
    hooks = ctx.hooks
    hooks.on_warning(notices.request_past_warning)
    hooks.on_accept(notices.agency_alive)
    hooks.on_dead_letter(notices.dead_lettered)
    hooks.on_request_written(notices.request_written)
    hooks.agency_route(HEARTBEAT)(notices.heartbeat)
    hooks.agency_route(ERROR_REPLY)(notices.agency_error)
    hooks.agency_route(NOTICE_ACK)(notices.acknowledged)
    hooks.court_route(NOTICE_ACK)(notices.acknowledged)
    hooks.every(1.0)(notices.sweep)
    return notices
