"""What every worker tells the anomaly book's owner (002 §4(五)): observations, sent to partition 0.

Each worker sees only its own partitions: heartbeats and errors of the agencies whose outbox partitions it
owns, dead letters, requests passing their warning, acknowledgements, its own faults.  It buffers them
and sends them as one ``AnomalyObservations`` record to partition :data:`OWNER_PARTITION` of ``hub.ticks``
every second and before every offset commit (so what a committed record showed is never lost with its
worker), where the one owner of that partition keeps the book (:mod:`hub.anomaly_notices`).

Who waits on an agency is known only where the requests are: when the owner opens an anomaly it asks
every partition (``AnomalyWatch``); each answers with the courts waiting there, and while the anomaly is
open a court whose request reaches the agency joins it (``joined``).

Heartbeats are timed by the broker, so a heartbeat read late still shows when the agency was alive; but one not
read yet — the worker is behind on the outbox, e.g. its event loop is busy with a burst of court requests — must not
count as missing.  So every report also says how far the worker has read each agency outbox partition that is
behind (``lagging``: the append time of the last record read, the records after it), and once more when such a
partition is caught up again; the owner judges that agency's heartbeats against it
(:meth:`hub.anomaly.AnomalyBook.heartbeat_reference`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from hub.anomaly import HUB
from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.envelope import envelope, message
from hub.errors import HubError
from hub.flows.correlation import forward_answer
from hub.lifecycle import RequestRow, State, can_transition, transition
from hub.request_gauges import RequestCounts
from topics.catalog import Role, TopicSpec

log = logging.getLogger(__name__)

#: the partition of ``hub.ticks`` whose owner keeps the anomaly book
OWNER_PARTITION = 0
OBSERVATIONS = "cn.court.interop.ops.AnomalyObservations"
WATCH = "cn.court.interop.ops.AnomalyWatch"
HEARTBEAT = "cn.court.interop.ops.Heartbeat"
ERROR_REPLY = "cn.court.interop.ops.ErrorReply"
NOTICE_ACK = "cn.court.interop.ops.NoticeAck"
#: an outbox partition is reported behind only once the last record read waited longer than this: a busy worker
#: is a few records behind most of the time, and a heartbeat interval is seconds
LAG_WORTH_MS = 1_000
#: a worker with nothing to report still reports this often
KEEPALIVE_S = 2.0


def wall_ms() -> int:
    """The worker's wall clock: heartbeats measure liveness across workers, not legal time."""
    return int(time.time() * 1000)


@dataclass
class Observations:
    """What this worker saw since its last report, as the ``AnomalyObservations`` body lists."""

    messages: dict[str, int] = field(default_factory=dict)  # agency -> latest hub time
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    joined: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    lagging: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def body(self, worker: str) -> dict[str, Any]:
        lists = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "messages"}
        return {"worker": worker, "messages": [{"agency": a, "at_ms": t} for a, t in self.messages.items()], **lists}


