"""The simulated police's answers: look-ups, measures, releases, lapses and sightings (seed 002).

:class:`PoliceDesk` turns a request body into a reply body (pure apart from its
:class:`~agents.police.store.PoliceStore`), and a planned observation
(:mod:`agents.police.events`) into a sighting.  The vehicle registry refuses a transfer or a new
mortgage of a vehicle under an active seizure that bars it (002 §3(二)); each refused attempt is
reported as a sighting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from agents.police.events import Planned
from agents.police.store import Measure, PoliceStore
from agents.police.world import PoliceWorld, Vehicle
from hub.clock import utc_datetime
from hub.flows.police.messages import EXIT_ENTRY, HOTEL, IDENTITY, MEASURE_KIND_OF, VEHICLE
from hub.flows.police.rows import lapse_instant_ms

MEASURE_NS = uuid.UUID("4c1d2f7a-9b3e-4f61-8a2d-6e5b7c9d0f13")
UNITS = {"EXIT_RESTRICTION": "国家移民管理局边防检查总站", "VEHICLE_SEIZURE": "公安部交通管理局车辆管理所",
         "LOCATE_PERSON": "公安部刑事侦查局（协查）"}
UNIT_PHONE = "010-66262114"
PREFIX = {"EXIT_RESTRICTION": "BK", "VEHICLE_SEIZURE": "CF", "LOCATE_PERSON": "XZ"}
NS = "cn.court.interop.police"


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _in(window: dict[str, Any] | None, at: datetime) -> bool:
    return window is None or window["start_at"] <= at < window["end_at"]


def measure_id_for(kind: str, request_id: str) -> str:
    """The 布控编号 of the measure placed for a request (the same for a redelivery)."""
    return PREFIX[kind] + uuid.uuid5(MEASURE_NS, request_id).hex[:14].upper()


class PoliceDesk:
    def __init__(self, world: PoliceWorld, store: PoliceStore) -> None:
        self.world = world
        self.store = store

    # --- look-ups (002 §2(二)) ---------------------------------------------------------------
    def lookup(self, schema: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        subject_id = body["subject"]["id_number"]
        base: dict[str, Any] = {"status": "FOUND", "reason": None, "answered_at": now}
        if schema == VEHICLE:
            found = [v for v in self.world.vehicles_of(subject_id)
                     if not body.get("plate_number") or v.plate_number == body["plate_number"].upper()]
            if not found:
                return {**base, "status": "NOT_FOUND", "reason": "查无车辆登记信息", "vehicles": []}
            return {**base, "vehicles": [self._vehicle(v) for v in found]}
        resident = self.world.resident(subject_id)
        if resident is None:
            return {**base, "status": "NOT_FOUND", "reason": "查无此人身份信息"}
        p = resident.person
        if schema == IDENTITY:
            return {**base, "persons": [{
                "name": p.name, "former_names": list(resident.former_names), "gender": p.gender,
                "birth_date": p.birth_date, "household_registration": resident.household_registration,
                "household_registration_code": p.region_code, "address": p.address, "id_number": p.id_number,
                "photo": resident.photo(),
            }]}
        if schema == EXIT_ENTRY:
            window = body.get("window")
            return {**base, "name": p.name, "gender": p.gender, "birth_date": p.birth_date,
                    "photo": resident.photo(), "phone": p.phone,
                    "documents": [{"document_type": d.document_type, "number": d.number, "issued_on": d.issued_on,
                                   "expires_on": d.expires_on, "status": d.status} for d in resident.documents],
                    "crossings": [{"direction": c.direction, "crossed_at": c.crossed_at, "port": c.port,
                                   "destination": c.destination, "document_number": c.document_number}
                                  for c in resident.crossings if _in(window, c.crossed_at)]}
        if schema == HOTEL:
            stays = [s for s in resident.stays if _in(body.get("window"), s.checked_in_at)]
            return {**base, "status": "FOUND" if stays else "NOT_FOUND",
                    "reason": None if stays else "查无住宿记录",
                    "stays": [{"checked_in_at": s.checked_in_at, "checked_out_at": s.checked_out_at,
                               "hotel_name": s.hotel_name, "hotel_address": s.hotel_address, "phone": s.phone}
                              for s in stays]}
        raise KeyError(schema)

    def _vehicle(self, v: Vehicle) -> dict[str, Any]:
        seizures = [{"authority": m.detail["court_name"], "document_name": "查封车辆裁定书",
                     "document_number": m.detail["ruling_number"],
                     "seized_on": datetime.fromtimestamp(m.placed_at_ms / 1000, UTC).date()}
                    for m in self.store.active_seizures(v.plate_number)]
        return {"plate_number": v.plate_number, "plate_type": v.plate_type, "brand": v.brand, "model": v.model,
                "vehicle_type": v.vehicle_type, "vin": v.vin, "registering_authority": v.registering_authority,
                "registered_on": v.registered_on, "mortgagee": v.mortgagee, "seizures": seizures}

    # --- measures (002 §3) -------------------------------------------------------------------
    def place(self, schema: str, request_id: str, court: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        kind = MEASURE_KIND_OF[schema]
        refused = self._refusal(kind, body)
        reply: dict[str, Any] = {"measure_kind": kind, "outcome": "REFUSED", "measure_id": None, "reason": refused,
                                 "placed_at": None, "effective_to": None, "handling_unit": UNITS[kind]}
        if refused:
            return reply
        end: date | None = body.get({"EXIT_RESTRICTION": "control_to", "VEHICLE_SEIZURE": "seizure_until",
                                     "LOCATE_PERSON": "valid_until"}[kind])
        mid = measure_id_for(kind, request_id)
        detail = {"court_name": body["case"]["court"]["court_name"], "officer": body["officer"]["name"],
                  "officer_phone": body["officer"]["phone"],
                  "ruling_number": (body.get("ruling") or body.get("decision")
                                    or body.get("detention_decision") or {}).get("number"),
                  "bar_transfer": body.get("bar_transfer", False), "bar_mortgage": body.get("bar_mortgage", False),
                  "seize_vehicle": body.get("seize_vehicle", False),
                  "requirements": body.get("control_requirements")}
        self.store.add_measure(Measure(mid, kind, request_id, court, body["case"]["case_number"],
                                       body["subject"]["id_number"], body.get("plate_number"), _ms(now),
                                       lapse_instant_ms(end) if end else None, "active", None, detail))
        return {**reply, "outcome": "PLACED", "measure_id": mid, "reason": None, "placed_at": now,
                "effective_to": end}

    def _refusal(self, kind: str, body: dict[str, Any]) -> str | None:
        subject_id = body["subject"]["id_number"]
        if kind == "VEHICLE_SEIZURE":
            v = self.world.vehicle(body["plate_number"])
            if v is None:
                return "查无该号牌车辆登记信息"
            if v.owner_id != subject_id:
                return "车辆登记所有人与被执行人不符"
            if body.get("vin") and body["vin"].upper() != v.vin:
                return "车辆识别代号与登记信息不符"
            return None
        return None if self.world.resident(subject_id) else "查无此人身份信息，无法布控"

    def release(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        mid, kind = body["measure_id"], body["measure_kind"]
        reply: dict[str, Any] = {"measure_id": mid, "measure_kind": kind, "status": "RELEASED",
                                 "released_at": None, "reason": None}
        m = self.store.measure(mid)
        if m is None:
            return {**reply, "status": "NOT_FOUND", "reason": "无此布控编号"}
        if m.kind != kind:
            return {**reply, "status": "REJECTED", "reason": f"该编号为{m.kind}措施"}
        if not self.store.end_measure(mid, "released", _ms(now)):
            return {**reply, "status": "ALREADY_RELEASED", "released_at": utc_datetime(m.ended_at_ms)}
        return {**reply, "released_at": now}

    def lapsed(self, body: dict[str, Any]) -> bool:
        return self.store.end_measure(body["measure_id"], "lapsed", _ms(body["lapsed_at"]))

    # --- observations -------------------------------------------------------------------------
    def sighting(self, m: Measure, planned: Planned) -> dict[str, Any]:
        return {"measure_id": m.measure_id, "measure_kind": m.kind, "kind": planned.kind,
                "observed_at": datetime.fromtimestamp(planned.at_ms / 1000, UTC), "place": planned.place,
                "place_code": planned.place_code, "details": self._details(m, planned.kind),
                "reporting_unit": UNITS[m.kind], "contact_phone": UNIT_PHONE, "case_number": m.case_number,
                "delivered_active": True}

    def _details(self, m: Measure, kind: str) -> str:
        if kind in ("TRANSFER_ATTEMPT", "MORTGAGE_ATTEMPT"):
            allowed, why = self.registry_allows(m.plate or "", kind)
            return why if not allowed else "申请已受理（未限制）"
        if kind == "BORDER_EXIT_ATTEMPT" and m.kind == "EXIT_RESTRICTION":
            return f"边控对象出境被阻止（{m.detail.get('requirements') or '阻止出境'}），已通知执行法院"
        if m.kind == "VEHICLE_SEIZURE":
            return "车辆已扣押" if m.detail.get("seize_vehicle") else "发现查封车辆，已通知执行法院"
        return "发现被执行人，已通知执行法院"

    def registry_allows(self, plate: str, kind: str) -> tuple[bool, str]:
        """The vehicle registry: transfer / new mortgage barred while an active seizure bars it."""
        bar = "bar_transfer" if kind == "TRANSFER_ATTEMPT" else "bar_mortgage"
        for m in self.store.active_seizures(plate.upper()):
            if m.detail.get(bar):
                what = "转移登记" if kind == "TRANSFER_ATTEMPT" else "抵押登记"
                return False, f"{what}申请被拒绝：车辆已被{m.detail['court_name']}查封"
        return True, ""
