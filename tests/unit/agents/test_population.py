"""The synthetic population shared by the simulators: deterministic, with valid identifiers (SPEC §2)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from fastavro.schema import load_schema, parse_schema
from fastavro.validation import validate

from agents.population import POPULATION_AS_OF, REGIONS_BY_CODE, Organisation, Person, Population
from hub.domain import parse_credit_code, parse_phone, parse_resident_id

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "avro"
POP = Population.generate()


def test_same_seed_same_population_other_seed_other_population() -> None:
    assert Population.generate(seed=2024) == POP
    other = Population.generate(seed=7)
    assert {p.id_number for p in other.persons} != {p.id_number for p in POP.persons}


def test_generation_does_not_touch_the_global_random_state() -> None:
    state = random.getstate()
    Population.generate(seed=5, persons=20, organisations=5)
    assert random.getstate() == state


def test_sizes_and_unique_identifiers() -> None:
    small = Population.generate(seed=1, persons=30, organisations=7)
    assert len(small.persons) == 30 and len(small.organisations) == 7
    ids = [s.id_number for s in POP.subjects]
    assert len(ids) == len(set(ids)) == 250


def test_resident_ids_are_valid_and_agree_with_gender_birth_date_and_region_gb11643() -> None:
    """SPEC §2: 18-digit resident ID with GB 11643 checksum; gender and birth date derivable from it."""
    for person in POP.persons:
        rid = parse_resident_id(person.id_number, today=POPULATION_AS_OF)
        assert rid.birth_date == person.birth_date
        assert person.gender == ("MALE" if int(person.id_number[16]) % 2 == 1 else "FEMALE")
        assert rid.region_code == person.region_code and person.region_code in REGIONS_BY_CODE
        assert 2 <= len(person.name) <= 3
    assert {"110105", "310115", "500103", "440106"} <= {p.region_code for p in POP.persons}
    assert {p.gender for p in POP.persons} == {"MALE", "FEMALE"}


def test_population_contains_minors_and_adults() -> None:
    """Minors exist (they may never be listed as dishonest debtors, 003 art. 4), so simulators can test it."""
    minors = POP.minors_on(POPULATION_AS_OF)
    assert 0 < len(minors) < len(POP.persons) // 4
    assert all(m.age_on(POPULATION_AS_OF) < 18 for m in minors)


def test_phones_are_valid_mobile_numbers() -> None:
    phones = [s.phone for s in POP.subjects if s.phone is not None]
    assert len(phones) > 200 and all(parse_phone(p) == p for p in phones)


def test_organisations_have_valid_credit_codes_and_adult_representatives_gb32100() -> None:
    """SPEC §2: organisation with 18-char unified social credit code (GB 32100 check) and legal representative."""
    for org in POP.organisations:
        code = parse_credit_code(org.id_number)
        assert code.kind == "uscc" and code.region_code == org.region_code and org.org_code == code.organisation_code
        representative = POP.by_id(org.legal_representative_id)
        assert isinstance(representative, Person) and representative.name == org.legal_representative
        assert not representative.is_minor_on(POPULATION_AS_OF)
        assert code.embedded_org_code_valid and parse_credit_code(org.org_code).kind == "org"
        assert org.name.endswith("公司")


def test_by_id_finds_persons_and_organisations() -> None:
    person, org = POP.persons[3], POP.organisations[2]
    assert POP.by_id(person.id_number) is person
    assert POP.by_id(org.id_number.lower()) is org
    assert POP.by_id("110105194912310021") is None


def test_subjects_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        POP.persons[0].name = "改名"  # type: ignore[misc]


def test_subject_records_validate_against_avro_subject() -> None:
    schema = parse_schema(load_schema(str(SCHEMA_DIR / "cn.court.interop.common.Subject.avsc"), _write_hint=False))
    subjects: list[Person | Organisation] = [*POP.persons[:20], *POP.organisations[:20]]
    for subject in subjects:
        record = subject.subject_record()
        assert validate(record, schema, raise_errors=True)
        assert record["kind"] == ("PERSON" if isinstance(subject, Person) else "ORGANISATION")
        if isinstance(subject, Organisation):
            assert record["legal_representative"] == subject.legal_representative
