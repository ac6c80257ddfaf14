"""The simulated police's records: a deterministic world built on :mod:`agents.population`.

From one seed: each person's identity record (former names for some, household registration,
address, photo reference), exit-entry documents and border crossings, hotel stays, and the
vehicles of persons and organisations (plate, brand, model, type, VIN with its check digit,
registering authority and date, mortgagee).  The same seed gives the same world in the simulator
and in a test (which reads it to know what the police should answer).  All record dates lie
before :data:`~agents.population.POPULATION_AS_OF`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agents.population import Person, Population, Subject
from hub.flows.police.messages import vin_check_digit

PLATE_PREFIX = {"110": "京", "310": "沪", "500": "渝", "440": "粤", "330": "浙", "510": "川", "420": "鄂"}
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_CARS = (("大众", "帕萨特", "小型轿车"), ("丰田", "凯美瑞", "小型轿车"), ("比亚迪", "汉EV", "小型轿车"),
         ("本田", "CR-V", "小型普通客车"), ("奔驰", "E300L", "小型轿车"), ("解放", "J6P", "重型半挂牵引车"),
         ("五菱", "宏光", "小型普通客车"), ("宝马", "X5", "小型越野客车"))
_MORTGAGEES = ("中国工商银行股份有限公司", "平安银行股份有限公司", "上汽通用汽车金融有限责任公司")
_HOTELS = (("如家酒店(北京朝阳门店)", "北京市朝阳区朝阳门外大街12号", "110105"),
           ("汉庭酒店(上海陆家嘴店)", "上海市浦东新区东方路88号", "310115"),
           ("锦江之星(重庆解放碑店)", "重庆市渝中区民族路166号", "500103"),
           ("7天酒店(广州天河店)", "广州市天河区天河路200号", "440106"),
           ("全季酒店(杭州西湖店)", "杭州市西湖区曙光路50号", "330106"),
           ("亚朵酒店(成都武侯祠店)", "成都市武侯区武侯祠大街9号", "510107"))
_DESTINATIONS = ("中国香港", "中国澳门", "泰国", "日本", "新加坡", "美国")
_PORTS = ("北京首都国际机场", "上海浦东国际机场", "深圳罗湖口岸", "广州白云国际机场", "珠海拱北口岸")
_GIVEN = "伟芳敏静强磊军洋勇杰涛明超华建国红春"


@dataclass(frozen=True, slots=True)
class Vehicle:
    plate_number: str
    plate_type: str
    brand: str
    model: str
    vehicle_type: str
    vin: str
    owner_id: str
    registering_authority: str
    registered_on: date
    mortgagee: str | None


@dataclass(frozen=True, slots=True)
class TravelDocument:
    document_type: str
    number: str
    issued_on: date
    expires_on: date
    status: str


@dataclass(frozen=True, slots=True)
class Crossing:
    direction: str
    crossed_at: datetime
    port: str
    destination: str
    document_number: str


@dataclass(frozen=True, slots=True)
class HotelStay:
    checked_in_at: datetime
    checked_out_at: datetime | None
    hotel_name: str
    hotel_address: str
    place_code: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class Resident:
    """What the police hold on one person."""

    person: Person
    former_names: tuple[str, ...]
    household_registration: str
    documents: tuple[TravelDocument, ...]
    crossings: tuple[Crossing, ...]
    stays: tuple[HotelStay, ...]

    def photo(self) -> dict[str, Any]:
        """Reference to the photo (照片): a digest, never the image."""
        digest = hashlib.sha256(f"photo:{self.person.id_number}".encode()).hexdigest()
        return {"kind": "PHOTO", "number": f"PHOTO-{self.person.id_number}", "sha256": digest,
                "title": "户籍照片", "issued_by": "公安部人口信息管理系统", "issued_on": None, "uri": None}


def _vin(rng: random.Random) -> str:
    body = "L" + "".join(rng.choice(_VIN_CHARS) for _ in range(16))
    return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]


def _plate(rng: random.Random, region: str) -> str:
    prefix = PLATE_PREFIX.get(region[:3], "京")
    return prefix + rng.choice("ABCDEFG") + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))


def _at(rng: random.Random, first: date, days: int) -> datetime:
    day = first + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)


def _resident(rng: random.Random, person: Person, population: Population) -> Resident:
    region = population.region(person.region_code)
    place = f"{region.city}{region.district}" if region else person.region_code
    former = (person.name[0] + rng.choice(_GIVEN),) if rng.random() < 0.3 else ()
    adult = not person.is_minor_on(date(2024, 6, 1))
    docs: list[TravelDocument] = []
    crossings: list[Crossing] = []
    if adult and rng.random() < 0.5:
        issued = date(2019, 1, 1) + timedelta(days=rng.randrange(1500))
        docs.append(TravelDocument("普通护照", f"E{rng.randrange(10**8):08d}", issued,
                                   issued.replace(year=issued.year + 10), "有效"))
        if rng.random() < 0.5:
            docs.append(TravelDocument("往来港澳通行证", f"C{rng.randrange(10**8):08d}", issued,
                                       issued.replace(year=issued.year + 10), "有效"))
        for _ in range(rng.randint(1, 3)):
            out = _at(rng, date(2023, 1, 1), 500)
            doc, port, dest = rng.choice(docs), rng.choice(_PORTS), rng.choice(_DESTINATIONS)
            crossings.append(Crossing("EXIT", out, port, dest, doc.number))
            crossings.append(Crossing("ENTRY", out + timedelta(days=rng.randint(2, 20)), port, dest, doc.number))
    stays: list[HotelStay] = []
    if adult and rng.random() < 0.6:
        for _ in range(rng.randint(1, 4)):
            hotel = rng.choice(_HOTELS)
            checked_in = _at(rng, date(2023, 6, 1), 360)
            stays.append(HotelStay(checked_in, checked_in + timedelta(days=rng.randint(1, 4), hours=-10),
                                   hotel[0], hotel[1], hotel[2], person.phone))
    return Resident(person, former, place, tuple(docs), tuple(sorted(crossings, key=lambda c: c.crossed_at)),
                    tuple(sorted(stays, key=lambda s: s.checked_in_at, reverse=True)))


def _vehicles(rng: random.Random, subject: Subject, count: int, city: str) -> list[Vehicle]:
    out = []
    for _ in range(count):
        brand, model, vtype = rng.choice(_CARS)
        out.append(Vehicle(
            _plate(rng, subject.region_code), "02 小型汽车" if "客车" in vtype or "轿车" in vtype else "01 大型汽车",
            brand, model, vtype, _vin(rng), subject.id_number, f"{city}公安局交通管理局车辆管理所",
            date(2015, 1, 1) + timedelta(days=rng.randrange(3000)),
            rng.choice(_MORTGAGEES) if rng.random() < 0.3 else None,
        ))
    return out


@dataclass(frozen=True)
class PoliceWorld:
    """Residents and vehicles; look them up by resident ID / credit code or plate."""

    seed: int
    population: Population
    residents: dict[str, Resident]
    vehicles: tuple[Vehicle, ...]
    _by_plate: dict[str, Vehicle] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_plate", {v.plate_number: v for v in self.vehicles})

    @classmethod
    def generate(cls, seed: int = 2024) -> PoliceWorld:
        population = Population.generate(seed)
        rng = random.Random(f"police/{seed}")  # noqa: S311 - synthetic data, not security
        residents = {p.id_number: _resident(rng, p, population) for p in population.persons}
        vehicles: list[Vehicle] = []
        plates: set[str] = set()
        for subject in population.subjects:
            adult = subject.kind == "ORGANISATION" or not subject.is_minor_on(date(2024, 6, 1))
            share = 0.4 if subject.kind == "ORGANISATION" else 0.35
            if adult and rng.random() < share:
                region = population.region(subject.region_code)
                city = region.city if region else "北京市"
                for v in _vehicles(rng, subject, rng.randint(1, 2), city):
                    if v.plate_number not in plates:
                        plates.add(v.plate_number)
                        vehicles.append(v)
        return cls(seed, population, residents, tuple(vehicles))

    def resident(self, id_number: str) -> Resident | None:
        return self.residents.get(id_number.strip().upper())

    def vehicle(self, plate: str) -> Vehicle | None:
        return self._by_plate.get(plate.strip().upper())

    def vehicles_of(self, owner_id: str) -> list[Vehicle]:
        owner = owner_id.strip().upper()
        return [v for v in self.vehicles if v.owner_id == owner]
