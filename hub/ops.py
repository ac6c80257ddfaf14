"""Operations: anomaly notices (002 §4(五)), agency heartbeats, outstanding/overdue gauges.

The :class:`~hub.anomaly.AnomalyBook` decides; this module feeds it what the hub observes and
delivers the notices: an ``AnomalyNotice`` to the agency's inbox and to ``court.notices`` for each
affected court, the anomaly record itself to ``ops.anomalies``.  A notice is delivered when the
broker acknowledged it; one not delivered within 24 hours of detection is escalated and counted.
Acknowledgements (``NoticeAck``) come back from agencies and courts.  The detector keeps its state
in this process: run one detecting worker per hub (the default single worker is one).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.anomaly import HUB, NOTIFY_WITHIN_MS, Anomaly, AnomalyBook, Notice
from hub.app import app, dead_letters, emit, forward, runtime, settings
from hub.codec import AvroMessage
from hub.deadletter import RawRecord
from hub.deadline_tracker import on_warning
from hub.envelope import envelope, message
from hub.errors import HubError
from hub.lifecycle import State, can_transition, transition
from hub.request_gauges import RequestCounts
from hub.routing import accept_observers, agency_route, court_route
from hub.tables import requests
from topics.catalog import COURT_GATEWAY, Role, TopicSpec, inbox_name

log = logging.getLogger(__name__)

ANOMALY_NOTICE = "cn.court.interop.ops.AnomalyNotice"
NOTICE_ACK = "cn.court.interop.ops.NoticeAck"
HEARTBEAT = "cn.court.interop.ops.Heartbeat"
ERROR_REPLY = "cn.court.interop.ops.ErrorReply"
RUNNING_MARKER = "worker.running"

request_counts = RequestCounts()


def _counts() -> RequestCounts:
    """The request counts, built by one scan of the table the first time they are needed once it is recovered
    (rows recovered later would never be counted: until then the counts stay empty)."""
    if not request_counts.built and app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
        started = time.monotonic()
        request_counts.rebuild(requests.values())
        log.info("request gauges built from the table in %.2fs", time.monotonic() - started)
    return request_counts


book = AnomalyBook(lambda agency: _counts().courts_waiting_on(agency))


def _mono_ms() -> int:
    return int(time.monotonic() * 1000)


def _ts(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def notice_body(a: Anomaly, notice: Notice | None = None) -> dict[str, Any]:
    """The notice (to one party: due 24 hours from when it became affected; to ops: from detection)."""
    due = notice.due_ms if notice is not None and notice.due_ms is not None else a.notify_due_ms
    return {
        "anomaly_id": a.anomaly_id, "kind": a.kind, "state": "OPEN" if a.open else "RESOLVED",
        "agency": None if a.agency == HUB else a.agency, "affected_courts": sorted(a.courts),
        "affected_message_types": sorted(a.message_types), "detected_at": _ts(a.detected_ms),
        "notify_due_at": _ts(due), "resolved_at": _ts(a.resolved_ms),
        "outstanding_requests": a.outstanding, "description": a.description,
    }


def _is_agency(code: str) -> bool:
    return any(ag.code == code and ag.has_mailbox for ag in runtime.catalog.agencies)


async def _send_notice(a: Anomaly, recipient: str, notice: Notice) -> str:
    msg = message(ANOMALY_NOTICE, envelope(runtime.clock, request_id=a.anomaly_id, recipient=recipient,
                                           correlation_id=a.anomaly_id), notice_body(a, notice))
    topic = inbox_name(recipient) if _is_agency(recipient) else "court.notices"
    await emit(topic, a.anomaly_id, msg)
    kind = "agency" if _is_agency(recipient) else "court"
    runtime.metrics.notices_sent_total.labels(kind, "open" if a.open else "resolved").inc()
    return str(msg.envelope["message_id"])


async def notify(a: Anomaly) -> None:
    """Deliver what each party has not had yet: the notice, and once resolved, the resolution."""
    now = runtime.clock.now_ms()
    recipients = a.recipients() or [COURT_GATEWAY]
    for recipient in recipients:
        notice = a.notices.setdefault(recipient, Notice(recipient, due_ms=max(now, a.detected_ms) + NOTIFY_WITHIN_MS))
        try:
            if notice.delivered_ms is None:
                notice.message_id = await _send_notice(a, recipient, notice)
                notice.delivered_ms = now
            if not a.open and notice.resolution_delivered_ms is None:
                await _send_notice(a, recipient, notice)
                notice.resolution_delivered_ms = now
        except HubError as exc:  # delivery failed: retried on the next sweep, escalated after 24 hours
            log.warning("notice of %s to %s not delivered: %s", a.anomaly_id, recipient, exc)
    record = message(ANOMALY_NOTICE, envelope(runtime.clock, request_id=a.anomaly_id, recipient="ops",
                                              correlation_id=a.anomaly_id), notice_body(a))
    await emit("ops.anomalies", a.anomaly_id, record)


def _refresh_gauges() -> None:
    open_by_kind = Counter(a.kind for a in book.anomalies.values() if a.open)
    for kind in ("AGENCY_SILENT", "ERROR_RATE", "HEARTBEAT_MISSING", "OUT_OF_SERVICE", "HUB_FAULT"):
        runtime.metrics.anomalies_open.labels(kind).set(open_by_kind.get(kind, 0))


async def _opened_or_changed(a: Anomaly | None, was_open: set[str]) -> None:
    if a is None:
        return
    if a.anomaly_id not in was_open and a.open:
        runtime.metrics.anomalies_total.labels(a.kind).inc()
        log.warning("anomaly %s opened: %s", a.anomaly_id, a.description)
    await notify(a)
    _refresh_gauges()


def _open_ids() -> set[str]:
    return {a.anomaly_id for a in book.anomalies.values() if a.open}


# --- what feeds the book -------------------------------------------------------------------------------
@on_warning
async def request_past_warning(rec: dict[str, Any], now_ms: int) -> None:
    if rec["agency"] in ("intensive", "hub"):
        return
    before = _open_ids()
    anomaly = book.past_warning(rec["agency"], rec["court"], rec["type"], rec["accepted"], now_ms)
    if anomaly is not None and (anomaly.anomaly_id not in before or rec["court"] not in anomaly.notices):
        await _opened_or_changed(anomaly, before)


async def _agency_alive(role: Role, msg: AvroMessage, record: RawRecord) -> None:
    if role is Role.AGENCY_OUTBOX:
        before = _open_ids()
        await _opened_or_changed(book.message_from(str(msg.envelope["sender"]), runtime.clock.now_ms()), before)


accept_observers.append(_agency_alive)


async def _on_dead_letter(record: RawRecord, spec: TopicSpec | None, error: HubError,
                          decoded: AvroMessage | None) -> None:
    """Bad records are the anomaly of whoever sent them: an agency's error rate, the court gateway's spike;
    only records from no known principal count against the hub."""
    now = runtime.clock.now_ms()
    before = _open_ids()
    if spec is not None and spec.role is Role.AGENCY_OUTBOX and spec.agency:
        await _opened_or_changed(book.error_from(spec.agency, now), before)
        return
    principal = next(iter(spec.producers)) if spec is not None and len(spec.producers) == 1 else HUB
    await _opened_or_changed(book.dead_letter(principal, now), before)


dead_letters.observers.append(_on_dead_letter)


@agency_route(HEARTBEAT)
async def heartbeat(msg: AvroMessage, record: RawRecord) -> None:
    body = msg.body
    before = _open_ids()
    changed = book.heartbeat(str(msg.envelope["sender"]), body["status"], int(body["interval_ms"]),
                             runtime.clock.now_ms(), _mono_ms())
    await _opened_or_changed(changed or book.open_for(str(msg.envelope["sender"])), before)


@agency_route(ERROR_REPLY)
async def agency_error(msg: AvroMessage, record: RawRecord) -> None:
    """An agency could not process a request: the court is told, the request failed, the error counted."""
    agency = str(msg.envelope["sender"])
    before = _open_ids()
    await _opened_or_changed(book.error_from(agency, runtime.clock.now_ms()), before)
    rec = requests.get(msg.request_id)
    if rec is not None and rec["agency"] == agency:
        await forward("court.replies", rec["case"], record.value or b"", msg.message_type, request_id=rec["id"])
        if can_transition(rec, State.FAILED):
            requests[rec["id"]] = transition(rec, State.FAILED, runtime.clock.now_ms())


async def _ack(msg: AvroMessage, record: RawRecord) -> None:
    body = msg.body
    if book.acknowledge(body["anomaly_id"], str(msg.envelope["sender"]), runtime.clock.now_ms()):
        runtime.metrics.notices_acknowledged_total.inc()


agency_route(NOTICE_ACK)(_ack)
court_route(NOTICE_ACK)(_ack)


# --- time-driven work ---------------------------------------------------------------------------------
@app.timer(interval=1.0)  # type: ignore[untyped-decorator]
async def sweep_anomalies() -> None:
    now = runtime.clock.now_ms()
    before = _open_ids()
    for anomaly in book.sweep(now, _mono_ms()):
        await _opened_or_changed(anomaly, before)
    for anomaly in book.anomalies.values():
        recipients = anomaly.recipients() or [COURT_GATEWAY]
        untold = [r for r in recipients if r not in anomaly.notices or anomaly.notices[r].delivered_ms is None]
        if anomaly.open and untold:  # not delivered yet, or a court that joined since
            await notify(anomaly)
    for anomaly, notice in book.late_notices(now):
        runtime.metrics.notices_overdue_total.inc()
        log.error("notice of %s to %s not delivered within 24 hours: escalated to operators", anomaly.anomaly_id,
                  notice.recipient)
        await emit("ops.anomalies", anomaly.anomaly_id, message(
            ANOMALY_NOTICE, envelope(runtime.clock, request_id=anomaly.anomaly_id, recipient="ops",
                                     correlation_id=anomaly.anomaly_id),
            {**notice_body(anomaly, notice),
             "description": f"ESCALATED: the notice to {notice.recipient} was not delivered within 24 hours "
                            f"(002 §4(五)); {anomaly.description}"}))


def _observe_request(key: str, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    request_counts.observe(key, row, old)
    if row.get("state") == State.DELIVERED.value and (old is None or old.get("state") != State.DELIVERED.value):
        book.court_sent(str(row["agency"]), str(row["court"]), str(row["type"]))  # told by the next sweep


requests.observers.append(_observe_request)


@app.timer(interval=5.0)  # type: ignore[untyped-decorator]
async def refresh_request_gauges() -> None:
    _counts()  # once, after recovery: one scan, then row-by-row updates
    gauge_out, gauge_over = runtime.metrics.outstanding_requests, runtime.metrics.overdue_requests
    gauge_out.clear()
    gauge_over.clear()
    for (agency, type_), n in request_counts.nonzero(request_counts.outstanding).items():
        gauge_out.labels(agency, type_).set(n)
    for (agency, type_), n in request_counts.nonzero(request_counts.overdue).items():
        gauge_over.labels(agency, type_).set(n)


@app.task  # type: ignore[untyped-decorator]
async def detect_unclean_restart() -> None:
    """A worker that did not stop cleanly left its marker behind: that restart is a hub fault."""
    marker = Path(settings.data_dir) / RUNNING_MARKER
    unclean = marker.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()), encoding="utf-8")
    if unclean:
        before = _open_ids()
        anomaly = book.hub_fault(f"hub worker restarted after an unclean stop (marker {marker.name})",
                                 runtime.clock.now_ms())
        anomaly.resolved_ms = runtime.clock.now_ms()  # running again: notice and resolution together
        await _opened_or_changed(anomaly, before)


# --- consumer lag ---------------------------------------------------------------------------------------
LAG_THRESHOLD = 10_000
LAG_ROLES = (Role.COURT_REQUESTS, Role.AGENCY_OUTBOX)
_lag_clients: dict[str, Any] = {}


async def measure_lag() -> dict[str, int]:
    """Messages on the hub's input topics not yet committed by its consumer group, by role."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    kwargs = settings.kafka_client_kwargs()
    if not _lag_clients:
        _lag_clients["admin"] = AIOKafkaAdminClient(**kwargs)
        _lag_clients["consumer"] = AIOKafkaConsumer(enable_auto_commit=False, **kwargs)
        await _lag_clients["admin"].start()
        await _lag_clients["consumer"].start()
    committed = await _lag_clients["admin"].list_consumer_group_offsets(settings.app_id)
    lag: dict[str, int] = {}
    for role in LAG_ROLES:
        tps = [TopicPartition(settings.topic(s.name), p) for s in runtime.catalog.by_role(role)
               for p in range(s.partitions)]
        ends = await _lag_clients["consumer"].end_offsets(tps)
        lag[role.value] = sum(
            max(ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0), 0)
            for tp in tps
        )
    return lag


_lagging: dict[str, int] = {}


@app.timer(interval=10.0)  # type: ignore[untyped-decorator]
async def watch_consumer_lag() -> None:
    from aiokafka.errors import KafkaError

    try:
        lag = await measure_lag()
    except (KafkaError, OSError) as exc:
        log.warning("consumer lag not measured: %s", exc)
        return
    now = runtime.clock.now_ms()
    for role, value in lag.items():
        runtime.metrics.consumer_lag_messages.labels(role).set(value)
        _lagging[role] = _lagging.get(role, 0) + 1 if value > LAG_THRESHOLD else 0
    before = _open_ids()
    hub = book.open_for(HUB)
    if any(n >= 2 for n in _lagging.values()) and hub is None:
        await _opened_or_changed(book.hub_fault(f"consumer lag above {LAG_THRESHOLD}: {lag}", now), before)
    elif hub is not None and hub.description.startswith("consumer lag") and not any(_lagging.values()):
        hub.resolved_ms = now
        await _opened_or_changed(hub, before)
