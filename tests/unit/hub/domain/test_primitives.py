"""Domain primitives: identifiers, case numbers, money, digests, phones, masks (SPEC §2-3)."""

from __future__ import annotations

import calendar
import string
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from hub.domain import (
    ENFORCEMENT_CASE_TYPES,
    ISO_4217_ACTIVE,
    MAX_AMOUNT_FEN,
    PROVINCE_ABBREVIATIONS,
    CaseNumber,
    Money,
    format_fen,
    mask_account,
    mask_phone,
    mask_resident_id,
    mask_value,
    parse_account_number,
    parse_amount_fen,
    parse_case_number,
    parse_credit_code,
    parse_currency,
    parse_phone,
    parse_resident_id,
    parse_sha256_hex,
    parse_yuan,
)
from hub.errors import (
    HubError,
    InvalidAmount,
    InvalidCaseNumber,
    InvalidCreditCode,
    InvalidCurrency,
    InvalidDigest,
    InvalidPhone,
    InvalidResidentId,
    ValidationError,
)

REGIONS = ("110105", "310101", "360426", "440305", "650102", "810000")


def make_id(region: str, born: date, sequence: int) -> str:
    """An 18-digit ID whose check digit stdnum computes (calc_check_digit ignores the last char)."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def wrong_check(number: str) -> tuple[str, str]:
    expected = number[-1]
    bad = "1" if expected != "1" else "2"
    return number[:-1] + bad, expected


def make_uscc(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


# --- resident ID (GB 11643) ----------------------------------------------------------


def test_resident_id_valid_is_taken_apart() -> None:
    number = make_id("110105", date(1990, 3, 15), 123)  # 17th digit 3: odd, male
    parsed = parse_resident_id(number)
    assert parsed.number == number
    assert parsed.birth_date == date(1990, 3, 15)
    assert parsed.gender == "M"
    assert parsed.region_code == "110105"
    assert str(parsed) == number
    assert parsed.birth_place() == {"province": "北京市", "county": "朝阳区"}


def test_resident_id_even_sequence_digit_is_female() -> None:
    """GB 11643 §4.4: the order code is odd for men and even for women."""
    assert parse_resident_id(make_id("310101", date(1985, 7, 1), 124)).gender == "F"


def test_resident_id_stdnum_doc_example_is_valid() -> None:
    assert parse_resident_id("360426199101010071").birth_date == date(1991, 1, 1)


def test_resident_id_check_x_accepts_lower_case_and_full_width() -> None:
    number = next(n for n in (make_id("110105", date(1990, 1, 1), s) for s in range(1000)) if n.endswith("X"))
    assert parse_resident_id(number.lower()).number == number
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert parse_resident_id(f"  {full_width} ").number == number


def test_resident_id_wrong_checksum_names_expected_digit() -> None:
    bad, expected = wrong_check(make_id("110105", date(1990, 3, 15), 123))
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(bad, "subject.id_number")
    assert info.value.field == "subject.id_number"
    assert info.value.message == f"checksum digit is {bad[-1]}, expected {expected}"
    assert str(info.value) == f"subject.id_number: checksum digit is {bad[-1]}, expected {expected}"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("11010519900315123", "must have 18 characters, got 17"),
        ("1101051990031512345", "must have 18 characters, got 19"),
        ("", "must have 18 characters, got 0"),
        ("110105900315123", "15-digit first-generation"),
        ("1101051990O315123X", "character 11 is 'O'; the first 17 characters must be digits"),
        ("110105 990031512X3", "character 7 is ' '"),
        ("11010519900315123Y", "check character is 'Y'; it must be a digit or X"),
        ("990105199003151231", "unknown province code 99"),
        ("110105199002301231", "birth date 19900230 is not a calendar date"),
        ("110105199013011231", "birth date 19901301 is not a calendar date"),
        ("110105180001011231", "birth date 1800-01-01 is before 1850-01-01"),
    ],
)
def test_resident_id_each_defect_has_its_own_message(value: str, problem: str) -> None:
    with pytest.raises(InvalidResidentId, match=problem) as info:
        parse_resident_id(value, "subject.id_number")
    assert info.value.field == "subject.id_number"
    assert info.value.code == "invalid_resident_id"


def test_resident_id_non_string_is_rejected() -> None:
    with pytest.raises(InvalidResidentId, match="expected a string, got int"):
        parse_resident_id(110105199003151231)


def test_resident_id_birth_date_in_future_rejected_only_with_today() -> None:
    number = make_id("110105", date(2030, 1, 1), 1)
    assert parse_resident_id(number).birth_date == date(2030, 1, 1)  # clock-free: no future check
    with pytest.raises(
        InvalidResidentId, match=r"birth date 2030-01-01 is in the future \(today is 2025-01-02\)"
    ):
        parse_resident_id(number, today=date(2025, 1, 2))
    assert parse_resident_id(number, today=date(2030, 1, 1)).birth_date == date(2030, 1, 1)


def test_resident_id_errors_do_not_leak_the_number() -> None:
    """Error text goes into replies and logs; it must not carry the full ID."""
    bad, _ = wrong_check(make_id("110105", date(1990, 3, 15), 123))
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(bad)
    assert bad[:14] not in str(info.value)


def test_resident_id_errors_are_validation_errors() -> None:
    assert issubclass(InvalidResidentId, ValidationError)
    assert issubclass(ValidationError, HubError)
    assert InvalidResidentId.retriable is False


# --- age --------------------------------------------------------------------------------


def test_age_on_birthday_is_reached_the_day_after() -> None:
    """Civil Code arts. 201-202 and 法释〔2006〕1号 art. 2: 周岁 count from the day after the birthday."""
    subject = parse_resident_id(make_id("110105", date(2000, 6, 15), 11))
    assert subject.age_on(date(2018, 6, 14)) == 17
    assert subject.age_on(date(2018, 6, 15)) == 17
    assert subject.age_on(date(2018, 6, 16)) == 18
    assert subject.age_on(date(2019, 1, 1)) == 18


def test_age_on_born_29_february() -> None:
    """Civil Code art. 202: without a 29 February the period ends on 28 February."""
    subject = parse_resident_id(make_id("110105", date(2000, 2, 29), 11))
    assert subject.age_on(date(2018, 2, 28)) == 17
    assert subject.age_on(date(2018, 3, 1)) == 18
    assert subject.age_on(date(2020, 2, 29)) == 19  # leap year: the birthday itself
    assert subject.age_on(date(2020, 3, 1)) == 20


def test_age_on_day_of_birth_is_zero_and_before_birth_is_rejected() -> None:
    subject = parse_resident_id(make_id("110105", date(2020, 5, 5), 11))
    assert subject.age_on(date(2020, 5, 5)) == 0
    assert subject.age_on(date(2021, 5, 6)) == 1
    with pytest.raises(InvalidResidentId, match="before the birth date") as info:
        subject.age_on(date(2020, 5, 4))
    assert info.value.field == "day"


def test_minor_cannot_be_listed_until_day_after_18th_birthday() -> None:
    """2017 dishonest-list provisions art. 4: minors are not entered on the list."""
    subject = parse_resident_id(make_id("440305", date(2007, 3, 10), 22))
    assert subject.is_minor_on(date(2025, 3, 10))
    assert not subject.is_minor_on(date(2025, 3, 11))


def anniversaries_completed(born: date, day: date) -> int:
    """Reference count: the k-th year is complete once the day after its anniversary arrives."""
    completed = 0
    while True:
        year = born.year + completed + 1
        anniversary = date(year, born.month, min(born.day, calendar.monthrange(year, born.month)[1]))
        if day <= anniversary:
            return completed
        completed += 1


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)),
    offset=st.integers(min_value=0, max_value=40_000),
)
def test_age_on_agrees_with_counting_anniversaries(born: date, offset: int) -> None:
    """Civil Code art. 202: a year of age is complete at the end of its anniversary."""
    day = born + timedelta(days=offset)
    subject = parse_resident_id(make_id("110105", born, 1))
    assert subject.age_on(day) == anniversaries_completed(born, day)


@given(
    region=st.sampled_from(REGIONS),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_any_generated_resident_id_parses_and_round_trips(region: str, born: date, sequence: int) -> None:
    number = make_id(region, born, sequence)
    parsed = parse_resident_id(number, today=date(2025, 1, 1))
    assert str(parsed) == number
    assert parsed.birth_date == born
    assert parsed.region_code == region
    assert parsed.gender == ("M" if sequence % 2 else "F")
    assert ric.calc_check_digit(number) == number[-1]


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    digit=st.sampled_from("0123456789X"),
)
def test_any_wrong_check_digit_is_rejected(born: date, sequence: int, digit: str) -> None:
    number = make_id("360426", born, sequence)
    candidate = number[:-1] + digit
    if candidate == number:
        assert parse_resident_id(candidate).number == number
    else:
        with pytest.raises(InvalidResidentId, match=f"expected {number[-1]}"):
            parse_resident_id(candidate)


# --- credit codes (GB 32100) and organisation codes (GB 11714) -------------------------


def test_credit_code_valid() -> None:
    code = parse_credit_code("91110000600037341L")
    assert code.kind == "uscc"
    assert code.organisation_code == "600037341"
    assert code.registration_authority == "9"
    assert code.region_code == "110000"
    assert code.embedded_org_code_valid
    assert str(code) == "91110000600037341L"


def test_credit_code_generated_with_stdnum_and_normalised() -> None:
    number = make_uscc("91310115MA1H7T6P2")
    assert parse_credit_code(number.lower()).code == number
    assert parse_credit_code(f" {number[:8]} {number[8:]} ").code == number


def test_credit_code_letter_registration_authority_accepted() -> None:
    """GB 32100 allows letter authority codes (e.g. N, rural collective organisations)."""
    number = make_uscc("N2330106MF0123456")
    assert parse_credit_code(number).registration_authority == "N"


def test_credit_code_wrong_check_names_expected() -> None:
    with pytest.raises(InvalidCreditCode) as info:
        parse_credit_code("91110000600037341X", "subject.credit_code")
    assert info.value.field == "subject.credit_code"
    assert info.value.message == "check character is X, expected L"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("9111000060003734", "must have 18 characters .credit code. or 9 .organisation code., got 16"),
        (
            "9111000060003734IL",
            "character 17 is 'I'; allowed are digits and letters other than I, O, Z, S, V",
        ),
        ("911A0000600037341L", "character 4 is 'A'; characters 3-8 .region code. must be digits"),
        ("01110000600037341L", "must not be 0"),
        ("6000373-4X", "check character is X, expected 1"),
        ("6000#7341", "character 5 is '#'"),
    ],
)
def test_credit_code_each_defect_has_its_own_message(value: str, problem: str) -> None:
    with pytest.raises(InvalidCreditCode, match=problem) as info:
        parse_credit_code(value)
    assert info.value.field == "credit_code"


def test_organisation_code_with_hyphen_accepted() -> None:
    """Seed 003 lists the organisation code as an alternative to the credit code."""
    code = parse_credit_code("60003734-1")
    assert code.kind == "org"
    assert code.organisation_code == "600037341"
    assert code.registration_authority is None
    assert code.region_code is None


@given(body=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
def test_any_stdnum_generated_credit_code_parses(body: str) -> None:
    number = make_uscc("91440300" + body)
    assert parse_credit_code(number).code == number
    assert uscc.is_valid(number)


# --- case numbers (案号) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "canonical", "court", "case_type", "serial"),
    [
        ("(2024)京0105执1234号", "（2024）京0105执1234号", "京0105", "执", 1234),
        ("（2024）京0105执1234号", "（2024）京0105执1234号", "京0105", "执", 1234),
        ("（２０２４）京01执恢7号", "（2024）京01执恢7号", "京01", "执恢", 7),
        ("(2023)京执异3号", "（2023）京执异3号", "京", "执异", 3),
        ("(2022)最高法执监45号", "（2022）最高法执监45号", "最高法", "执监", 45),
        ("(2021)沪72执保100号", "（2021）沪72执保100号", "沪72", "执保", 100),
        ("(2020)粤0304执他1号", "（2020）粤0304执他1号", "粤0304", "执他", 1),
        ("(2019)兵0101执1号", "（2019）兵0101执1号", "兵0101", "执", 1),
    ],
)
def test_case_number_valid_is_canonicalised(
    value: str, canonical: str, court: str, case_type: str, serial: int
) -> None:
    """SPC rules on case numbers (2016) art. 3: （year）court code + type code + serial + 号."""
    parsed = parse_case_number(value)
    assert str(parsed) == canonical
    assert (parsed.court_code, parsed.case_type, parsed.serial) == (court, case_type, serial)
    assert parse_case_number(str(parsed)) == parsed


def test_case_number_special_trial_marker() -> None:
    """2018 amendment art. 2: a one-character special-trial code (知) precedes the type code."""
    parsed = parse_case_number("(2019)京73知执1号")
    assert parsed.special_marker == "知"
    assert parsed.case_type == "执"
    assert str(parsed) == "（2019）京73知执1号"


def test_case_number_legacy_format_kept_verbatim() -> None:
    """Pre-2016 numbers (字第, padded serials) are still live in terminated-case sweeps."""
    parsed = parse_case_number("(2014)朝执字第01234号")
    assert parsed.legacy
    assert (parsed.year, parsed.court_code, parsed.case_type, parsed.serial) == (2014, "朝", "执字", 1234)
    assert str(parsed) == "（2014）朝执字第01234号"
    assert parse_case_number("(2012)京一中执恢字第5号").court_code == "京一中"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2024京0105执1234号", "must start with the filing year in parentheses"),
        ("(24)京0105执1234号", "year 24 must have 4 digits"),
        ("(1989)京0105执1234号", "year 1989 is outside 1990..2100"),
        ("(2101)京0105执1234号", "year 2101 is outside 1990..2100"),
        ("(2024)京0105执1234", "must end with 号"),
        ("(2024)京0105民初1234号", "case type '民初' is not an enforcement case type"),
        ("(2024)京010执1号", "digits must be none .high court., 2 .intermediate. or 4 .basic court., got 3"),
        ("(2024)港0105执1号", "court code must start with 最高法 or a province abbreviation"),
        ("(2024)最高法01执1号", "court code 最高法 takes no digits"),
        ("(2024)京0105执01号", "serial number 01 has a leading zero"),
        ("(2024)京0105执0号", "serial number must be positive, got 0"),
        ("(2024)京0105执123456789号", "longer than 8 digits"),
        ("(2024)京0105 执1号", "contains whitespace"),
        ("(2024)0105执1号", "expected court code, case type, serial number and 号"),
        ("(2020)朝执字第1号", "pre-2016 format"),
        ("(2014)朝民字第1号", "pre-2016 number must look like"),
        ("", "is empty"),
    ],
)
def test_case_number_each_defect_has_its_own_message(value: str, problem: str) -> None:
    with pytest.raises(InvalidCaseNumber, match=problem) as info:
        parse_case_number(value, "case.case_number")
    assert info.value.field == "case.case_number"


def test_case_number_future_year_rejected_with_today() -> None:
    assert parse_case_number("(2026)京执1号").year == 2026
    with pytest.raises(InvalidCaseNumber, match="year 2026 is in the future"):
        parse_case_number("(2026)京执1号", today=date(2025, 12, 31))


@given(
    year=st.integers(min_value=2016, max_value=2100),
    province=st.sampled_from(PROVINCE_ABBREVIATIONS),
    digits=st.sampled_from(["", "01", "73", "0105", "0491"]),
    case_type=st.sampled_from(ENFORCEMENT_CASE_TYPES),
    serial=st.integers(min_value=1, max_value=99_999_999),
)
def test_any_well_formed_case_number_round_trips(
    year: int, province: str, digits: str, case_type: str, serial: int
) -> None:
    text = f"({year}){province}{digits}{case_type}{serial}号"
    parsed = parse_case_number(text)
    assert parsed == CaseNumber(year, province + digits, case_type, serial)
    assert str(parsed) == f"（{year}）{province}{digits}{case_type}{serial}号"


# --- money ------------------------------------------------------------------------------


def test_amount_int_accepted() -> None:
    assert parse_amount_fen(1) == 1
    assert parse_amount_fen(MAX_AMOUNT_FEN) == MAX_AMOUNT_FEN
    assert parse_amount_fen(Decimal("1500")) == 1500
    assert parse_amount_fen(Decimal("1500.00")) == 1500
    assert parse_amount_fen(0, allow_zero=True) == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1.0, "expected an integer number of fen, got float 1.0"),
        (True, "got bool True"),
        (-5, "negative amount -5"),
        (0, "amount must be positive, got 0"),
        (MAX_AMOUNT_FEN + 1, "exceeds the limit"),
        (Decimal("10.5"), "amount 10.5 has a fraction of a fen"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("-Infinity"), "not a finite number"),
        (Decimal("-3"), "negative amount -3"),
        ("100", "got str"),
        (None, "got NoneType"),
    ],
)
def test_amount_rejected_with_reason(value: object, problem: str) -> None:
    """SPEC §2: negative or fractional-fen amounts are rejected with a reply saying why."""
    with pytest.raises(InvalidAmount, match=problem) as info:
        parse_amount_fen(value, "freeze.amount_fen")
    assert info.value.field == "freeze.amount_fen"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_amount_is_rejected(value: float) -> None:
    with pytest.raises(InvalidAmount, match="got float"):
        parse_amount_fen(value)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_any_int_in_range_is_accepted(value: int) -> None:
    assert parse_amount_fen(value) == value


def test_parse_yuan_converts_to_fen() -> None:
    assert parse_yuan("12,345.67") == 1_234_567
    assert parse_yuan(Decimal("0.01")) == 1
    with pytest.raises(InvalidAmount, match="fraction of a fen"):
        parse_yuan("1.005")
    with pytest.raises(InvalidAmount, match="is not a decimal number of yuan"):
        parse_yuan("twelve")


def test_currency_codes() -> None:
    assert parse_currency("CNY") == "CNY"
    assert parse_currency(" usd ") == "USD"
    assert {"CNY", "USD", "EUR", "HKD", "JPY", "XCG", "ZWG"} <= ISO_4217_ACTIVE
    assert "HRK" not in ISO_4217_ACTIVE
    assert all(len(code) == 3 and code.isupper() for code in ISO_4217_ACTIVE)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("RMB", "RMB is not an active ISO 4217"),
        ("HRK", "HRK is not an active"),
        ("US", "not a 3-letter"),
        ("C1Y", "not a 3-letter"),
        (156, "expected a string, got int"),
    ],
)
def test_currency_rejected(value: object, problem: str) -> None:
    with pytest.raises(InvalidCurrency, match=problem) as info:
        parse_currency(value, "deduct.currency")
    assert info.value.field == "deduct.currency"


def test_format_fen() -> None:
    assert format_fen(1_234_567) == "¥12,345.67"
    assert format_fen(100, "USD") == "USD 1.00"
    assert format_fen(5) == "¥0.05"
    assert format_fen(0) == "¥0.00"
    assert format_fen(-150) == "-¥1.50"


def test_money_arithmetic_same_currency() -> None:
    assert Money(500) + Money(250) == Money(750, "CNY")
    assert Money(500, "USD") - Money(500, "USD") == Money(0, "USD")
    assert str(Money(123_456)) == "¥1,234.56"


def test_money_refuses_mixed_currencies_and_negative_results() -> None:
    with pytest.raises(InvalidCurrency, match="cannot combine CNY with USD"):
        _ = Money(1) + Money(1, "USD")
    with pytest.raises(InvalidAmount, match="negative amount -5"):
        _ = Money(5) - Money(10)
    with pytest.raises(InvalidAmount, match="got float"):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidCurrency):
        Money(1, "cny")
    with pytest.raises(TypeError):
        _ = Money(1) + 1


# --- digests, phones, accounts ------------------------------------------------------------


def test_sha256_hex_normalised_to_lower_case() -> None:
    digest = "AB" * 32
    assert parse_sha256_hex(digest, "ruling.sha256") == "ab" * 32


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ab" * 31, "must have 64 hex digits, got 62"),
        ("g" + "a" * 63, "character 1 is 'g', not a hex digit"),
        (b"ab" * 32, "expected a string, got bytes"),
    ],
)
def test_sha256_hex_rejected(value: object, problem: str) -> None:
    with pytest.raises(InvalidDigest, match=problem) as info:
        parse_sha256_hex(value, "ruling.sha256")
    assert info.value.field == "ruling.sha256"


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008619912345678", "19912345678"),
        ("8613800138000", "13800138000"),
        ("010-62345678", "010-62345678"),
        ("01062345678", "010-62345678"),
        ("020 8765432", "020-8765432"),
        ("0755-22345678", "0755-22345678"),
        ("075522345678", "0755-22345678"),
    ],
)
def test_phone_normalised(value: str, normalised: str) -> None:
    assert parse_phone(value) == normalised


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1380013800", "mobile number must have 11 digits, got 10"),
        ("12800138000", "mobile number must start with 13-19, got 12"),
        ("0755-2234", "must have 7 or 8 digits, got 4"),
        ("0755-12345678", "local number must not start with 1"),
        ("07-5522345678", "area code 07 must have 4 digits"),
        ("0012345678", "must not start with 00"),
        ("23456789", "must be a mobile number"),
        ("138abc", "contains 'a'"),
        ("", "is empty"),
    ],
)
def test_phone_rejected(value: str, problem: str) -> None:
    with pytest.raises(InvalidPhone, match=problem) as info:
        parse_phone(value, "officer.phone")
    assert info.value.field == "officer.phone"


def test_account_number() -> None:
    assert parse_account_number("6222 0212 3456 7890 123") == "6222021234567890123"
    with pytest.raises(ValidationError, match="must have 8-32 digits, got 7") as info:
        parse_account_number("1234567", "freeze.account_number")
    assert info.value.field == "freeze.account_number"
    with pytest.raises(ValidationError, match="character 5 is '-'"):
        parse_account_number("6222-0212-3456")
    with pytest.raises(ValidationError, match="got 33"):
        parse_account_number("1" * 33)


# --- masks ---------------------------------------------------------------------------------


def test_masks_keep_first_three_and_last_four() -> None:
    assert mask_resident_id("110105199001011234") == "110***********1234"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_account("6222021234567890123") == "622************0123"


def test_masks_hide_short_values_and_never_raise() -> None:
    assert mask_account("12345678") == "******78"
    assert mask_value("abc") == "**c"
    assert mask_value("") == ""
    assert mask_value(None) == ""
    assert mask_value(12345678901) == "123****8901"


@given(st.text(alphabet=string.digits + "X", max_size=40))
def test_mask_hides_at_least_four_characters(value: str) -> None:
    masked = mask_value(value)
    assert len(masked) == len(value)
    if len(value) >= 6:
        assert masked.count("*") >= 4
    for shown, original in zip(masked, value, strict=True):
        assert shown in ("*", original)
