"""Anomaly detection and the 24-hour notice (002 §4(五)) — pure state, no I/O.

An anomaly concerns one agency (or the hub itself).  It opens when

- the agency is *silent*: a request to it passed its warning threshold and nothing has come from
  the agency since that request was delivered (AGENCY_SILENT);
- its error replies (error messages it sent, replies the hub had to reject) reach a threshold
  within a window (ERROR_RATE);
- it announced it is out of service (OUT_OF_SERVICE) or its heartbeats stopped (HEARTBEAT_MISSING) — judged
  against how far the hub has read the agency's outbox, not only the owner's wall clock: while a worker reports an
  outbox partition of the agency behind (:meth:`AnomalyBook.outbox_read`), heartbeats the hub has not read yet
  are not missing ones (:meth:`AnomalyBook.heartbeat_reference`);
- a principal sent a burst of records the hub had to dead-letter (ERROR_RATE of that principal: a court
  adapter's malformed messages are the court gateway's anomaly, not the hub's);
- the hub itself is at fault (HUB_FAULT): dead letters from no known principal, an unclean worker
  restart, consumer lag.

"双方应于系统发生异常的 24 小时内通知对方": every party affected when the anomaly is detected — the agency
and every court with a request outstanding to it at that moment (reported by each hub partition:
:meth:`AnomalyBook.courts_waiting`) — is notified at detection, due within 24 hours of the anomaly's start;
a court that sends to the agency while the anomaly is open joins it and is told at once (due 24 hours from
joining).  A notice not
delivered in time is counted late and escalated (:meth:`AnomalyBook.late_notices`); notices are tracked
until acknowledged; a resolution notice follows when the anomaly clears.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

NOTIFY_WITHIN_MS = 24 * 3600 * 1000
ERROR_WINDOW_MS = 10 * 60 * 1000
ERROR_THRESHOLD = 5
HEARTBEAT_MISSES = 3
DEAD_LETTER_WINDOW_MS = 5 * 60 * 1000
DEAD_LETTER_SPIKE = 20
#: resolved anomalies whose every notice went out are forgotten after this long (ops.anomalies keeps them)
KEEP_RESOLVED_MS = 30 * 24 * 3600 * 1000
#: a worker's report that an agency's outbox partition is behind counts this long (the owner's wall clock): a
#: worker that died or lost the partition stops reporting, and a dead agency is detected again
LAG_REPORT_TTL_MS = 10_000
#: ids of the last reports applied, so a report delivered again (after a crash) is applied once
OBSERVED_KEEP = 1000
HUB = "hub"


@dataclass
class Notice:
    recipient: str  # agency code, or a court code
    message_id: str | None = None
    delivered_ms: int | None = None
    acked_ms: int | None = None
    resolution_delivered_ms: int | None = None
    escalated: bool = False
    #: 24 hours from when this party became affected (a court may join an open anomaly later)
    due_ms: int | None = None


@dataclass
class Anomaly:
    anomaly_id: str
    kind: str
    agency: str  # "hub" for hub faults
    detected_ms: int
    description: str
    courts: set[str] = field(default_factory=set)
    message_types: set[str] = field(default_factory=set)
    outstanding: int = 0
    resolved_ms: int | None = None
    notices: dict[str, Notice] = field(default_factory=dict)
    #: hub partitions that reported who waits on the agency (each counted once)
    answered: set[int] = field(default_factory=set)

    @property
    def open(self) -> bool:
        return self.resolved_ms is None

    @property
    def notify_due_ms(self) -> int:
        return self.detected_ms + NOTIFY_WITHIN_MS

    def recipients(self) -> list[str]:
        parties = [] if self.agency == HUB else [self.agency]
        return parties + sorted(self.courts)


@dataclass
class OutboxLag:
    """A worker read one of the agency's outbox partitions only up to ``read_ms`` (the broker's append time of the
    last record it read); ``behind`` records were waiting after it."""

    read_ms: int
    behind: int
    #: the book owner's wall clock when the report was applied (reports older than LAG_REPORT_TTL_MS are ignored)
    reported_ms: int


@dataclass
class AgencyHealth:
    agency: str
    last_message_ms: int | None = None
    last_heartbeat_ms: int | None = None
    heartbeat_interval_ms: int | None = None
    out_of_service: bool = False
    errors: deque[int] = field(default_factory=deque)
    #: outbox partition -> the last report that it is behind (removed when reported caught up, or stale)
    lagging: dict[int, OutboxLag] = field(default_factory=dict)


class AnomalyBook:
    """Every agency's health and every anomaly, with the decisions of when to open and resolve."""

    def __init__(self) -> None:
        self.health: dict[str, AgencyHealth] = {}
        self.anomalies: dict[str, Anomaly] = {}
        self.dead_letters: dict[str, deque[int]] = {}  # principal -> when its records were dead-lettered
        self.seq = 0
        self.observed: deque[str] = deque(maxlen=OBSERVED_KEEP)
        #: worker -> (when it sent its last report applied here, the owner's wall clock when applied); in memory:
        #: a new owner hears from every worker within a second
        self.reports: dict[str, tuple[int, int]] = {}

    def worker_reported(self, worker: str, sent_ms: int, wall_ms: int) -> None:
        """``worker``'s report sent at ``sent_ms`` is applied: every heartbeat it had read by then is known here."""
        previous = self.reports.get(worker)
        if previous is None or sent_ms >= previous[0]:
            self.reports[worker] = (sent_ms, wall_ms)

    def first_report(self, report_id: str) -> bool:
        """Whether the report ``report_id`` is new (and from now on known)."""
        if report_id in self.observed:
            return False
        self.observed.append(report_id)
        return True

    def _agency(self, code: str) -> AgencyHealth:
        return self.health.setdefault(code, AgencyHealth(code))

    def open_for(self, agency: str) -> Anomaly | None:
        return next((a for a in self.anomalies.values() if a.agency == agency and a.open), None)

    def _open(self, kind: str, agency: str, now_ms: int, description: str) -> Anomaly:
        existing = self.open_for(agency)
        if existing is not None:
            return existing
        self.seq += 1
        anomaly = Anomaly(f"{agency}-{kind.lower()}-{now_ms}-{self.seq}", kind, agency, now_ms, description)
        self.anomalies[anomaly.anomaly_id] = anomaly
        return anomaly

    def courts_waiting(self, anomaly_id: str, partition: int,
                       waiting: Iterable[tuple[str, str, int]]) -> Anomaly | None:
        """Hub partition ``partition`` reports who waits on the anomaly's agency: (court, message type, requests).
        Everyone waiting is affected from the start; a partition's report counts once.  Returns the anomaly
        if that added a court."""
        anomaly = self.anomalies.get(anomaly_id)
        if anomaly is None or partition in anomaly.answered:
            return None
        anomaly.answered.add(partition)
        before = len(anomaly.courts)
        for court, message_type, requests in waiting:
            anomaly.courts.add(court)
            anomaly.message_types.add(message_type)
            anomaly.outstanding += requests
        return anomaly if len(anomaly.courts) > before else None

    def court_sent(self, agency: str, court: str, message_type: str) -> Anomaly | None:
        """A court's request reached ``agency``: if an anomaly of it is open, the court is affected too."""
        anomaly = self.open_for(agency)
        if anomaly is None or agency == HUB:
            return None
        anomaly.outstanding += 1
        anomaly.message_types.add(message_type)
        if court in anomaly.courts:
            return None
        anomaly.courts.add(court)
        return anomaly

    def _resolve(self, agency: str, kinds: set[str], now_ms: int) -> Anomaly | None:
        anomaly = self.open_for(agency)
        if anomaly is not None and anomaly.kind in kinds:
            anomaly.resolved_ms = now_ms
            return anomaly
        return None

    # --- what the hub observes -------------------------------------------------------------------
    def message_from(self, agency: str, now_ms: int) -> Anomaly | None:
        """Anything from the agency: it is not silent (any more)."""
        self._agency(agency).last_message_ms = now_ms
        return self._resolve(agency, {"AGENCY_SILENT", "HEARTBEAT_MISSING"}, now_ms)

    def heartbeat(self, agency: str, status: str, interval_ms: int, now_ms: int, wall_ms: int) -> Anomaly | None:
        """``wall_ms``: the wall clock of the worker that saw it — heartbeats measure liveness, not legal time."""
        health = self._agency(agency)
        if health.last_heartbeat_ms is not None and wall_ms < health.last_heartbeat_ms:
            return None  # an older heartbeat reported late (by another worker): the newer one stands
        health.last_heartbeat_ms, health.heartbeat_interval_ms = wall_ms, interval_ms
        resolved = self.message_from(agency, now_ms)
        if status == "OUT_OF_SERVICE":
            health.out_of_service = True
            self._open("OUT_OF_SERVICE", agency, now_ms, f"{agency} announced it is out of service")
            return None
        if health.out_of_service:
            health.out_of_service = False
            return self._resolve(agency, {"OUT_OF_SERVICE"}, now_ms)
        return resolved

    def outbox_read(self, agency: str, partition: int, read_ms: int, behind: int, wall_ms: int) -> None:
        """A worker read ``agency``'s outbox ``partition`` up to ``read_ms`` (broker time) with ``behind`` records
        after it (0: caught up).  ``wall_ms``: the owner's wall clock as it applies the report."""
        if behind > 0:
            self._agency(agency).lagging[partition] = OutboxLag(read_ms, behind, wall_ms)
        elif agency in self.health:
            self.health[agency].lagging.pop(partition, None)

    def heartbeat_reference(self, health: AgencyHealth, wall_ms: int) -> int:
        """The time the agency's heartbeats are judged at: the earliest point up to which a lagging outbox partition
        of it is read (reported within LAG_REPORT_TTL_MS), else ``wall_ms`` — the hub does not blame an agency for
        heartbeats it has not read yet.  Stale reports are dropped."""
        # "not renewed" is measured against the newest report applied, not the clock: when the owner itself was
        # stalled (its event loop busy for seconds), every report is old, and none is stale
        newest = max((applied for _, applied in self.reports.values()), default=wall_ms)
        for partition in [p for p, lag in health.lagging.items() if newest - lag.reported_ms > LAG_REPORT_TTL_MS]:
            del health.lagging[partition]
        # nor for heartbeats a worker read but whose report waits behind the owner's own backlog (hub.ticks
        # partition 0): the book knows each worker's heartbeats only up to its last report applied here
        sent = [at for at, applied in self.reports.values() if newest - applied <= LAG_REPORT_TTL_MS]
        return min([wall_ms, *sent, *(lag.read_ms for lag in health.lagging.values())])

    def past_warning(self, agency: str, court: str, message_type: str, delivered_ms: int,
                     now_ms: int) -> Anomaly | None:
        """A request to ``agency`` passed its warning threshold: silent if nothing came since delivery."""
        health = self._agency(agency)
        anomaly = self.open_for(agency)
        # nothing *after* delivery (a manual clock can give both the same millisecond)
        if anomaly is None and (health.last_message_ms is None or health.last_message_ms <= delivered_ms):
            anomaly = self._open("AGENCY_SILENT", agency, now_ms,
                                 f"no answer from {agency} to requests past their warning threshold")
        if anomaly is not None and court not in anomaly.courts:
            anomaly.courts.add(court)
            anomaly.message_types.add(message_type)
            anomaly.outstanding += 1
        return anomaly

    def error_from(self, agency: str, now_ms: int) -> Anomaly | None:
        errors = self._agency(agency).errors
        errors.append(now_ms)
        while errors and errors[0] < now_ms - ERROR_WINDOW_MS:
            errors.popleft()
        if len(errors) >= ERROR_THRESHOLD and self.open_for(agency) is None:
            return self._open("ERROR_RATE", agency, now_ms,
                              f"{len(errors)} error replies from {agency} within {ERROR_WINDOW_MS // 60000} minutes")
        return None

    def dead_letter(self, principal: str, now_ms: int) -> Anomaly | None:
        """A record from ``principal`` (HUB: from no known principal) was dead-lettered; a spike opens its anomaly."""
        window = self.dead_letters.setdefault(principal, deque())
        window.append(now_ms)
        while window and window[0] < now_ms - DEAD_LETTER_WINDOW_MS:
            window.popleft()
        if len(window) < DEAD_LETTER_SPIKE or self.open_for(principal) is not None:
            return None
        if principal == HUB:
            return self._open("HUB_FAULT", HUB, now_ms, f"dead-letter spike: {len(window)} in 5 minutes")
        return self._open("ERROR_RATE", principal, now_ms,
                          f"dead-letter spike: {len(window)} records from {principal} rejected in 5 minutes")

    def hub_fault(self, description: str, now_ms: int) -> Anomaly:
        return self._open("HUB_FAULT", HUB, now_ms, description)

    def sweep(self, now_ms: int, wall_ms: int) -> list[Anomaly]:
        """Time-driven changes: missing heartbeats open, quiet error windows and spikes resolve.  ``wall_ms``: the
        owner's wall clock (heartbeats are judged at :meth:`heartbeat_reference`)."""
        changed = []
        for health in self.health.values():
            interval = health.heartbeat_interval_ms
            reference = self.heartbeat_reference(health, wall_ms)
            if (interval and health.last_heartbeat_ms is not None and not health.out_of_service
                    and reference - health.last_heartbeat_ms > HEARTBEAT_MISSES * interval
                    and self.open_for(health.agency) is None):
                changed.append(self._open("HEARTBEAT_MISSING", health.agency, now_ms,
                                          f"no heartbeat from {health.agency} for {HEARTBEAT_MISSES} intervals"))
            while health.errors and health.errors[0] < now_ms - ERROR_WINDOW_MS:
                health.errors.popleft()
            if not health.errors:
                resolved = self._resolve(health.agency, {"ERROR_RATE"}, now_ms)
                if resolved:
                    changed.append(resolved)
        for principal, window in self.dead_letters.items():
            while window and window[0] < now_ms - DEAD_LETTER_WINDOW_MS:
                window.popleft()
            spike = self.open_for(principal)
            if spike is not None and not window and spike.description.startswith("dead-letter spike"):
                spike.resolved_ms = now_ms
                changed.append(spike)
        return changed

    def late_notices(self, now_ms: int) -> list[tuple[Anomaly, Notice]]:
        """Notices past their 24 hours and not delivered in them, each returned (and marked escalated) once."""
        late = []
        for anomaly in self.anomalies.values():
            for notice in anomaly.notices.values():
                due = notice.due_ms if notice.due_ms is not None else anomaly.notify_due_ms
                undelivered = notice.delivered_ms is None or notice.delivered_ms > due
                if undelivered and now_ms > due and not notice.escalated:
                    notice.escalated = True
                    late.append((anomaly, notice))
        return late

    def forget_settled(self, now_ms: int) -> list[str]:
        """Resolved anomalies long past whose every notice and resolution went out: dropped from the book."""
        settled = [a.anomaly_id for a in self.anomalies.values()
                   if a.resolved_ms is not None and now_ms - a.resolved_ms > KEEP_RESOLVED_MS
                   and all(n.resolution_delivered_ms is not None or n.escalated for n in a.notices.values())]
        for anomaly_id in settled:
            del self.anomalies[anomaly_id]
        return settled

    def acknowledge(self, anomaly_id: str, by: str, now_ms: int) -> bool:
        anomaly = self.anomalies.get(anomaly_id)
        if anomaly is None or by not in anomaly.notices:
            return False
        anomaly.notices[by].acked_ms = now_ms
        return True
