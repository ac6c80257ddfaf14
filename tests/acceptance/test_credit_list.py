"""The dishonest-debtor list end to end (SPEC §5-§6, seed 003 失信规定 2017, memo §2 §4, tendering notice; 004 §23).

court (CourtClient + agents.credit.court_api) → court.requests → hub worker (checks, journal, sequencer)
→ credit.list.history / credit.list.current → simulated credit platform (``simulate credit``: copy, ListAck,
look-ups, restrictions) and joint-punishment units (``simulate joint``).  The tests run in order and share
the processes; the hub's time is read from GET /clock and moved with POST /clock, never assumed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from stdnum.cn import ric

from agents.court.adapter import CourtClient, person
from agents.credit import court_api as api
from agents.credit.joint import JointUnit
from agents.credit.replay import replay
from agents.credit.simulator import store_path
from agents.credit.store import ListStore
from agents.process import AgencyProcess
from hub.clock import CHINA_TZ
from hub.codec import AvroMessage, default_codec
from hub.domain import parse_resident_id
from hub.flows.credit.messages import ACK, DEADLINE_EVENT, LOOKUP_REPLY, RESTRICTION_ACK, term_end_for
from hub.metrics import sample_sum
from hub.process import WorkerProcess, settings_env
from hub.settings import HubSettings
from hub.working_calendar import WorkingCalendar
from tests.acceptance.hub_http import hub_now, metrics

CODEC = default_codec()
ERROR = "cn.court.interop.ops.ErrorReply"
HISTORY = "credit.list.history"
_cases = itertools.count(9001)
_ids = itertools.count(1)
_people = itertools.count(1)
STATE: dict[str, Any] = {}
CALENDAR = WorkingCalendar()


def due_ms(day: date) -> int:
    """End of the 3rd working day after ``day`` (失信规定 art. 9-10, 004 §23), on the official calendar."""
    return CALENDAR.add_working_days(day, 3).end_ms


def adult_id() -> str:
    n = next(_people)
    base = f"110105{1960 + n % 30}{(n // 30) % 12 + 1:02d}{(n // 360) % 28 + 1:02d}{n % 1000:03d}"
    return base + ric.calc_check_digit(base + "?")


def advance_to(worker: WorkerProcess, instant: datetime) -> datetime:
    seconds = max((instant - hub_now(worker)).total_seconds(), 0)
    status, body = worker.http("/clock", data={"advance_seconds": seconds})
    assert status == 200, body
    return datetime.fromisoformat(body["now"])


def metric(worker: WorkerProcess, name: str) -> float:
    return sample_sum(metrics(worker), name)


async def history_end(settings: HubSettings) -> int:
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic(HISTORY), 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def last_event(settings: HubSettings) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic(HISTORY), 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, end - 1)
        rec = await consumer.getone()
        return CODEC.decode(rec.value).body
    finally:
        await consumer.stop()


async def wait_history(settings: HubSettings, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while await history_end(settings) < count:
        assert time.monotonic() < deadline, f"history did not reach {count}"
        await asyncio.sleep(0.3)


def wait_store(settings: HubSettings, unit: str, publication: int, timeout: float = 60) -> ListStore:
    deadline = time.monotonic() + timeout
    while True:
        path = store_path(settings, unit)
        if path.exists():
            store = ListStore(path)
            if store.last_publication_id >= publication:
                return store
            store.close()
        assert time.monotonic() < deadline, f"{unit} did not reach publication {publication}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def platform(hub_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyProcess]:
    log = tmp_path_factory.mktemp("credit") / "platform.log"
    with AgencyProcess(hub_worker.settings, log, ["simulate", "credit"]) as proc:
        yield proc


@pytest.fixture(scope="module")
def caac(hub_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyProcess]:
    log = tmp_path_factory.mktemp("joint") / "caac.log"
    with AgencyProcess(hub_worker.settings, log, ["simulate", "joint", "--unit", "caac"]) as proc:
        yield proc


@pytest.fixture
async def court(platform: AgencyProcess, caac: AgencyProcess) -> AsyncIterator[CourtClient]:
    async with CourtClient(platform.settings, "京0105") as client:
        yield client


def listing(court: CourtClient, now: datetime, *, ground: str = "ABLE_BUT_REFUSING", id_number: str | None = None,
            term_start: date | None = None, **over: Any) -> tuple[AvroMessage, str]:
    case = court.case(f"（2024）京0105执{next(_cases)}号", date(2024, 3, 1))
    id_number = id_number or adult_id()
    day = now.astimezone(CHINA_TZ).date()
    subject = {**person("失信人", id_number), "gender": "MALE"}
    age = parse_resident_id(id_number).age_on(day)
    content = api.content(court, case, subject, age=over.pop("age", age))
    msg = api.decision(court, listing_id=f"SX{next(_ids):06d}-{now.timestamp():.0f}", action="LIST",
                       decided_at=now, ground=ground, content=content, term_start=term_start or day, **over)
    return msg, case["case_number"]


async def ask(court: CourtClient, msg: AvroMessage, case: str, schema: str | None = ACK) -> AvroMessage:
    await api.send(court, msg, case)
    return (await court.wait_for(msg.request_id, schema=schema, timeout_s=60))[0]


# --- decisions, publication, acknowledgement, look-up --------------------------------------------------
async def test_listing_is_published_acknowledged_and_looked_up_art1_art6(court, hub_worker) -> None:
    """失信规定 art. 1, 6-8: a listing is published with its content; the platform acknowledges and answers."""
    now = hub_now(hub_worker)
    msg, case = listing(court, now)
    ack = await ask(court, msg, case)
    assert ack.body["status"] == "APPLIED" and ack.body["listing_id"] == msg.body["listing_id"]
    event = await last_event(court.settings)
    assert event["publication_id"] == ack.body["publication_id"] and event["list_digest"] == ack.body["list_digest"]
    subject_id = msg.body["content"]["subject"]["id_number"]
    reply = await ask(court, api.lookup(court, subject_id), case, LOOKUP_REPLY)
    assert reply.body["listed"] is True
    (entry,) = reply.body["entries"]
    assert entry["ground"] == "ABLE_BUT_REFUSING" and entry["content"]["obligation"]
    STATE.update(listed=msg, listed_case=case, subject=subject_id)


async def test_termed_listing_is_extended_corrected_and_revoked_art2_art9(court, hub_worker) -> None:
    now = hub_now(hub_worker)
    msg, case = listing(court, now, ground="EVADING_EXECUTION")
    first = await ask(court, msg, case)
    lid = msg.body["listing_id"]
    ext = api.decision(court, listing_id=lid, action="EXTEND", decided_at=now, extension_years=1, reason="情节严重")
    await ask(court, ext, case)
    event = await last_event(court.settings)
    day = now.astimezone(CHINA_TZ).date()
    assert event["entry"]["term_end"] == term_end_for(day, 3) and event["entry"]["extension_years"] == 1
    fixed = api.decision(court, listing_id=lid, action="CORRECT", decided_at=now,
                         content={**msg.body["content"], "performance": "已履行部分"}, reason="履行情况不准确")
    await ask(court, fixed, case)
    revoke = api.decision(court, listing_id=lid, action="REVOKE", decided_at=now, reason="不应纳入")
    last = await ask(court, revoke, case)
    assert last.body["publication_id"] == first.body["publication_id"] + 3  # gap-free
    assert (await last_event(court.settings))["in_force"] is False


async def test_minor_is_refused_with_a_clear_error_art4(court, hub_worker) -> None:
    """失信规定 art. 4: age from the resident ID on the decision date."""
    now = hub_now(hub_worker)
    born = (now.astimezone(CHINA_TZ) - timedelta(days=16 * 366)).strftime("%Y%m%d")
    base = f"110105{born}123"
    minor = base + ric.calc_check_digit(base + "?")
    msg, case = listing(court, now, id_number=minor)
    error = await ask(court, msg, case, ERROR)
    assert error.body["error_code"] == "minor_not_listable" and "art. 4" in error.body["message"]


async def test_missing_content_and_art3_circumstance_are_refused_art3_art6(court, hub_worker) -> None:
    now = hub_now(hub_worker)
    msg, case = listing(court, now)
    msg.body["content"] = None
    assert (await ask(court, msg, case, ERROR)).body["error_code"] == "incomplete_listing_content"
    msg, case = listing(court, now, art3="SEIZED_PROPERTY_SUFFICIENT")
    assert (await ask(court, msg, case, ERROR)).body["error_code"] == "art3_bar"


async def test_creditor_relisting_within_six_months_is_refused_by_the_sequencer_art10(court, hub_worker) -> None:
    """失信规定 art. 10 last para: checked against the published list (the one ordered place)."""
    now = hub_now(hub_worker)
    msg, case = listing(court, now, requested_by_creditor=True)
    await ask(court, msg, case)
    gone = api.decision(court, listing_id=msg.body["listing_id"], action="DELETE", decided_at=now,
                        deletion_ground="CREDITOR_APPLICATION", reason="申请执行人书面申请")
    await ask(court, gone, case)
    again = api.decision(court, listing_id=f"{msg.body['listing_id']}-2", action="LIST", decided_at=now,
                         ground="ABLE_BUT_REFUSING", content=msg.body["content"], term_start=msg.body["term_start"],
                         requested_by_creditor=True)
    error = await ask(court, again, case, ERROR)
    assert error.body["error_code"] == "relisting_barred"


# --- consumption restriction (004 §23) -----------------------------------------------------------------------
async def test_consumption_restriction_is_separate_from_listing_004_s23(court, hub_worker) -> None:
    now = hub_now(hub_worker)
    case = court.case(f"（2024）京0105执{next(_cases)}号", date(2024, 3, 1))
    who = person("限消人", adult_id())
    place = api.restriction(court, restriction_id=f"XF-{next(_ids)}", action="PLACE", case=case, subject=who,
                            decided_at=now)
    assert (await ask(court, place, case["case_number"], RESTRICTION_ACK)).body["status"] == "APPLIED"
    reply = await ask(court, api.lookup(court, who["id_number"]), case["case_number"], LOOKUP_REPLY)
    assert reply.body["listed"] is False  # restriction does not imply listing
    lift = api.restriction(court, restriction_id=place.body["restriction_id"], action="LIFT", case=case,
                           subject=who, decided_at=now, lift_reason="PERFORMED",
                           performance_date=now.astimezone(CHINA_TZ).date())
    assert (await ask(court, lift, case["case_number"], RESTRICTION_ACK)).body["status"] == "APPLIED"
    status, rec = hub_worker.http(f"/requests/{lift.request_id}")
    assert status == 200 and rec["due"] == due_ms(now.astimezone(CHINA_TZ).date()), rec


# --- joint punishment and late joiners ----------------------------------------------------------------------
async def test_joint_units_restrict_while_listed_and_lift_at_deletion(court, hub_worker, caac) -> None:
    """Memo §2 §4, tendering notice §4: restrictions apply while listed and end at the moment of deletion."""
    now = hub_now(hub_worker)
    msg, case = listing(court, now)
    listed = await ask(court, msg, case)
    subject_id = msg.body["content"]["subject"]["id_number"]
    store = wait_store(caac.settings, "caac", listed.body["publication_id"])
    assert not JointUnit("caac", store).check(subject_id).allowed
    store.close()
    gone = api.decision(court, listing_id=msg.body["listing_id"], action="DELETE", decided_at=now,
                        deletion_ground="PERFORMED", reason="已履行完毕")
    deleted = await ask(court, gone, case)
    store = wait_store(caac.settings, "caac", deleted.body["publication_id"])
    unit = JointUnit("caac", store)
    assert unit.check(subject_id).allowed
    (period,) = unit.periods(subject_id)
    assert period[2] == int(deleted.body["applied_at"].timestamp() * 1000)  # lifted when deleted
    store.close()


async def test_late_joining_unit_catches_up_by_replay_and_agrees_with_the_digest(court, hub_worker,
                                                                                 tmp_path) -> None:
    settings = hub_worker.settings
    last = await last_event(settings)
    proc = AgencyProcess(settings, tmp_path / "bankcredit.log", ["simulate", "joint", "--unit", "bankcredit"])
    proc.spawn()
    try:
        store = wait_store(settings, "bankcredit", last["publication_id"])
        assert store.digest() == last["list_digest"] and store.state.size == last["list_size"]
        store.close()
    finally:
        proc.stop()


# --- deadlines on the PRC calendar --------------------------------------------------------------------------
# The hub's clock is shared by every acceptance module: these tests move it by hours, not weeks.  A deadline
# across a holiday week is exercised with a decision dated before National Day 2024 (the 3 working days run
# from the decision, art. 9-10), so the hub clock is already past it when the deletion arrives.
async def test_late_deletion_ack_across_a_holiday_is_escalated_and_counted_art10(court, hub_worker,
                                                                                  platform) -> None:
    """失信规定 art. 10: acknowledged within 3 working days on the official calendar (holidays, make-up days)."""
    decided_on = date(2024, 9, 27)  # Friday; Sunday 29th is a make-up working day, Oct 1-7 National Day
    assert CALENDAR.add_working_days(decided_on, 1).day == date(2024, 9, 29)
    assert CALENDAR.add_working_days(decided_on, 3).day == date(2024, 10, 8)
    decided = datetime(2024, 9, 27, 10, tzinfo=CHINA_TZ)
    old, old_case = listing(court, datetime(2024, 9, 2, 10, tzinfo=CHINA_TZ))
    await ask(court, old, old_case)
    now = hub_now(hub_worker)
    fresh, fresh_case = listing(court, now)
    await ask(court, fresh, fresh_case)
    expired_name = 'interop_hub_deadline_events_total{kind="expired",message_type="ListDecision"}'
    expired_before = metric(hub_worker, expired_name)
    platform.stop()  # the platform is down: nothing is acknowledged
    try:
        late = api.decision(court, listing_id=old.body["listing_id"], action="DELETE", decided_at=decided,
                            deletion_ground="PERFORMED", reason="已履行完毕")
        on_time = api.decision(court, listing_id=fresh.body["listing_id"], action="DELETE", decided_at=now,
                               deletion_ground="PERFORMED", reason="已履行完毕")
        await api.send(court, late, old_case)
        await api.send(court, on_time, fresh_case)
        expired = await court.wait_for(late.request_id, schema=DEADLINE_EVENT, count=2, timeout_s=60)
        assert {m.body["kind"] for m in expired} == {"EXPIRED"}  # outcome (replies) + escalation (notices)
        body = expired[0].body
        assert int(body["due_at"].timestamp() * 1000) == due_ms(decided_on)
        assert body["due_at"].astimezone(CHINA_TZ) == datetime(2024, 10, 9, tzinfo=CHINA_TZ)
        assert body["rule_id"] == "list.delete.3wd" and body["case_number"] == old_case
        await asyncio.sleep(3)  # two more ticks of the hub clock
        await court.poll()
        assert not [m for m in court.received if m.request_id == on_time.request_id and m.schema == DEADLINE_EVENT]
        assert metric(hub_worker, expired_name) == expired_before + 1
    finally:
        platform.spawn()  # the platform comes back and acknowledges: one late, one in time
    answered = await court.wait_for(late.request_id, schema=DEADLINE_EVENT, count=3, timeout_s=60)
    assert "ANSWERED_LATE" in {m.body["kind"] for m in answered}
    await court.wait_for(on_time.request_id, schema=ACK, timeout_s=60)
    assert not [m for m in court.received if m.request_id == on_time.request_id and m.schema == DEADLINE_EVENT]


async def test_term_end_deletes_automatically_art10_para2(court, hub_worker) -> None:
    """失信规定 art. 10 para 2: deleted when the term ends; acknowledged within 3 working days after."""
    now = hub_now(hub_worker)
    today = now.astimezone(CHINA_TZ).date()
    start = today.replace(year=today.year - 2) + timedelta(days=1)  # a 2-year term whose last day is today
    msg, case = listing(court, now, ground="VIOLATING_PROPERTY_REPORTING", term_start=start)
    await ask(court, msg, case)
    advance_to(hub_worker, datetime(today.year, today.month, today.day, tzinfo=CHINA_TZ) + timedelta(days=1, minutes=5))
    ack = await court.wait_for(f"term-expiry/{msg.body['listing_id']}/{today.isoformat()}", schema=ACK, timeout_s=60)
    event = await last_event(court.settings)
    assert ack[0].body["listing_id"] == msg.body["listing_id"]
    assert event["action"] == "DELETE" and event["deletion_ground"] == "TERM_EXPIRED" and not event["in_force"]


# --- replay -----------------------------------------------------------------------------------------------
async def bulk(court: CourtClient, now: datetime, n: int) -> list[AvroMessage]:
    """n decisions (listings, every fourth followed by its revocation) sent at full speed."""
    msgs: list[tuple[AvroMessage, str]] = []
    while len(msgs) < n:
        msg, case = listing(court, now)
        msgs.append((msg, case))
        if len(msgs) % 4 == 0 and len(msgs) < n:
            msgs.append((api.decision(court, listing_id=msg.body["listing_id"], action="REVOKE", decided_at=now,
                                      reason="不应纳入"), case))
    producer = AIOKafkaProducer(acks="all", linger_ms=20, **court.settings.kafka_client_kwargs())
    await producer.start()
    try:
        topic = court.settings.topic("court.requests")
        futures = [await producer.send(topic, CODEC.encode_message(m), key=c.encode()) for m, c in msgs]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [m for m, _ in msgs]


#: decisions sent through the hub worker by the CI-sized replay test (the worker, sharing 2 cores with the
#: broker and the simulators, publishes 50-100 decisions/s end to end: each is validated, journalled,
#: published, acknowledged by the platform and the acknowledgement forwarded and audited)
CI_EVENTS = 2_000


async def test_replay_of_ci_sized_history_equals_the_live_list_and_point_in_time(court, hub_worker, platform,
                                                                                 tmp_path) -> None:
    """SPEC §5 replay: wipe the platform's copy, rebuild from the log, same digest; as-of gives the list then."""
    settings = hub_worker.settings
    start = await history_end(settings)
    t0 = time.monotonic()
    await bulk(court, hub_now(hub_worker), CI_EVENTS // 2)
    await wait_history(settings, start + CI_EVENTS // 2, timeout=120)
    snapshot = await last_event(settings)
    cut = advance_to(hub_worker, hub_now(hub_worker) + timedelta(minutes=5)) - timedelta(minutes=1)
    await bulk(court, hub_now(hub_worker), CI_EVENTS // 2)
    await wait_history(settings, start + CI_EVENTS, timeout=120)
    hub_rate = CI_EVENTS / (time.monotonic() - t0)
    live = await last_event(settings)
    # the live platform's copy agrees with the hub
    store = wait_store(settings, "platform", live["publication_id"], timeout=120)
    assert store.digest() == live["list_digest"]
    store.close()
    # wipe and rebuild the platform's copy with the CLI (progress bar on stderr, digest on stdout)
    platform.stop()
    ListStore.wipe(store_path(settings, "platform"))
    env = {**os.environ, **settings_env(settings)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agents", "credit", "replay", "--consumer", "platform", "--wipe", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out_b, err_b = await asyncio.wait_for(proc.communicate(), timeout=120)
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 0, err
    assert "identical" in out and live["list_digest"] in out and "ev/s" in err
    sys.stderr.write("\n" + out)
    platform.spawn()
    # point in time: the list as it stood between the two bulks
    past = ListStore(tmp_path / "as-of.sqlite")
    result = await replay(settings, past, as_of=cut, progress=False)
    assert result.last_publication_id == snapshot["publication_id"]
    assert result.digest == snapshot["list_digest"] and result.size == snapshot["list_size"]
    # ...and that copy catches up from the next publication id to the live list
    resumed = await replay(settings, past, from_publication=snapshot["publication_id"] + 1, progress=False)
    assert resumed.digest == live["list_digest"] and resumed.identical
    past.close()
    sys.stderr.write(f"\nhub published {hub_rate:,.0f} decisions/s; replay {result.rate:,.0f} events/s\n")


# --- replay at scale ---------------------------------------------------------------------------------------
BIG = 100_000


@pytest.mark.bench  # ~75 s on the shared 2-core machine (> 60 s): run with --bench
async def test_wiped_store_replays_100k_events_to_the_hub_digest_and_point_in_time(broker_settings, tmp_path) -> None:
    """SPEC §5: 100,000 publications made by the hub's sequencer logic are written to a history topic of their
    own (the worker publishes ~100 decisions/s on this shared 2-core box; the CI-sized test above goes
    through it); the platform's copy is built live, wiped, rebuilt by replay: same digest as the hub's list; a
    replay as of a moment mid-way equals the snapshot the hub had then."""
    import secrets

    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from agents.credit.platform import CreditPlatform
    from hub.clock import ManualClock
    from hub.envelope import envelope, message
    from hub.flows.credit.sequencer import Sequencer

    settings = broker_settings.model_copy(update={"topic_prefix": f"t{secrets.token_hex(4)}.big."})
    topic = settings.topic(HISTORY)
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await admin.close()
    clock = ManualClock(datetime(2025, 3, 3, 1, tzinfo=UTC))
    seq, live_ids, snapshot = Sequencer(), [], None
    case = {"case_number": "（2024）京0105执1号", "filing_date": date(2024, 3, 1),
            "court": {"court_code": "京0105", "court_name": "北京市朝阳区人民法院", "place_code": "110105"}}
    producer = AIOKafkaProducer(acks=1, linger_ms=50, max_batch_size=1 << 20, **settings.kafka_client_kwargs())
    await producer.start()
    platform_store = ListStore(tmp_path / "platform.sqlite")
    platform = CreditPlatform(platform_store, CODEC)  # the platform's live copy, fed as the events are published
    t0 = time.monotonic()
    futures, pending = [], []
    for i in range(BIG):
        now = clock.now()
        if live_ids and i % 3 == 2:
            body = {"listing_id": live_ids.pop(), "action": "REVOKE", "reason": "不应纳入", "decided_at": now}
        else:
            lid = f"B{i:07d}"
            subject = {**person("失信人", adult_id()), "gender": "MALE"}
            body = {"listing_id": lid, "action": "LIST", "ground": "ABLE_BUT_REFUSING", "art3_circumstance": "NONE",
                    "content": {"subject": subject, "age": 40, "obligation": "支付100000元", "performance": "未履行",
                                "outstanding": None, "dishonest_behaviour": "拒不履行",
                                "enforcement_basis_issuer": "朝阳法院",
                                "enforcement_basis_number": "(2023)京0105民初1号", "case": case,
                                "other_matters": None},
                    "decision_document": {"kind": "LISTING_DECISION", "number": lid, "sha256": "0" * 64,
                                          "title": None, "issued_by": None, "issued_on": None, "uri": None},
                    "term_start": date(2025, 3, 3), "extension_years": None, "requested_by_creditor": False,
                    "decided_at": now}
            live_ids.append(lid)
        event = seq.decide(body, request_id=f"bulk-{i}", sender="京0105", key=case["case_number"],
                           now_ms=clock.now_ms())
        assert event is not None
        raw = CODEC.encode_message(message("cn.court.interop.credit.ListEvent",
                                           envelope(clock, request_id=f"bulk-{i}", recipient="list-readers"), event))
        futures.append(await producer.send(topic, raw, key=event["listing_id"].encode()))
        pending.append((i, raw, CODEC.decode(raw)))
        if len(pending) == 5_000:
            platform.apply(pending)
            pending = []
        if i == BIG // 2:
            snapshot = (seq.state.last_publication_id, seq.state.hexdigest(), seq.state.size)
            clock.advance(timedelta(minutes=10))
    await asyncio.gather(*futures)
    await producer.stop()
    generated = time.monotonic() - t0
    platform.apply(pending)
    assert platform_store.digest() == seq.state.hexdigest() and platform_store.last_publication_id == BIG
    platform_store.close()
    # wipe it; replay from the log
    ListStore.wipe(tmp_path / "platform.sqlite")
    rebuilt = ListStore(tmp_path / "platform.sqlite")
    assert rebuilt.last_publication_id == 0
    result = await replay(settings, rebuilt, progress=True, topic=topic)
    assert result.applied == BIG and result.identical and result.digest == seq.state.hexdigest()
    assert [line for line in rebuilt.export_lines()][:1]  # the copy can be exported
    rebuilt.close()
    # as of a moment between the halves
    assert snapshot is not None
    past = ListStore(tmp_path / "as-of.sqlite")
    cut = datetime(2025, 3, 3, 1, 5, tzinfo=UTC)
    then = await replay(settings, past, as_of=cut, progress=False, topic=topic)
    assert (then.last_publication_id, then.digest, then.size) == snapshot
    past.close()
    sys.stderr.write(f"\n{BIG:,} events generated+produced in {generated:.1f}s; replay {result.rate:,.0f} events/s "
                     f"({result.seconds:.1f}s); as-of replay {then.rate:,.0f} events/s\n")
