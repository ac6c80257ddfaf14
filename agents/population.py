"""A deterministic synthetic population: natural persons and organisations.

Simulators (banks, police, credit platform) draw their customers, residents and
debtors from the same population so that a court's query at one simulator finds
the same person at another.  Everything derives from ``random.Random(seed)``:
the same seed always yields the same people, with valid identifiers:

* resident IDs (GB 11643): region code, birth date, sequence (odd = male, even =
  female, digit 17) and the check digit from ``stdnum.cn.ric``;
* unified social credit codes (GB 32100): the check character from ``stdnum.cn.uscc``.

Ages are fixed against :data:`POPULATION_AS_OF`, so the minors stay minors for
several years whatever the wall clock says.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from stdnum.cn import ric, uscc

from hub.domain import parse_credit_code, parse_phone, parse_resident_id
from hub.errors import InvalidCreditCode

__all__ = [
    "POPULATION_AS_OF",
    "REGIONS",
    "Organisation",
    "Person",
    "Population",
    "Region",
    "Subject",
]

#: Reference date for ages: the minors of the population are under 18 on this date (and for years after).
POPULATION_AS_OF = date(2024, 6, 1)


@dataclass(frozen=True, slots=True)
class Region:
    """A county-level division (GB/T 2260) used for household registration and branches."""

    code: str
    city: str
    district: str


#: Household-registration places the population is drawn from.
REGIONS: tuple[Region, ...] = (
    Region("110105", "北京市", "朝阳区"),
    Region("110108", "北京市", "海淀区"),
    Region("310115", "上海市", "浦东新区"),
    Region("500103", "重庆市", "渝中区"),
    Region("440106", "广州市", "天河区"),
    Region("330106", "杭州市", "西湖区"),
    Region("510107", "成都市", "武侯区"),
    Region("420106", "武汉市", "武昌区"),
)
REGIONS_BY_CODE: dict[str, Region] = {region.code: region for region in REGIONS}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红春梅文斌宇浩然欣怡子涵思远雨轩晨博"
_ORG_WORDS = ("华信", "恒泰", "金诚", "宏达", "鑫源", "瑞丰", "中科", "天成", "永安", "联创", "正阳", "汇通")
_ORG_TRADES = ("科技", "贸易", "建筑工程", "餐饮管理", "物流", "房地产开发", "信息技术", "商贸", "实业")
_ORG_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
_MOBILE_PREFIXES = ("130", "131", "135", "136", "138", "139", "150", "152", "158", "177", "186", "189", "199")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True, slots=True)
class Person:
    """A natural person (自然人)."""

    name: str
    id_number: str
    gender: Literal["MALE", "FEMALE"]
    birth_date: date
    region_code: str
    phone: str | None
    address: str

    @property
    def kind(self) -> Literal["PERSON"]:
        return "PERSON"

    def age_on(self, day: date) -> int:
        """Completed years of age (周岁) on ``day``, counted as :class:`hub.domain.ResidentId` does."""
        return parse_resident_id(self.id_number).age_on(day)

    def is_minor_on(self, day: date) -> bool:
        return parse_resident_id(self.id_number).is_minor_on(day)

    def subject_record(self) -> dict[str, Any]:
        """This person as an Avro ``cn.court.interop.common.Subject``."""
        return {
            "kind": "PERSON", "name": self.name, "id_type": "RESIDENT_ID", "id_number": self.id_number,
            "org_code": None, "gender": self.gender, "birth_date": self.birth_date, "former_names": [],
            "legal_representative": None,
        }


@dataclass(frozen=True, slots=True)
class Organisation:
    """A legal person or other organisation (法人或其他组织)."""

    name: str
    id_number: str  # unified social credit code
    legal_representative: str
    legal_representative_id: str
    region_code: str
    phone: str
    address: str

    @property
    def kind(self) -> Literal["ORGANISATION"]:
        return "ORGANISATION"

    @property
    def org_code(self) -> str:
        """The 9-character organisation code embedded in the credit code."""
        return self.id_number[8:17]

    def subject_record(self) -> dict[str, Any]:
        """This organisation as an Avro ``cn.court.interop.common.Subject``."""
        return {
            "kind": "ORGANISATION", "name": self.name, "id_type": "USCC", "id_number": self.id_number,
            "org_code": self.org_code, "gender": None, "birth_date": None, "former_names": [],
            "legal_representative": self.legal_representative,
        }


Subject = Person | Organisation


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(_SURNAMES) + given


def _mobile(rng: random.Random) -> str:
    return parse_phone(rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}")


def _address(rng: random.Random, region: Region) -> str:
    road = rng.choice(("建设路", "人民路", "解放大道", "中山路", "长安街", "和平里", "光华路"))
    return f"{region.city}{region.district}{road}{rng.randint(1, 300)}号"


def _resident_id(rng: random.Random, region: Region, born: date, male: bool) -> str:
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)  # digit 17 odd = male (GB 11643)
    return resident_id(region.code, born, sequence)


def resident_id(region_code: str, born: date, sequence: int) -> str:
    """A valid 18-character resident ID (GB 11643): region, birth date, 3-digit sequence, check digit."""
    body = f"{region_code}{born:%Y%m%d}{sequence % 1000:03d}"
    number = body + str(ric.calc_check_digit(body + "0"))  # stdnum expects a placeholder check digit
    return parse_resident_id(number).number


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) whose check character the hub's validator accepts."""
    body = "".join(rng.choice(_USCC_ALPHABET[:10] * 3 + _USCC_ALPHABET[10:]) for _ in range(8))
    for check in "0123456789X":  # the validator knows the check; ask it rather than re-implement GB 11714
        try:
            return parse_credit_code(body + check).code
        except InvalidCreditCode:
            continue
    raise AssertionError(f"no GB 11714 check character fits {body}")  # pragma: no cover - one always fits