class AnomalyFeed:
    """This worker's observations, and its part in the owner's questions."""

    def __init__(self, ctx: HubContext, counts: Callable[[], RequestCounts]) -> None:
        self.ctx = ctx
        self.counts = counts
        self.pending = Observations()
        #: partition -> agency -> the id of its open anomaly (the owner's last AnomalyWatch to that partition)
        self.watching: dict[int, dict[str, str]] = {}
        self.worker = f"{ctx.settings.app_id}/{os.getpid()}"
        #: physical outbox topic -> its agency
        self.outboxes = {ctx.settings.topic(spec.name): spec.agency
                         for spec in ctx.runtime.catalog.by_role(Role.AGENCY_OUTBOX) if spec.agency}
        #: outbox partitions last reported behind (reported once more when caught up)
        self.behind: set[tuple[str, int]] = set()
        #: when this worker last sent a report: one goes at least every KEEPALIVE_S, empty if need be, so the owner
        #: knows up to when it has heard everything this worker read (hub.anomaly.AnomalyBook.heartbeat_reference)
        self.sent_at = time.monotonic()

    # --- what this worker observes ------------------------------------------------------------------------
    async def request_past_warning(self, rec: RequestRow, now_ms: int) -> None:
        if rec.agency not in ("intensive", HUB):
            self.pending.warnings.append({"agency": rec.agency, "court": rec.court, "message_type": rec.message_type,
                                          "delivered_ms": rec.accepted_ms, "at_ms": now_ms})

    async def agency_alive(self, role: Role, msg: AvroMessage, record: RawRecord) -> None:
        if role is Role.AGENCY_OUTBOX:
            self.pending.messages[str(msg.envelope["sender"])] = self.ctx.clock.now_ms()

    async def dead_lettered(self, record: RawRecord, spec: TopicSpec | None, error: HubError,
                            decoded: AvroMessage | None) -> None:
        """Bad records are the anomaly of whoever sent them: an agency's error rate, the court gateway's spike;
        only records from no known principal count against the hub."""
        now = self.ctx.clock.now_ms()
        if spec is not None and spec.role is Role.AGENCY_OUTBOX and spec.agency:
            self.pending.errors.append({"agency": spec.agency, "at_ms": now})
            return
        principal = next(iter(spec.producers)) if spec is not None and len(spec.producers) == 1 else HUB
        self.pending.dead_letters.append({"principal": principal, "at_ms": now})

    def request_written(self, row: RequestRow, old: RequestRow | None) -> None:
        """A request reached an agency with an open anomaly: its court joins it."""
        if row.state is State.DELIVERED and (old is None or old.state is not State.DELIVERED) \
                and row.agency in self.watching.get(row.partition, {}):
            self.pending.joined.append({"agency": row.agency, "court": row.court, "message_type": row.message_type})

    async def heartbeat(self, msg: AvroMessage, record: RawRecord) -> None:
        body = msg.body
        self.pending.heartbeats.append({"agency": str(msg.envelope["sender"]), "status": body["status"],
                                        "interval_ms": int(body["interval_ms"]), "at_ms": self.ctx.clock.now_ms(),
                                        # when the broker appended it (outboxes are LogAppendTime): a backlog the
                                        # hub works off late still shows when the agency was alive
                                        "wall_ms": record.timestamp_ms or wall_ms()})

    async def agency_error(self, msg: AvroMessage, record: RawRecord) -> None:
        """An agency could not process a request: the court is told, the request failed, the error counted."""
        ctx = self.ctx
        agency = str(msg.envelope["sender"])
        self.pending.errors.append({"agency": agency, "at_ms": ctx.clock.now_ms()})
        rec = ctx.requests.get(msg.request_id)
        if rec is not None and rec.agency == agency:
            await forward_answer(ctx, rec, msg, record)
            if can_transition(rec, State.FAILED):
                ctx.requests.put(transition(rec, State.FAILED, ctx.clock.now_ms()))

    async def acknowledged(self, msg: AvroMessage, record: RawRecord) -> None:
        self.pending.acks.append({"anomaly_id": msg.body["anomaly_id"], "by": str(msg.envelope["sender"]),
                                  "at_ms": self.ctx.clock.now_ms()})

    def hub_fault(self, description: str, *, resolved: bool = False) -> None:
        """The hub itself is at fault (an unclean restart, lag); ``resolved``: over already, or cleared."""
        self.pending.faults.append({"description": description, "resolved": resolved,
                                    "at_ms": self.ctx.clock.now_ms()})

    # --- the owner's questions --------------------------------------------------------------------------
    async def watch(self, msg: AvroMessage, record: RawRecord) -> None:
        """The anomalies open now; for those asked about, who waits on their agency in this partition."""
        partition = record.partition
        self.watching[partition] = {o["agency"]: o["anomaly_id"] for o in msg.body["open"]}
        agency_of = {o["anomaly_id"]: o["agency"] for o in msg.body["open"]}
        counts = self.counts()
        for anomaly_id in msg.body["ask"]:
            agency = agency_of.get(anomaly_id)
            if agency is None:
                continue
            for court, message_type, requests in counts.courts_waiting_on(agency, partition):
                self.pending.waiting.append({"anomaly_id": anomaly_id, "partition": partition, "court": court,
                                             "message_type": message_type, "requests": requests})
            self.pending.answered.append({"anomaly_id": anomaly_id, "partition": partition})

    # --- the report ---------------------------------------------------------------------------------------
    def outbox_progress(self) -> list[dict[str, Any]]:
        """How far this worker has read each agency outbox partition that is behind; a partition reported behind
        before and caught up now (or less than :data:`LAG_WORTH_MS` behind) is reported once with ``behind`` 0.
        A partition no longer read here (revoked) is dropped silently: the owner stops counting it after
        LAG_REPORT_TTL_MS."""
        progress, read, now = [], set(), self.ctx.input.clock_ms()
        for topic, partition in self.ctx.input.read_partitions():
            agency = self.outboxes.get(topic)
            through = self.ctx.input.read_through(topic, partition) if agency is not None else None
            if agency is None or through is None:
                continue
            key = (topic, partition)
            read.add(key)
            if through.behind > 0 and through.appended_ms is not None and now - through.appended_ms > LAG_WORTH_MS:
                self.behind.add(key)
                progress.append({"agency": agency, "partition": partition, "read_ms": through.appended_ms,
                                 "behind": through.behind})
            elif key in self.behind:
                self.behind.discard(key)
                progress.append({"agency": agency, "partition": partition, "read_ms": through.appended_ms or 0,
                                 "behind": 0})
        self.behind &= read
        return progress

    async def flush(self) -> None:
        """Send what was observed to the book's owner; returns once the broker has it."""
        observed, self.pending = self.pending, Observations()
        observed.lagging = self.outbox_progress()
        if not observed and time.monotonic() - self.sent_at < KEEPALIVE_S:
            return
        self.sent_at = time.monotonic()
        ctx = self.ctx
        msg = message(OBSERVATIONS, envelope(ctx.clock, request_id=f"observations-{self.worker}", recipient=HUB),
                      observed.body(self.worker))
        sent = await ctx.sender.send(ctx.settings.topic(ctx.topics.ticks), str(OWNER_PARTITION).encode(),
                                     ctx.codec.encode_message(msg), partition=OWNER_PARTITION, headers=[])
        await sent


def register(ctx: HubContext, counts: Callable[[], RequestCounts]) -> AnomalyFeed:
    feed = AnomalyFeed(ctx, counts)
    hooks = ctx.hooks
    hooks.on_warning(feed.request_past_warning)
    hooks.on_accept(feed.agency_alive)
    hooks.on_dead_letter(feed.dead_lettered)
    hooks.on_request_written(feed.request_written)
    hooks.agency_route(HEARTBEAT)(feed.heartbeat)
    hooks.agency_route(ERROR_REPLY)(feed.agency_error)
    hooks.agency_route(NOTICE_ACK)(feed.acknowledged)
    hooks.court_route(NOTICE_ACK)(feed.acknowledged)
    hooks.internal_route(WATCH)(feed.watch)
    hooks.every(1.0)(feed.flush)
    hooks.before_commit(feed.flush)
    return feed
