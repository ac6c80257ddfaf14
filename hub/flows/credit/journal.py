"""The list's journal: the one ordered place where decisions are sequenced and the list clock runs.

court → ``court.requests`` (ListDecision, checked on its own by :mod:`hub.flows.credit.handlers`) →
journal ``<app id>-credit-journal`` (1 partition, kept forever) → :class:`~hub.flows.credit.sequencer.Sequencer`
(checked against the list, publication id, digest) → ``credit.list.history`` (ListEvent) +
``credit.list.current`` (ListEntry; tombstone on removal), see :mod:`hub.flows.credit.publisher`.  The
platform's ListAcks are journalled too: they stop the 3-working-day clock of a term-end deletion
(失信规定 art. 10 para 2); a late one is an ``ANSWERED_LATE`` notice, an overdue one a
``DeadlineEvent(EXPIRED)`` on ``court.replies`` and ``court.notices``, all counted in
``interop_hub_deadline_events_total{message_type="ListDecision"}``.  Why a journal and not a table: see
:mod:`hub.flows.credit.sequencer`.

A consumer group of its own (``topics.catalog.credit_sequencer_group_id``) gives the journal's only
partition to one worker: the single writer of the history, which also runs the list clock.  A batch is
committed once its publications are on the broker; a batch that keeps failing is retried
:data:`BATCH_ATTEMPTS` times with back-off, then each of its records is dead-lettered (a decision as the
court's record, so the court gets its ErrorReply) and the batch committed.  Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hub.codec import AvroMessage
from hub.context import HubContext
from hub.deadletter import RawRecord
from hub.errors import CodecError, HubError, InternalError
from hub.flows.credit.list_log import LogBatch, read_log
from hub.flows.credit.messages import ACK, DEADLINE_EVENT, DECISION, DECISION_TYPE
from hub.flows.credit.publisher import DecisionOutcome, ListPublisher
from hub.flows.credit.rows import PendingAck, court_record_of, epoch_ms
from hub.flows.credit.sequencer import Sequencer
from hub.settings import HubSettings
from hub.topic_admin import TOPIC_ALREADY_EXISTS, check_topic_errors
from hub.transport import Headers, send_acked
from topics.catalog import Role, credit_sequencer_group_id

log = logging.getLogger(__name__)

JOURNAL_KEY = "list"
#: records sequenced per fetch of the journal (one commit each)
SEQUENCE_BATCH = 500
#: tries of one failing batch before its records are dead-lettered
BATCH_ATTEMPTS = 5
#: wait before the second try of a failing batch; doubled before each further one
BACKOFF_S = 0.5
#: how often the list clock runs (wall time; it reads the hub clock)
LIST_CLOCK_INTERVAL_S = 1.0

#: reads a single-partition log from its start (:func:`hub.flows.credit.list_log.read_log`)
LogReader = Callable[[HubSettings, str], AsyncIterator[LogBatch]]


def journal_topic(app_id: str) -> str:
    """The journal's name: under the app id, like faust's own internal topics."""
    return f"{app_id}-credit-journal"


def journal_record(record: Any) -> RawRecord:
    """An aiokafka ``ConsumerRecord`` of the journal as a :class:`RawRecord`."""
    return RawRecord(record.topic, record.partition, record.offset, record.key, record.value, tuple(record.headers))


class JournalOwnership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Kafka's group protocol gives the journal's only partition to one worker: the single writer."""

    def __init__(self, journal: CreditJournal) -> None:
        self.journal = journal

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.journal.owner.clear()
        self.journal.sequencer.ready = False  # another worker may publish meanwhile: rebuild from the history

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            self.journal.owner.set()