def _credit_code(rng: random.Random, region: Region) -> str:
    body = f"91{region.code}{_org_code(rng)}"  # 9 = market regulation, 1 = enterprise
    return parse_credit_code(body + str(uscc.calc_check_digit(body))).code


def _birth_date(rng: random.Random, minor: bool) -> date:
    if minor:
        first, last = date(2011, 1, 1), date(2020, 12, 31)
    else:
        first, last = date(1950, 1, 1), date(2004, 12, 31)
    return first + timedelta(days=rng.randrange((last - first).days + 1))


@dataclass(frozen=True, slots=True)
class Population:
    """Persons and organisations generated from one seed; look them up with :meth:`by_id`."""

    seed: int
    persons: tuple[Person, ...]
    organisations: tuple[Organisation, ...]
    _index: dict[str, Subject] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, Subject] = {p.id_number: p for p in self.persons}
        index.update({o.id_number: o for o in self.organisations})
        object.__setattr__(self, "_index", index)

    @classmethod
    def generate(cls, seed: int = 2024, persons: int = 200, organisations: int = 50) -> Population:
        """``persons`` persons (about 1 in 10 a minor on :data:`POPULATION_AS_OF`) and ``organisations``."""
        rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        people: list[Person] = []
        seen: set[str] = set()
        while len(people) < persons:
            region = rng.choice(REGIONS)
            minor = rng.random() < 0.1
            male = rng.random() < 0.5
            born = _birth_date(rng, minor)
            number = _resident_id(rng, region, born, male)
            if number in seen:
                continue
            seen.add(number)
            young = POPULATION_AS_OF.year - born.year < 12
            people.append(Person(
                name=_person_name(rng), id_number=number, gender="MALE" if male else "FEMALE",
                birth_date=born, region_code=region.code, phone=None if young else _mobile(rng),
                address=_address(rng, region),
            ))
        adults = [p for p in people if not p.is_minor_on(POPULATION_AS_OF)] or people
        orgs: list[Organisation] = []
        while len(orgs) < organisations:
            region = rng.choice(REGIONS)
            code = _credit_code(rng, region)
            if code in seen:
                continue
            seen.add(code)
            representative = rng.choice(adults) if adults else None
            name = f"{region.city.removesuffix('市')}{rng.choice(_ORG_WORDS)}{rng.choice(_ORG_TRADES)}"
            orgs.append(Organisation(
                name=name + rng.choice(_ORG_FORMS), id_number=code,
                legal_representative=representative.name if representative else _person_name(rng),
                legal_representative_id=representative.id_number if representative else "",
                region_code=region.code, phone=_mobile(rng), address=_address(rng, region),
            ))
        return cls(seed=seed, persons=tuple(people), organisations=tuple(orgs))

    @property
    def subjects(self) -> tuple[Subject, ...]:
        """Persons first, then organisations, in generation order."""
        return (*self.persons, *self.organisations)

    def by_id(self, id_number: str) -> Subject | None:
        """The person with this resident ID or the organisation with this credit code."""
        return self._index.get(id_number.strip().upper())

    def minors_on(self, day: date) -> tuple[Person, ...]:
        return tuple(p for p in self.persons if p.is_minor_on(day))

    def region(self, code: str) -> Region | None:
        return REGIONS_BY_CODE.get(code)
