"""Police requests and messages as the hub validates them (SPEC §4, seed 002) — pure checks, no broker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from agents.court.adapter import CourtClient, document, officer, organisation, person
from agents.police import court_api as api
from hub.clock import ManualClock
from hub.errors import ValidationError
from hub.flows.police import rows
from hub.flows.police.messages import (
    parse_plate,
    parse_vin,
    validate_exit_restriction,
    validate_hotel,
    validate_identity,
    validate_locate_person,
    validate_measure_reply,
    validate_release,
    validate_sighting,
    validate_vehicle_seizure,
    vin_check_digit,
)
from hub.flows.police.rows import MeasureRequestRow, MeasureRow, MeasureState
from hub.settings import HubSettings

TODAY = date(2025, 1, 2)
CLIENT = CourtClient(HubSettings(), "京0105", clock=ManualClock())
CASE = CLIENT.case("（2024）京0105执1234号", date(2024, 3, 1))
SUBJECT = person("张三", "11010519491231002X")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
VIN = "LSVAU218XN2183294"


def _error(fn: Any, *args: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args)
    return info.value


def _exit(**changes: Any) -> dict[str, Any]:
    body = api.exit_restriction(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER,
                                decision=document("EXIT_RESTRICTION_DECISION", "限出1"),
                                control_from=TODAY, control_to=date(2025, 7, 1)).body
    return {**body, **changes}


def _seizure(**changes: Any) -> dict[str, Any]:
    body = api.vehicle_seizure(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER, plate_number="京A12345",
                               vin=VIN, ruling=document("RULING", "查封裁定"),
                               assistance_notice=document("ASSISTANCE_NOTICE", "协助通知")).body
    return {**body, **changes}


def test_vin_check_digit_iso_3779() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"  # the textbook example
    assert parse_vin(VIN) == VIN
    assert "check digit" in str(_error(parse_vin, VIN[:8] + "7" + VIN[9:]))
    assert "17-character" in str(_error(parse_vin, "LSVAU2180N218329I"))


def test_plates_follow_the_national_format() -> None:
    assert parse_plate("京a12345") == "京A12345" and parse_plate("粤BD12345") == "粤BD12345"
    for bad in ("A12345", "京I12345", "京A1234", "京A1234567"):
        assert _error(parse_plate, bad).field == "body.plate_number"


def test_complete_exit_restriction_passes_002_s3_1() -> None:
    validate_exit_restriction(_exit(), "京0105", TODAY)


def test_exit_restriction_needs_control_period_and_requirements_002_s3_1() -> None:
    """002 §3(一)1: control period (控制期限) and border-control requirements (边控要求) are given."""
    assert _error(validate_exit_restriction, _exit(control_to=date(2024, 12, 1)), "京0105", TODAY).field \
        == "body.control_to"
    assert _error(validate_exit_restriction, _exit(control_requirements="  "), "京0105", TODAY).field \
        == "body.control_requirements"
    wrong_doc = _exit(decision=document("RULING", "x"))
    assert _error(validate_exit_restriction, wrong_doc, "京0105", TODAY).field == "body.decision.kind"


def test_exit_restriction_is_for_natural_persons_only_002_s3_1() -> None:
    """002 §3(一)1: 被决定限制出境的当事人（自然人）."""
    org = _exit(subject=organisation("北京恒泰科技有限公司", "91110105MA01234567"))
    with pytest.raises(ValidationError):
        validate_exit_restriction(org, "京0105", TODAY)


def test_exit_restriction_officer_phone_is_checked_002_s3_1() -> None:
    """002 §3(一)1: 案件承办人姓名及联系电话."""
    body = _exit(officer={**OFFICER, "phone": "12345"})
    assert _error(validate_exit_restriction, body, "京0105", TODAY).field == "body.officer.phone"


def test_vehicle_seizure_needs_ruling_and_assistance_notice_002_s3_2() -> None:
    """002 §3(二): 查封车辆裁定书 and 协助执行通知书 (sealed, by digest)."""
    validate_vehicle_seizure(_seizure(), "京0105", TODAY)
    bad = _seizure(ruling={**document("RULING", "r"), "sha256": "abc"})
    assert _error(validate_vehicle_seizure, bad, "京0105", TODAY).field == "body.ruling.sha256"
    assert _error(validate_vehicle_seizure, _seizure(vin="LSVAU2183N2183294"), "京0105", TODAY).field == "body.vin"


def test_locate_person_needs_the_detention_decision_002_s3_3() -> None:
    body = api.locate_person(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER,
                             detention_decision=document("DETENTION_DECISION", "拘留1"),
                             assistance_notice=document("ASSISTANCE_NOTICE", "n")).body
    validate_locate_person(body, "京0105", TODAY)
    body["detention_decision"] = document("RULING", "拘留1")
    assert _error(validate_locate_person, body, "京0105", TODAY).field == "body.detention_decision.kind"


def test_identity_and_hotel_lookups_need_a_resident_id_002_s2_2() -> None:
    body = api.identity_lookup(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER).body
    validate_identity(body, "京0105", TODAY)
    body["subject"] = {**SUBJECT, "id_number": "110105194912310021"}
    assert _error(validate_identity, body, "京0105", TODAY).field == "body.subject.id_number"
    hotel = api.hotel_stay_lookup(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER).body
    hotel["window"] = {"start_at": CLIENT.clock.now(), "end_at": CLIENT.clock.now()}
    assert _error(validate_hotel, hotel, "京0105", TODAY).field == "body.window"


def test_a_court_can_only_ask_for_its_own_cases() -> None:
    body = api.identity_lookup(CLIENT, case=CASE, subject=SUBJECT, officer=OFFICER).body
    assert _error(validate_identity, body, "沪0115", TODAY).field == "body.case.court.court_code"


def test_release_names_its_measure_and_reason_002_s3_3() -> None:
    msg = api.release(CLIENT, measure_id="BK1", measure_kind="EXIT_RESTRICTION", case=CASE, subject=SUBJECT,
                      officer=OFFICER, reason="已履行")
    assert msg.envelope["correlation_id"] == "BK1"
    validate_release(msg.body, "京0105", TODAY, "BK1")
    assert _error(validate_release, msg.body, "京0105", TODAY, "BK2").field == "envelope.correlation_id"
    assert _error(validate_release, {**msg.body, "reason": ""}, "京0105", TODAY, None).field == "body.reason"


def test_police_replies_and_sightings_are_checked() -> None:
    placed = {"measure_kind": "VEHICLE_SEIZURE", "outcome": "PLACED", "measure_id": None, "reason": None}
    assert _error(validate_measure_reply, placed, "VEHICLE_SEIZURE").field == "body.measure_id"
    assert _error(validate_measure_reply, {**placed, "measure_id": "X"}, "EXIT_RESTRICTION").field \
        == "body.measure_kind"
    sighting = {"measure_id": "BK1", "measure_kind": "EXIT_RESTRICTION", "kind": "BORDER_EXIT_ATTEMPT",
                "place": "罗湖口岸", "place_code": "440303"}
    validate_sighting(sighting, "BK1")
    assert _error(validate_sighting, {**sighting, "kind": "MORTGAGE_ATTEMPT"}, "BK1").field == "body.kind"
    assert _error(validate_sighting, {**sighting, "place_code": "44"}, None).field == "body.place_code"


# --- the hub's measure rows -------------------------------------------------------------------
def _row(end: date | None) -> MeasureRow:
    body = _exit(control_to=end) if end else _seizure()
    kind = "EXIT_RESTRICTION" if end else "VEHICLE_SEIZURE"
    return rows.placed("M1", rows.pending_measure("R1", kind, body, "京0105", 2), 1_000, 2)


def test_an_exit_restriction_lapses_at_midnight_after_its_control_period_002_s3_1() -> None:
    row = _row(date(2025, 1, 5))
    end = rows.lapse_instant_ms(date(2025, 1, 5))  # 2025-01-06 00:00 China = 2025-01-05 16:00 UTC
    assert end == 1736092800000 and row.lapse_ms == end
    assert not rows.lapse_due(row, end - 1) and rows.lapse_due(row, end)
    assert rows.lapsed_if_due(row, end - 1) is None
    lapsed = rows.lapse(row, end)
    assert lapsed.state is MeasureState.LAPSED and not rows.lapse_due(lapsed, end + 1)
    assert rows.lapsed_if_due(row, end + 5) == lapsed, "lapses at the end of its period, not when noticed"
    assert rows.release(lapsed, "R2", end + 5).state is MeasureState.LAPSED, "no way back from lapsed"


def test_a_measure_without_an_end_never_lapses() -> None:
    assert not rows.lapse_due(_row(None), 10**15)
    assert rows.lapsed_if_due(_row(None), 10**15) is None


def test_sightings_after_release_are_not_active_hits_issue_4() -> None:
    row, hit = rows.sighted(_row(None))
    assert hit and row.active_hits == 1
    released = rows.release(row, "R2", 2_000)
    late, hit = rows.sighted(released)
    assert not hit and late.late_sightings == 1 and late.active_hits == 1 and late.released_ms == 2_000
    assert rows.release(released, "R3", 3_000).release_request_id == "R2", "a second release leaves the first"


def test_measure_rows_keep_their_stored_json_keys() -> None:
    """Rows already in the ``measures`` / ``measure_requests`` changelogs stay readable."""
    pending = rows.pending_measure("R1", "EXIT_RESTRICTION", _exit(control_to=date(2025, 1, 5)), "京0105", 2)
    assert pending.to_json() == {
        "request_id": "R1", "kind": "EXIT_RESTRICTION", "court": "京0105", "case": "（2024）京0105执1234号",
        "subject_id": "11010519491231002X", "subject_name": "张三", "plate": None, "end": "2025-01-05", "p": 2,
    }
    assert MeasureRequestRow.from_json(pending.to_json()) == pending
    row = rows.acknowledged(rows.release(rows.placed("M1", pending, 1_000, 3), "R2", 2_000), "RELEASED")
    assert list(row.to_json()) == [
        "request_id", "kind", "court", "case", "subject_id", "subject_name", "plate", "end", "p", "id", "state",
        "placed_at", "lapse_at", "released_at", "release_request", "ack", "lapsed_at", "hits", "late", "log",
    ]
    assert row.to_json() == {
        **pending.to_json(), "p": 3, "id": "M1", "state": "released", "placed_at": 1_000,
        "lapse_at": 1736092800000, "released_at": 2_000, "release_request": "R2", "ack": "RELEASED",
        "lapsed_at": None, "hits": 0, "late": 0, "log": [["active", 1_000], ["released", 2_000]],
    }
    assert MeasureRow.from_json(row.to_json()) == row
