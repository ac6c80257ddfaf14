"""Intensive query (集约查询, seed 001): unit set, merged result, the 3-day viewing rule, the stored row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from hub.flows.bank import rows as iq
from topics.agencies import LOCAL_BANKS, NATIONAL_BANKS, PAYMENT_FIRMS
from topics.catalog import DEFAULT_CATALOG

DAY = 24 * 3600 * 1000


def _query(household: str | None = "110105", court_place: str = "500103") -> iq.IntensiveQuery:
    units = iq.unit_set(DEFAULT_CATALOG.agencies, household, court_place)
    return iq.new_intensive_query("iq1", case_number="c", court={"court_code": "渝0103"}, filing_date=date(1, 1, 1),
                                  officer={}, units=units, now_ms=0, partition=0)


def _reply(status: str = "EXECUTED", accounts: int = 0) -> dict[str, Any]:
    acc = {"balance": {"amount_fen": 1000, "currency": "CNY"}}
    return {"status": status, "reason": None, "no_account": accounts == 0, "accounts": [acc] * accounts,
            "financial_assets": []}


def test_unit_set_is_national_banks_payment_firms_securities_and_the_two_local_banks_seed_001() -> None:
    units = iq.unit_set(DEFAULT_CATALOG.agencies, "110105", "500103")
    assert {a.code for a in NATIONAL_BANKS} <= units.keys()
    assert {a.code for a in PAYMENT_FIRMS} <= units.keys()
    assert units["csdc"] == "SECURITIES"
    assert units["bjrcb"] == "LOCAL_BANK_HOUSEHOLD"  # Beijing household registration
    assert units["cqrcb"] == "LOCAL_BANK_COURT"  # court in Chongqing
    assert not {a.code for a in LOCAL_BANKS} - {"bjrcb", "cqrcb"} & units.keys()


def test_merged_result_reports_hit_no_hit_error_and_no_response_yet() -> None:
    query = _query()
    query = iq.apply_reply(query, "icbc", _reply(accounts=2), "m1", 10)
    query = iq.apply_reply(query, "ccb", _reply(accounts=0), "m2", 11)
    query = iq.apply_reply(query, "abc", _reply(status="NOT_EXECUTED"), "m3", 12)
    body = iq.result_body(query, {}, datetime(2025, 1, 2, tzinfo=UTC))
    states = {u["unit_code"]: u["state"] for u in body["units"]}
    assert (states["icbc"], states["ccb"], states["abc"], states["boc"]) == ("HIT", "NO_HIT", "ERROR", "PENDING")
    assert body["property_found"] and not body["complete"]
    assert next(u for u in body["units"] if u["unit_code"] == "icbc")["total_balance"]["amount_fen"] == 2000


def test_late_replies_complete_the_result_and_a_repeat_changes_nothing() -> None:
    query = _query()
    for unit in list(query.units):
        query = iq.apply_reply(query, unit, _reply(), f"m-{unit}", 5)
    assert query.is_complete
    assert iq.apply_reply(query, "icbc", _reply(accounts=3), "again", 6) is query


def test_property_not_viewed_within_3_days_is_escalated_seed_001() -> None:
    """Seed 001 §(一)2: feedback with property must be viewed within 3 days, else 执行督办."""
    query = iq.apply_reply(_query(), "icbc", _reply(accounts=1), "m1", 1000)
    assert not iq.escalation_due(query, 1000 + 3 * DAY - 1)
    assert iq.escalation_due(query, 1000 + 3 * DAY)
    assert not iq.escalation_due(iq.mark_escalated(query, 5), 1000 + 4 * DAY), "escalated once"


def test_viewed_property_is_not_escalated_seed_001() -> None:
    query = iq.mark_viewed(iq.apply_reply(_query(), "icbc", _reply(accounts=1), "m1", 1000), 2000)
    assert not iq.escalation_due(query, 1000 + 10 * DAY)
    assert iq.mark_viewed(query, 3000).viewed_ms == 2000, "the first viewing counts"


def test_no_property_means_no_viewing_deadline() -> None:
    query = iq.apply_reply(_query(), "icbc", _reply(accounts=0), "m1", 1000)
    assert query.view_due_ms is None and not iq.escalation_due(query, 10 * DAY)


def test_silent_units_become_no_response_at_their_deadline_and_complete_the_result_seed_001() -> None:
    """Seed 001 §(一)1, SPEC §3: a unit silent past its deadline is NO_RESPONSE; then the result is complete and
    the court may query the unit itself; an answer after the deadline replaces it, marked late."""
    query = _query()
    for unit in sorted(query.units)[1:]:
        query = iq.apply_reply(query, unit, _reply(), f"m-{unit}", 10)
    silent = sorted(query.units)[0]
    assert query.pending_units == {silent} and not query.is_complete
    query = iq.mark_no_response(query, silent)
    assert query.is_complete and query.units[silent].state is iq.UnitState.NO_RESPONSE
    body = iq.result_body(query, {}, datetime(2025, 1, 2, tzinfo=UTC))
    assert body["complete"] and {u["state"] for u in body["units"] if u["unit_code"] == silent} == {"NO_RESPONSE"}
    late = iq.apply_reply(query, silent, _reply(accounts=1), "m-late", 20 * DAY)
    answered = late.units[silent]
    assert answered.state is iq.UnitState.HIT and answered.late and late.property_reported_ms == 20 * DAY
    assert late.is_complete and iq.result_body(late, {}, datetime(2025, 1, 3, tzinfo=UTC))["units"][0]["late"]
    assert iq.mark_no_response(late, silent) is late  # an answered unit stays answered


def test_stored_intensive_row_keeps_its_json_keys_so_existing_changelogs_stay_readable() -> None:
    """The ``intensive`` table's JSON keys are the ones stored before the row was typed; ``late`` appears once a
    unit answered, and a stored row reads back to the same query."""
    query = iq.new_intensive_query(
        "iq1", case_number="c", court={"court_code": "渝0103"}, filing_date=date(2024, 3, 1),
        officer={"name": "李执行", "official_id": {"issued_on": date(2020, 5, 6)}}, units={"icbc": "NATIONAL_BANK"},
        now_ms=7, partition=3,
    )
    assert query.to_json() == {
        "id": "iq1", "case": "c", "court": {"court_code": "渝0103"}, "filing_date": date(2024, 3, 1).toordinal(),
        "officer": {"name": "李执行", "official_id": {"issued_on": "2020-05-06"}}, "p": 3, "created": 7,
        "property_at": None, "viewed_at": None, "escalated_at": None,
        "units": {"icbc": {"category": "NATIONAL_BANK", "state": "PENDING", "summary": None, "accounts": 0,
                           "balance_fen": None, "message_id": None, "answered_at": None}},
    }
    answered = iq.apply_reply(query, "icbc", _reply(accounts=1), "m1", 9)
    assert answered.to_json()["units"]["icbc"] == {
        "category": "NATIONAL_BANK", "state": "HIT", "summary": "1 account(s), 0 other asset(s)", "accounts": 1,
        "balance_fen": 1000, "message_id": "m1", "answered_at": 9, "late": False,
    }
    assert answered.to_json()["property_at"] == 9
    for stored in (query, answered, iq.mark_escalated(iq.mark_viewed(answered, 10), 11)):
        assert iq.IntensiveQuery.from_json(stored.to_json()) == stored


def test_escalation_names_the_units_that_found_property_and_its_due_time_seed_001() -> None:
    """Seed 001 §(一)2: the escalation carries the feedback time, the 3-day due time and the units with a hit."""
    query = replace(_query(), officer={"name": "李执行", "official_id": {"issued_on": "2020-05-06"}})
    query = iq.apply_reply(iq.apply_reply(query, "icbc", _reply(accounts=1), "m1", 1000), "ccb", _reply(), "m2", 2000)
    body = iq.escalation_body(query, 1000 + 3 * DAY)
    assert body["unit_codes"] == ["icbc"]
    assert body["feedback_at"] == datetime.fromtimestamp(1, UTC)
    assert body["due_at"] == body["escalated_at"] == datetime.fromtimestamp((1000 + 3 * DAY) / 1000, UTC)
    assert body["officer"]["official_id"]["issued_on"] == date(2020, 5, 6)
    assert body["case"] == {"case_number": "c", "court": {"court_code": "渝0103"}, "filing_date": date(1, 1, 1)}