class CreditJournal:
    def __init__(self, ctx: HubContext, *, read: LogReader = read_log, backoff_s: float = BACKOFF_S) -> None:
        self.ctx = ctx
        self.topic = journal_topic(ctx.settings.app_id)
        self.sequencer = Sequencer(ctx.runtime.calendar.current)
        self.publisher = ListPublisher(ctx)
        self.read = read
        self.backoff_s = backoff_s
        self.court_requests_topic = ctx.settings.topic(ctx.runtime.catalog.one(Role.COURT_REQUESTS).name)
        self.lock = asyncio.Lock()  # one batch or one run of the list clock at a time
        #: set while this worker's consumer owns the journal's only partition
        self.owner = asyncio.Event()
        #: set once the journal topic exists (:meth:`run` creates it)
        self.writable = asyncio.Event()

    # --- writing ---------------------------------------------------------------------------------
    async def write(self, raw: bytes, headers: Headers) -> None:
        """Journal ``raw`` (a court's decision, the platform's ack, a deadline marker); waits for the ack."""
        await self.writable.wait()
        await send_acked(self.ctx.sender, self.topic, JOURNAL_KEY, raw, headers)

    async def create(self) -> None:
        """The journal: 1 partition, kept forever (its acknowledgements and escalations rebuild the deadlines),
        replicated like every catalog topic."""
        settings = self.ctx.settings
        admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
        await admin.start()
        try:
            configs = {"retention.ms": "-1", "retention.bytes": "-1",
                       "min.insync.replicas": str(settings.min_insync_replicas)}
            created = await admin.create_topics([NewTopic(self.topic, 1, settings.replication_factor,
                                                          topic_configs=configs)])
            check_topic_errors(created, "create the credit journal", ignore=frozenset({TOPIC_ALREADY_EXISTS}))
        except TopicAlreadyExistsError:
            log.debug("journal %s exists", self.topic)
        finally:
            await admin.close()

    # --- sequencing (the worker's background job) ----------------------------------------------------
    async def run(self) -> None:
        """Consume the journal in order; commit only once each batch is sequenced or dead-lettered."""
        settings = self.ctx.settings
        await self.create()
        self.writable.set()
        consumer = AIOKafkaConsumer(group_id=credit_sequencer_group_id(settings.app_id), enable_auto_commit=False,
                                    auto_offset_reset="earliest", **settings.kafka_client_kwargs())
        consumer.subscribe([self.topic], listener=JournalOwnership(self))
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=SEQUENCE_BATCH)
                for records in batch.values():
                    await self.sequence_batch([journal_record(r) for r in records])
                    await consumer.commit()
        finally:
            await consumer.stop()

    async def sequence_batch(self, records: list[RawRecord]) -> None:
        """Sequence one fetch of the journal: afterwards each record is sequenced or dead-lettered.

        An undecodable record is dead-lettered at once.  A failure of the batch (the broker, a publication
        that cannot be written) is retried with back-off from a state rebuilt from the history (decisions
        already published are skipped by request id); after :data:`BATCH_ATTEMPTS` tries every record of
        the batch is dead-lettered.  If even that fails, the error stops the job uncommitted (the worker
        restarts and reads the batch again).
        """
        decoded: list[tuple[AvroMessage, RawRecord]] = []
        for record in records:
            try:
                decoded.append((self.ctx.codec.decode(record.value or b""), record))
            except CodecError as exc:
                await self.ctx.dead_letters.undecodable(exc, record)
        async with self.lock:
            failure: Exception | None = None
            for attempt in range(1, BATCH_ATTEMPTS + 1):
                if attempt > 1:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 2))
                try:
                    await self._sequence_all(decoded)
                    return
                except Exception as exc:  # bounded: logged and retried, then the records are dead-lettered
                    failure = exc
                    self.sequencer.dirty = True  # some publications may be in the history: rebuild from it
                    log.exception("credit sequencer failed on a batch of %d (attempt %d of %d)", len(decoded),
                                  attempt, BATCH_ATTEMPTS)
            if failure is not None:
                await self._dead_letter_batch(decoded, failure)

    async def _sequence_all(self, decoded: list[tuple[AvroMessage, RawRecord]]) -> None:
        await self.ensure_ready()
        futures: list[Awaitable[int]] = []
        outcomes: list[DecisionOutcome] = []
        for msg, record in decoded:
            await self._sequence(msg, record, futures, outcomes)
        await self._confirm(futures)
        await self.publisher.send_outcomes(outcomes)

    async def _dead_letter_batch(self, decoded: list[tuple[AvroMessage, RawRecord]], failure: Exception) -> None:
        """Give up on a batch: every record is dead-lettered, a decision as the court's record (its ErrorReply)
        with a REFUSED outcome for its request row."""
        error = InternalError(f"the list sequencer gave up after {BATCH_ATTEMPTS} attempts: "
                              f"{type(failure).__name__}: {failure}")
        outcomes: list[DecisionOutcome] = []
        for msg, record in decoded:
            if msg.schema == DECISION:
                original = court_record_of(record.value or b"", record.headers, self.court_requests_topic)
                await self.ctx.dead_letters.reject(original, msg, error)
                outcomes.append(self.publisher.outcome(msg, original.partition, error=error))
            else:
                await self.ctx.dead_letters.reject(record, msg, error)
        await self.publisher.send_outcomes(outcomes)

    async def _sequence(self, msg: AvroMessage, record: RawRecord, futures: list[Awaitable[int]],
                        outcomes: list[DecisionOutcome]) -> None:
        ctx, sequencer = self.ctx, self.sequencer
        now = ctx.clock.now_ms()
        if msg.schema == DECISION:
            original = court_record_of(record.value or b"", record.headers, self.court_requests_topic)
            error: HubError | None = None
            try:
                event = sequencer.decide(msg.body, request_id=msg.request_id, sender=str(msg.envelope["sender"]),
                                         key=(original.key or b"").decode(), now_ms=now)
            except HubError as exc:
                error = exc
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                error = InternalError(f"{type(exc).__name__}: {exc}")
            if error is not None:
                await ctx.dead_letters.reject(original, msg, error)
                outcomes.append(self.publisher.outcome(msg, original.partition, error=error))
                return
            if event is not None:
                futures.extend(await self.publisher.publish(event))
                outcomes.append(self.publisher.outcome(msg, original.partition,
                                                       publication_id=int(event["publication_id"])))
        elif msg.schema == ACK:
            late = sequencer.note_ack(int(msg.body["publication_id"]), now)
            if late is not None:
                ctx.runtime.metrics.deadline_events_total.labels("answered_late", DECISION_TYPE).inc()
                await self.publisher.deadline_event(ctx.topics.court_notices, late, "ANSWERED_LATE", now)
        elif msg.schema == DEADLINE_EVENT and msg.envelope.get("correlation_id"):
            self._note_marker(msg)

    def _note_marker(self, msg: AvroMessage) -> None:
        """A deadline event the list clock journalled: that publication was warned about, or escalated."""
        publication = int(str(msg.envelope["correlation_id"]).rpartition("/")[2])
        if msg.body["kind"] == "WARNING":
            self.sequencer.note_warned(publication)
        else:
            self.sequencer.note_escalated(publication)

    async def _confirm(self, futures: list[Awaitable[int]]) -> None:
        for fut in futures:
            await fut
        self.sequencer.dirty = False
        self.publisher.update_gauges(self.sequencer.state)

    async def ensure_ready(self) -> None:
        """Rebuild the sequencer from the history and the journal unless it is current.

        A new working calendar (a schedule file loaded) also rebuilds it: every acknowledgement deadline
        is counted again, provisional ones become official.
        """
        ctx, sequencer = self.ctx, self.sequencer
        if sequencer.calendar is not ctx.runtime.calendar.current:
            sequencer.calendar = ctx.runtime.calendar.current
            sequencer.ready = False
        if sequencer.ready and not sequencer.dirty:
            return
        sequencer.reset()
        async for batch in self.read(ctx.settings, self.publisher.history_topic):
            for _offset, _raw, event in batch:
                sequencer.replay(event.body)
            ctx.runtime.metrics.replay_events_total.inc(len(batch))
        async for batch in self.read(ctx.settings, self.topic):
            for _offset, _raw, rec in batch:
                if rec.schema == ACK:
                    sequencer.note_ack(int(rec.body["publication_id"]), epoch_ms(rec.body["applied_at"]))
                elif rec.schema == DEADLINE_EVENT and rec.envelope.get("correlation_id"):
                    self._note_marker(rec)
        sequencer.ready = True
        self.publisher.update_gauges(sequencer.state)
        log.info("credit sequencer ready at publication %d, %d listings in force",
                 sequencer.state.last_publication_id, sequencer.state.size)

    # --- the list clock (the worker's periodic job) -------------------------------------------------
    async def run_list_clock(self) -> None:
        """Term ends (art. 10 para 2) and acknowledgement deadlines (art. 9-10), on the hub clock."""
        if not self.owner.is_set():
            return
        async with self.lock:
            try:
                await self.ensure_ready()
                now = self.ctx.clock.now_ms()
                futures: list[Awaitable[int]] = []
                for event in self.sequencer.expire(now):
                    futures.extend(await self.publisher.publish(event))
                await self._confirm(futures)
                for pending in self.sequencer.to_warn(now):
                    await self._warn(pending, now)
                for pending in self.sequencer.overdue(now):
                    await self._escalate(pending, now)
            except (KafkaError, HubError):
                # The timer must outlive any one failure: nothing unconfirmed stays in the state (it is
                # rebuilt from the history before the next run) and the next tick tries again.
                log.exception("credit list clock failed; rebuilding from the history")
                self.sequencer.dirty = True

    async def _warn(self, pending: PendingAck, now: int) -> None:
        """75 % of the 3 working days passed without the platform's acknowledgement: the court is warned."""
        self.ctx.runtime.metrics.deadline_events_total.labels("warning", DECISION_TYPE).inc()
        marker = await self.publisher.deadline_event(self.ctx.topics.court_notices, pending, "WARNING", now)
        self.sequencer.note_warned(pending.publication_id)
        await self.write(self.ctx.codec.encode_message(marker), [])

    async def _escalate(self, pending: PendingAck, now: int) -> None:
        """Overdue: the court gets the "not acknowledged in time" outcome and the escalation (as
        :mod:`hub.deadline_tracker`)."""
        topics = self.ctx.topics
        self.ctx.runtime.metrics.deadline_events_total.labels("expired", DECISION_TYPE).inc()
        await self.publisher.deadline_event(topics.court_replies, pending, "EXPIRED", now)
        marker = await self.publisher.deadline_event(topics.court_notices, pending, "EXPIRED", now)
        self.sequencer.note_escalated(pending.publication_id)
        await self.write(self.ctx.codec.encode_message(marker), [])
