"""Police flows end to end (SPEC §4, seed 002) through the topics only, on the real broker.

court (CourtClient + agents.police.court_api) → court.requests → hub worker → agency.mps.inbox →
simulated police (``interop-agency simulate police``) → agency.mps.outbox → hub worker → court.replies
(look-up and measure replies) / court.notices (sightings, lapses, release acknowledgements).

The tests of this module run in order and share one court connection: measures are placed, the
hub's clock is moved (the police follow it), sightings arrive, measures are released or lapse.
The hub's time is read from GET /clock, never assumed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from agents.court.adapter import CourtClient, document, officer, organisation, person
from agents.police import court_api as api
from agents.police.world import PoliceWorld, Resident
from agents.process import AgencyProcess
from hub.clock import CHINA_TZ
from hub.codec import AvroMessage, default_codec
from hub.flows.police.messages import LAPSED, MEASURE_REPLY, RELEASE_ACK, SIGHTING
from hub.flows.police.rows import lapse_instant_ms
from hub.process import WorkerProcess
from support.kafka_tap import Tap
from tests.integration.kafka_io import produce

CODEC = default_codec()
WORLD = PoliceWorld.generate(2024)
OFFICER = officer("王执行", "13911112222", "京法执证0105-0077")
HOUR = 3600
NOBODY_ID = "11010519900307001" + ric.calc_check_digit("11010519900307001?")  # not in the police world
_cases = itertools.count(7001)
STATE: dict[str, Any] = {}  # measures placed by test_measures_are_placed..., used by the tests after it


def new_case(court: CourtClient) -> dict[str, Any]:
    return court.case(f"（2024）京0105执{next(_cases)}号", date(2024, 3, 1))


def subject(r: Resident) -> dict[str, Any]:
    return person(r.person.name, r.person.id_number, r.person.gender)


_residents = iter(sorted(WORLD.residents.values(), key=lambda r: r.person.id_number))


def pick(pred: Any) -> Resident:
    """A resident of the police world no earlier test used."""
    return next(r for r in _residents if pred(r))


def hub_now(worker: WorkerProcess) -> datetime:
    status, body = worker.http("/clock")
    assert status == 200, body
    return datetime.fromisoformat(body["now"])


def advance(worker: WorkerProcess, seconds: float) -> None:
    status, body = worker.http("/clock", data={"advance_seconds": seconds})
    assert status == 200, body


async def ask(court: CourtClient, msg: AvroMessage, schema: str | None = None) -> AvroMessage:
    await court.send(msg)
    return (await court.wait_for(msg.request_id, schema=schema, timeout_s=60))[0]


@pytest.fixture(scope="module")
def police(hub_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyProcess]:
    log = tmp_path_factory.mktemp("police") / "police.log"
    with AgencyProcess(hub_worker.settings, log, ["simulate", "police"]) as proc:
        yield proc


@pytest.fixture(scope="module")
async def court(police: AgencyProcess) -> AsyncIterator[CourtClient]:
    async with CourtClient(police.settings, "京0105") as client:
        yield client


# --- look-ups (002 §2(二)) ---------------------------------------------------------------------
async def test_identity_lookup_returns_former_names_household_registration_and_photo_002_s2_2_1(court) -> None:
    """002 §2(二)1: 姓名、曾用名、出生日期、户籍地、住址、公民身份号码、照片."""
    r = pick(lambda r: r.former_names)
    reply = await ask(court, api.identity_lookup(court, case=new_case(court), subject=subject(r), officer=OFFICER))
    assert reply.schema.endswith("IdentityLookupReply") and reply.body["status"] == "FOUND", reply.body
    got = reply.body["persons"][0]
    assert got["former_names"] == list(r.former_names) and got["birth_date"] == r.person.birth_date
    assert got["household_registration"] == r.household_registration and got["address"] == r.person.address
    assert got["id_number"] == r.person.id_number and got["photo"]["kind"] == "PHOTO"


async def test_identity_lookup_of_an_unknown_person_says_not_found_002_s2_2_1(court) -> None:
    reply = await ask(court, api.identity_lookup(court, case=new_case(court), officer=OFFICER,
                                                 subject=person("查无人", NOBODY_ID)))
    assert reply.body["status"] == "NOT_FOUND" and reply.body["reason"] and reply.body["persons"] == []


async def test_exit_entry_lookup_returns_documents_and_crossings_002_s2_2_2_3(court) -> None:
    """002 §2(二)2-3: 证件种类名称、证件号码、照片、出入境时间、前往国家(地区)、登记联系电话."""
    r = pick(lambda r: len(r.crossings) >= 2 and r.person.phone)
    reply = await ask(court, api.exit_entry_lookup(court, case=new_case(court), subject=subject(r), officer=OFFICER))
    body = reply.body
    assert body["status"] == "FOUND" and body["phone"] == r.person.phone and body["photo"]["kind"] == "PHOTO"
    assert {d["number"] for d in body["documents"]} == {d.number for d in r.documents}
    assert [(c["direction"], c["destination"]) for c in body["crossings"]] == \
        [(c.direction, c.destination) for c in r.crossings]


async def test_vehicle_lookup_returns_registration_mortgagee_and_authority_002_s2_2_4(court) -> None:
    """002 §2(二)4: 车牌号、品牌、型号、类型、识别码、注册登记机关及日期、抵押权人."""
    v = next(v for v in WORLD.vehicles if v.mortgagee)
    owner = WORLD.population.by_id(v.owner_id)
    assert owner is not None
    subj = person(owner.name, owner.id_number) if owner.kind == "PERSON" else organisation(owner.name, owner.id_number)
    reply = await ask(court, api.vehicle_lookup(court, case=new_case(court), subject=subj, officer=OFFICER))
    found = next(x for x in reply.body["vehicles"] if x["plate_number"] == v.plate_number)
    assert (found["brand"], found["model"], found["vehicle_type"], found["vin"]) == (v.brand, v.model,
                                                                                      v.vehicle_type, v.vin)
    assert found["registering_authority"] == v.registering_authority and found["registered_on"] == v.registered_on
    assert found["mortgagee"] == v.mortgagee and found["seizures"] == []


async def test_hotel_stay_lookup_returns_stays_002_s2_2_5(court) -> None:
    """002 §2(二)5: 入住时间、退房时间、旅馆名称、旅馆地址、登记联系电话."""
    r = pick(lambda r: len(r.stays) >= 2)
    reply = await ask(court, api.hotel_stay_lookup(court, case=new_case(court), subject=subject(r), officer=OFFICER))
    stays = reply.body["stays"]
    assert [(s["hotel_name"], s["hotel_address"], s["checked_in_at"], s["checked_out_at"]) for s in stays] == \
        [(s.hotel_name, s.hotel_address, s.checked_in_at, s.checked_out_at) for s in r.stays]


async def test_exit_restriction_of_an_organisation_is_rejected_by_the_hub_002_s3_1(court, hub_worker) -> None:
    """002 §3(一)1: exit restriction concerns a natural person (当事人（自然人）)."""
    today = hub_now(hub_worker).astimezone(CHINA_TZ).date()
    org = WORLD.population.organisations[0]
    msg = api.exit_restriction(court, case=new_case(court), subject=organisation(org.name, org.id_number),
                               officer=OFFICER, decision=document("EXIT_RESTRICTION_DECISION", "限出-组织"),
                               control_from=today, control_to=today + timedelta(days=10))
    reply = await ask(court, msg)
    assert reply.schema.endswith("ErrorReply") and reply.body["field"] == "body.subject.id_type"


# --- measures (002 §3) ----------------------------------------------------------------------------
async def _place(court: CourtClient, name: str, msg: AvroMessage, case: dict[str, Any], subj: dict[str, Any],
                 kind: str) -> None:
    reply = await ask(court, msg, MEASURE_REPLY)
    assert reply.body["outcome"] == "PLACED" and reply.body["measure_kind"] == kind, reply.body
    STATE[name] = {"request_id": msg.request_id, "measure_id": reply.body["measure_id"], "case": case,
                   "subject": subj, "kind": kind, "reply": reply.body}


async def test_measures_are_placed_with_the_details_the_seed_requires_002_s3(court, hub_worker) -> None:
    """002 §3(一) subject, court, officer and phone, control period and requirements; §3(二) sealed ruling and
    assistance notice; §3(三) detention decision and assistance notice.  Each gets a measure id (布控编号)."""
    now = hub_now(hub_worker)
    today = now.astimezone(CHINA_TZ).date()
    STATE["placed_ms"] = int(now.timestamp() * 1000)
    for name, days in (("E1", 30), ("E2", 2)):
        r, case = pick(lambda r: bool(r.documents)), new_case(court)
        msg = api.exit_restriction(court, case=case, subject=subject(r), officer=OFFICER,
                                   decision=document("EXIT_RESTRICTION_DECISION", f"限出{name}"),
                                   control_from=today, control_to=today + timedelta(days=days),
                                   control_requirements="阻止出境，立即通知执行法院")
        await _place(court, name, msg, case, subject(r), "EXIT_RESTRICTION")
        STATE[name]["control_to"] = today + timedelta(days=days)
    assert STATE["E1"]["reply"]["effective_to"] == today + timedelta(days=30)
    v = next(v for v in WORLD.vehicles if WORLD.resident(v.owner_id) and not v.mortgagee)
    owner = WORLD.resident(v.owner_id)
    assert owner is not None
    case = new_case(court)
    msg = api.vehicle_seizure(court, case=case, subject=subject(owner), officer=OFFICER, plate_number=v.plate_number,
                              vin=v.vin, ruling=document("RULING", "（2024）京0105执查封之一"),
                              assistance_notice=document("ASSISTANCE_NOTICE", "协助查封通知书"))
    await _place(court, "V", msg, case, subject(owner), "VEHICLE_SEIZURE")
    STATE["V"]["plate"] = v.plate_number
    for name in ("L", "L2"):
        r, case = pick(lambda r: not r.person.is_minor_on(today)), new_case(court)
        msg = api.locate_person(court, case=case, subject=subject(r), officer=OFFICER,
                                detention_decision=document("DETENTION_DECISION", f"拘留决定书{name}"),
                                assistance_notice=document("ASSISTANCE_NOTICE", f"协助查找{name}"))
        await _place(court, name, msg, case, subject(r), "LOCATE_PERSON")
    assert STATE["V"]["reply"]["handling_unit"]
    assert len({STATE[n]["measure_id"] for n in STATE if n != "placed_ms"}) == 5


async def test_a_seized_vehicle_shows_the_seizing_court_and_document_002_s2_2_4(court) -> None:
    """002 §2(二)4: 查封扣押机关名称、查封扣押文书名称."""
    v = STATE["V"]
    reply = await ask(court, api.vehicle_lookup(court, case=new_case(court), subject=v["subject"], officer=OFFICER,
                                                plate_number=v["plate"]))
    seizure = reply.body["vehicles"][0]["seizures"][0]
    assert seizure["authority"] == court.court.name and seizure["document_name"] == "查封车辆裁定书"
    assert seizure["document_number"] == "（2024）京0105执查封之一"


def _check_routed(msgs: list[AvroMessage], name: str) -> None:
    for m in msgs:
        assert m.body["case_number"] == STATE[name]["case"]["case_number"], "the right case"
        assert m.envelope["recipient"] == "京0105" and m.envelope["correlation_id"] == STATE[name]["measure_id"]
        assert m.body["delivered_active"] is True and m.body["measure_id"] == STATE[name]["measure_id"]


async def test_an_exit_attempt_by_a_restricted_person_reaches_the_court_and_case_002_s3_1(court, hub_worker) -> None:
    """002 §3(一)2: border posts enforce the control and tell the court (边控对象出境 → sighting)."""
    advance(hub_worker, 21 * HOUR)  # the first day of every measure's observations (agents.police.events)
    for name in ("E1", "E2"):
        got = await api.wait_for_sightings(court, STATE[name]["request_id"], kinds={"BORDER_EXIT_ATTEMPT"})
        _check_routed(got, name)
        assert "阻止出境" in got[0].body["details"] and got[0].body["reporting_unit"]


async def test_a_seized_vehicle_is_refused_transfer_and_mortgage_and_sightings_reach_the_court_002_s3_2(
        court) -> None:
    """002 §3(二): 限制其转让过户或新增抵押登记; found at inspection, transfer or road duty → tell the court."""
    kinds = {"TRANSFER_ATTEMPT", "MORTGAGE_ATTEMPT", "ROAD_CHECK", "INSPECTION"}
    got = await api.wait_for_sightings(court, STATE["V"]["request_id"], kinds=kinds)
    _check_routed(got, "V")
    refused = [m for m in got if m.body["kind"] in ("TRANSFER_ATTEMPT", "MORTGAGE_ATTEMPT")]
    assert len(refused) == 2 and all("拒绝" in m.body["details"] for m in refused), "each refusal is a sighting"


async def test_a_person_under_detention_is_sighted_at_hotel_road_check_and_border_002_s3_3(court) -> None:
    """002 §3(三): 公安机关在日常执法过程中发现上述人员时，应及时通知人民法院."""
    got = await api.wait_for_sightings(court, STATE["L"]["request_id"],
                                       kinds={"HOTEL_CHECK_IN", "ROAD_CHECK", "BORDER_EXIT_ATTEMPT"})
    _check_routed(got, "L")


async def test_sightings_long_after_the_request_still_reach_the_right_court_and_case_002_s3(
        court, hub_worker) -> None:
    """SPEC §4: sightings arrive unprompted, long after the request, and must reach the right court and case."""
    before = {n: len(api.sightings(court, STATE[n]["request_id"])) for n in ("V", "L", "E1")}
    advance(hub_worker, 48 * HOUR)  # the next cycle of observations, two days later
    for name in ("V", "L", "E1"):
        got = await api.wait_for_sightings(court, STATE[name]["request_id"], count=before[name] + 1)
        _check_routed(got, name)
        assert max(m.body["observed_at"] for m in got).timestamp() * 1000 > STATE["placed_ms"] + 48 * HOUR * 1000


async def test_an_exit_restriction_lapses_at_the_end_of_its_control_period_and_the_court_is_told_002_s3_1(
        court, hub_worker) -> None:
    """002 §3(一)1 控制期限: at its end the restriction lapses (hub @on_tick); court and police are told."""
    e2 = STATE["E2"]
    # The hub's clock is shared by the whole session: earlier modules may have left it late in the day, so
    # the two cycles above do not always reach the end of the control period.  Move it past that end.
    behind_ms = lapse_instant_ms(e2["control_to"]) - hub_now(hub_worker).timestamp() * 1000
    if behind_ms >= 0:
        advance(hub_worker, behind_ms / 1000 + HOUR)
    assert hub_now(hub_worker).timestamp() * 1000 > lapse_instant_ms(e2["control_to"])
    lapsed = (await court.wait_for(e2["request_id"], schema=LAPSED, timeout_s=60))[0]
    assert lapsed.body["measure_id"] == e2["measure_id"] and lapsed.body["control_to"] == e2["control_to"]
    assert lapsed.body["lapsed_at"].timestamp() * 1000 == lapse_instant_ms(e2["control_to"])
    assert lapsed.body["case_number"] == e2["case"]["case_number"]
    late = [m for m in api.sightings(court, e2["request_id"], active=True)
            if m.body["observed_at"].timestamp() * 1000 >= lapse_instant_ms(e2["control_to"])]
    assert late == [], "no active hit after the control period"
    # the police were told too: a release now finds the measure no longer in force
    ack = await ask(court, api.release(court, measure_id=e2["measure_id"], measure_kind="EXIT_RESTRICTION",
                                       case=e2["case"], subject=e2["subject"], officer=OFFICER, reason="期限届满"),
                    RELEASE_ACK)
    assert ack.body["status"] == "ALREADY_RELEASED"


async def test_a_release_is_pushed_to_the_police_and_acknowledged_002_s3_3_last_para(court, hub_worker) -> None:
    """002 §3(三) last para: 人民法院应当及时将解除查控措施的当事人信息推送至公安部 (for every measure kind)."""
    for name in ("E1", "V", "L"):
        m = STATE[name]
        msg = api.release(court, measure_id=m["measure_id"], measure_kind=m["kind"], case=m["case"],
                          subject=m["subject"], officer=OFFICER, reason="已履行完毕",
                          release_notice=document("RELEASE_NOTICE", f"解除通知{name}"))
        ack = await ask(court, msg, RELEASE_ACK)
        assert ack.body["status"] == "RELEASED" and ack.body["measure_id"] == m["measure_id"], ack.body
        m["released_ms"] = int(hub_now(hub_worker).timestamp() * 1000)
    v = STATE["V"]
    reply = await ask(court, api.vehicle_lookup(court, case=new_case(court), subject=v["subject"], officer=OFFICER,
                                                plate_number=v["plate"]))
    assert reply.body["vehicles"][0]["seizures"] == [], "release lifts the seizure"


async def test_a_release_for_an_unknown_measure_gets_an_error_reply(court) -> None:
    e1 = STATE["E1"]
    msg = api.release(court, measure_id="BK-NO-SUCH-MEASURE", measure_kind="EXIT_RESTRICTION", case=e1["case"],
                      subject=e1["subject"], officer=OFFICER, reason="撤销")
    reply = await ask(court, msg)
    assert reply.schema.endswith("ErrorReply") and reply.body["error_code"] == "unknown_measure"
    assert reply.body["field"] == "body.measure_id"


async def test_a_release_stops_further_sightings_002_s3_3(court, hub_worker) -> None:
    """After the release the police report nothing more; a measure still in force keeps reporting."""
    counts = {n: len(api.sightings(court, STATE[n]["request_id"])) for n in ("E1", "V", "L", "L2")}
    advance(hub_worker, 96 * HOUR)  # two more cycles of observations
    await api.wait_for_sightings(court, STATE["L2"]["request_id"], count=counts["L2"] + 2)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        await court.poll()
    for name in ("E1", "V", "L"):
        assert len(api.sightings(court, STATE[name]["request_id"])) == counts[name], name


def _forged_sighting(name: str, kind: str, now: datetime, measure_id: str | None = None) -> AvroMessage:
    m = STATE[name]
    env = {"message_id": f"forged-{name}-{kind}", "request_id": m["request_id"],
           "correlation_id": measure_id or m["measure_id"], "sender": "mps", "recipient": "京0105",
           "sent_at": now, "schema_version": 1}
    body = {"measure_id": measure_id or m["measure_id"], "measure_kind": m["kind"], "kind": kind,
            "observed_at": now, "place": "G4京港澳高速杜家坎公安检查站", "place_code": "110106",
            "details": "迟报", "reporting_unit": "北京市公安局", "contact_phone": "010-66262114",
            "case_number": None, "delivered_active": True}
    return AvroMessage(SIGHTING, {"envelope": env, "body": body})


async def test_a_sighting_after_the_release_is_not_delivered_as_an_active_hit_002_s3_3(court, hub_worker) -> None:
    """Decision: a sighting for a released (or lapsed) measure reaches the court for the record only,
    flagged delivered_active = false, and is counted apart from the active hits."""
    v = STATE["V"]
    msg = _forged_sighting("V", "ROAD_CHECK", hub_now(hub_worker))
    await produce(hub_worker.settings, "agency.mps.outbox", CODEC.encode_message(msg),
                  v["case"]["case_number"].encode())
    deadline = time.monotonic() + 60
    while not api.sightings(court, v["request_id"], active=False) and time.monotonic() < deadline:
        await court.poll()
    late = api.sightings(court, v["request_id"], active=False)
    assert [m.envelope["message_id"] for m in late] == [msg.envelope["message_id"]]
    assert late[0].body["case_number"] == v["case"]["case_number"]


async def test_a_sighting_for_an_unknown_measure_is_rejected_and_the_police_are_told(court, hub_worker) -> None:
    l2 = STATE["L2"]
    msg = _forged_sighting("L2", "HOTEL_CHECK_IN", hub_now(hub_worker), measure_id="XZ-UNKNOWN")
    async with Tap(hub_worker.settings, "ops.deadletter", "agency.mps.inbox") as tap:
        await produce(hub_worker.settings, "agency.mps.outbox", CODEC.encode_message(msg),
                      l2["case"]["case_number"].encode())
        seen = await tap.collect(lambda rs: len(rs) >= 2, timeout=60)
    decoded = [(r.topic, CODEC.decode(r.value)) for r in seen]
    assert any(t.endswith("ops.deadletter") and d.body["reason_code"] == "unknown_measure" for t, d in decoded)
    assert any(t.endswith("agency.mps.inbox") and d.body.get("error_code") == "unknown_measure" for t, d in decoded)


async def _changelog(settings: Any, table: str) -> dict[str, Any]:
    """The latest value of every key in a hub table, read from its changelog topic."""
    import json

    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_kwargs())
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic(f"hub.table.{table}"), p) for p in range(4)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        rows: dict[str, Any] = {}
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for rec in records:
                    rows[json.loads(rec.key)] = json.loads(rec.value) if rec.value else None
        return rows
    finally:
        await consumer.stop()


async def test_the_hub_knows_whether_each_measure_is_active_released_or_lapsed(hub_worker) -> None:
    """Issue 4 item 5: the ``measures`` table keyed by measure id, with what the court needs to find it."""
    rows = await _changelog(hub_worker.settings, "measures")
    states = {name: rows[STATE[name]["measure_id"]] for name in ("E1", "E2", "V", "L", "L2")}
    assert {n: r["state"] for n, r in states.items()} == {"E1": "released", "E2": "lapsed", "V": "released",
                                                           "L": "released", "L2": "active"}
    for name, row in states.items():
        assert row["case"] == STATE[name]["case"]["case_number"] and row["court"] == "京0105"
        assert row["request_id"] == STATE[name]["request_id"] and row["kind"] == STATE[name]["kind"]
    assert states["V"]["late"] == 1 and states["V"]["hits"] >= 5 and states["V"]["ack"] == "RELEASED"
    assert states["E2"]["lapsed_at"] == lapse_instant_ms(STATE["E2"]["control_to"])
