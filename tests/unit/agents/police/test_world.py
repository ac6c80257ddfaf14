"""The simulated police: deterministic world, event schedule, desk and store (SPEC §4, seed 002)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agents.court.adapter import CourtClient, document, officer, person
from agents.police import court_api as api
from agents.police import events
from agents.police.desk import PoliceDesk
from agents.police.store import PoliceStore
from agents.police.world import PoliceWorld
from hub.clock import ManualClock
from hub.domain import parse_resident_id
from hub.flows.police.messages import EXIT_ENTRY, HOTEL, IDENTITY, VEHICLE, parse_plate, parse_vin
from hub.settings import HubSettings

WORLD = PoliceWorld.generate(2024)
NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)
CLIENT = CourtClient(HubSettings(), "京0105", clock=ManualClock())
CASE = CLIENT.case("（2024）京0105执1234号", date(2024, 3, 1))
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")


def _desk(path: Path | str = ":memory:") -> PoliceDesk:
    return PoliceDesk(WORLD, PoliceStore(path))


def _owner_and_vehicle() -> tuple[Any, Any]:
    v = next(v for v in WORLD.vehicles if WORLD.resident(v.owner_id))
    return WORLD.resident(v.owner_id), v


def test_the_world_is_deterministic_from_its_seed() -> None:
    again = PoliceWorld.generate(2024)
    assert again.vehicles == WORLD.vehicles and again.residents == WORLD.residents
    assert PoliceWorld.generate(7).vehicles != WORLD.vehicles


def test_world_identifiers_are_valid() -> None:
    for resident in WORLD.residents.values():
        parse_resident_id(resident.person.id_number)
    for v in WORLD.vehicles:
        assert parse_vin(v.vin) == v.vin and parse_plate(v.plate_number) == v.plate_number
        assert WORLD.population.by_id(v.owner_id) is not None


def test_the_world_holds_every_kind_of_record_002_s2_2() -> None:
    residents = list(WORLD.residents.values())
    assert any(r.former_names for r in residents) and any(r.crossings for r in residents)
    assert any(r.stays for r in residents) and any(v.mortgagee for v in WORLD.vehicles)
    assert any(WORLD.population.by_id(v.owner_id).kind == "ORGANISATION" for v in WORLD.vehicles)  # type: ignore[union-attr]


def test_identity_lookup_answers_every_field_002_s2_2_1() -> None:
    r = next(r for r in WORLD.residents.values() if r.former_names)
    body = _desk().lookup(IDENTITY, {"subject": person(r.person.name, r.person.id_number)}, NOW)
    got = body["persons"][0]
    assert body["status"] == "FOUND" and got["former_names"] == list(r.former_names)
    assert got["household_registration_code"] == r.person.id_number[:6] and got["photo"]["kind"] == "PHOTO"
    assert got["birth_date"] == r.person.birth_date and got["address"] == r.person.address


def test_exit_entry_and_hotel_lookups_respect_the_window_002_s2_2_3_5() -> None:
    r = next(r for r in WORLD.residents.values() if len(r.crossings) >= 4 and r.stays)
    subject = {"subject": person(r.person.name, r.person.id_number)}
    whole = _desk().lookup(EXIT_ENTRY, {**subject, "window": None}, NOW)
    assert len(whole["crossings"]) == len(r.crossings) and whole["documents"]
    first = r.crossings[0].crossed_at
    window = {"start_at": first, "end_at": first + timedelta(seconds=1)}
    assert len(_desk().lookup(EXIT_ENTRY, {**subject, "window": window}, NOW)["crossings"]) == 1
    stays = _desk().lookup(HOTEL, {**subject, "window": None}, NOW)["stays"]
    assert [s["checked_in_at"] for s in stays] == sorted((s.checked_in_at for s in r.stays), reverse=True)


def test_unknown_person_is_not_found() -> None:
    body = _desk().lookup(IDENTITY, {"subject": person("无名", "11010519900307001X")}, NOW)
    assert body["status"] == "NOT_FOUND" and body["reason"]


def _seize(desk: PoliceDesk, request_id: str = "R1", **changes: Any) -> dict[str, Any]:
    resident, v = _owner_and_vehicle()
    msg = api.vehicle_seizure(CLIENT, case=CASE, subject=person(resident.person.name, v.owner_id), officer=OFFICER,
                              plate_number=v.plate_number, vin=v.vin, ruling=document("RULING", "查封裁定"),
                              assistance_notice=document("ASSISTANCE_NOTICE", "n"))
    return desk.place(msg.schema, request_id, "京0105", {**msg.body, **changes}, NOW)


def test_registry_refuses_transfer_and_mortgage_while_seized_and_allows_after_release_002_s3_2() -> None:
    """002 §3(二): 限制其转让过户或新增抵押登记 while the seizure stands."""
    desk = _desk()
    _, v = _owner_and_vehicle()
    reply = _seize(desk)
    assert reply["outcome"] == "PLACED" and reply["measure_id"].startswith("CF")
    for kind in ("TRANSFER_ATTEMPT", "MORTGAGE_ATTEMPT"):
        allowed, why = desk.registry_allows(v.plate_number, kind)
        assert not allowed and "查封" in why
    seized = desk.lookup(VEHICLE, {"subject": person("x", v.owner_id), "plate_number": v.plate_number}, NOW)
    assert seized["vehicles"][0]["seizures"][0]["authority"] == "北京市朝阳区人民法院"
    ack = desk.release({"measure_id": reply["measure_id"], "measure_kind": "VEHICLE_SEIZURE"}, NOW)
    assert ack["status"] == "RELEASED"
    assert desk.registry_allows(v.plate_number, "TRANSFER_ATTEMPT")[0]
    again = desk.release({"measure_id": reply["measure_id"], "measure_kind": "VEHICLE_SEIZURE"}, NOW)
    assert again["status"] == "ALREADY_RELEASED"
    assert desk.release({"measure_id": "CFNOPE", "measure_kind": "VEHICLE_SEIZURE"}, NOW)["status"] == "NOT_FOUND"


def test_seizure_of_someone_elses_vehicle_is_refused() -> None:
    reply = _seize(_desk(), subject=person("他人", "11010519491231002X"))
    assert reply["outcome"] == "REFUSED" and reply["measure_id"] is None and reply["reason"]


def test_schedule_is_deterministic_and_covers_every_kind_on_the_first_day() -> None:
    placed = int(NOW.timestamp() * 1000)
    plan = events.schedule(2024, "CF1", "VEHICLE_SEIZURE", placed, None)
    assert plan == events.schedule(2024, "CF1", "VEHICLE_SEIZURE", placed, None)
    first_day = [p for p in plan if p.at_ms <= placed + 86_400_000]
    assert {p.kind for p in first_day} == {"TRANSFER_ATTEMPT", "MORTGAGE_ATTEMPT", "ROAD_CHECK", "INSPECTION"}
    assert plan[-1].at_ms < placed + int(events.HORIZON.total_seconds() * 1000)
    assert [p.seq for p in plan] == list(range(len(plan)))


def test_schedule_stops_at_the_end_of_the_control_period() -> None:
    placed = int(NOW.timestamp() * 1000)
    end = placed + 3 * 86_400_000
    plan = events.schedule(2024, "BK1", "EXIT_RESTRICTION", placed, end)
    assert plan and all(p.at_ms < end for p in plan) and {p.kind for p in plan} == {"BORDER_EXIT_ATTEMPT"}


def test_emitted_sightings_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "police.sqlite"
    desk = _desk(path)
    mid = _seize(desk)["measure_id"]
    m = desk.store.measure(mid)
    assert m is not None
    plan = events.schedule(2024, mid, m.kind, m.placed_at_ms, m.end_ms)
    due = events.due(plan, plan[1].at_ms, desk.store.emitted(mid))
    assert [p.seq for p in due] == [0, 1]
    for p in due:
        desk.store.mark_emitted(mid, p.seq, p.at_ms)
    desk.store.close()
    reopened = _desk(path)
    assert events.due(plan, plan[1].at_ms, reopened.store.emitted(mid)) == []
    assert reopened.store.measure(mid) is not None
