"""Intensive query (集约查询, seed 001): unit set, merged result, the 3-day viewing rule."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.bank import intensive as iq
from topics.agencies import LOCAL_BANKS, NATIONAL_BANKS, PAYMENT_FIRMS
from topics.catalog import DEFAULT_CATALOG

DAY = 24 * 3600 * 1000


def _record(household: str | None = "110105", court_place: str = "500103") -> dict:
    units = iq.unit_set(DEFAULT_CATALOG.agencies, household, court_place)
    return iq.new_intensive("iq1", case="c", court={"court_code": "渝0103"}, filing_date=1, officer={},
                            units=units, now_ms=0, partition=0)


def _reply(status: str = "EXECUTED", accounts: int = 0) -> dict:
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
    rec = _record()
    rec = iq.apply_reply(rec, "icbc", _reply(accounts=2), "m1", 10)
    rec = iq.apply_reply(rec, "ccb", _reply(accounts=0), "m2", 11)
    rec = iq.apply_reply(rec, "abc", _reply(status="NOT_EXECUTED"), "m3", 12)
    body = iq.result_body(rec, {}, datetime(2025, 1, 2, tzinfo=UTC))
    states = {u["unit_code"]: u["state"] for u in body["units"]}
    assert (states["icbc"], states["ccb"], states["abc"], states["boc"]) == ("HIT", "NO_HIT", "ERROR", "PENDING")
    assert body["property_found"] and not body["complete"]
    assert next(u for u in body["units"] if u["unit_code"] == "icbc")["total_balance"]["amount_fen"] == 2000


def test_late_replies_complete_the_result_and_a_repeat_changes_nothing() -> None:
    rec = _record()
    for unit in list(rec["units"]):
        rec = iq.apply_reply(rec, unit, _reply(), f"m-{unit}", 5)
    assert iq.is_complete(rec)
    assert iq.apply_reply(rec, "icbc", _reply(accounts=3), "again", 6) is rec


def test_property_not_viewed_within_3_days_is_escalated_seed_001() -> None:
    """Seed 001 §(一)2: feedback with property must be viewed within 3 days, else 执行督办."""
    rec = iq.apply_reply(_record(), "icbc", _reply(accounts=1), "m1", 1000)
    assert not iq.escalation_due(rec, 1000 + 3 * DAY - 1)
    assert iq.escalation_due(rec, 1000 + 3 * DAY)
    assert not iq.escalation_due({**rec, "escalated_at": 5}, 1000 + 4 * DAY), "escalated once"


def test_viewed_property_is_not_escalated_seed_001() -> None:
    rec = iq.mark_viewed(iq.apply_reply(_record(), "icbc", _reply(accounts=1), "m1", 1000), 2000)
    assert not iq.escalation_due(rec, 1000 + 10 * DAY)


def test_no_property_means_no_viewing_deadline() -> None:
    rec = iq.apply_reply(_record(), "icbc", _reply(accounts=0), "m1", 1000)
    assert iq.view_due_ms(rec) is None and not iq.escalation_due(rec, 10 * DAY)


def test_silent_units_become_no_response_at_their_deadline_and_complete_the_result_seed_001() -> None:
    """Seed 001 §(一)1, SPEC §3: a unit silent past its deadline is NO_RESPONSE; then the result is complete and
    the court may query the unit itself; an answer after the deadline replaces it, marked late."""
    rec = _record()
    for unit in sorted(rec["units"])[1:]:
        rec = iq.apply_reply(rec, unit, _reply(), f"m-{unit}", 10)
    silent = sorted(rec["units"])[0]
    assert iq.pending_units(rec) == {silent} and not iq.is_complete(rec)
    rec = iq.mark_no_response(rec, silent)
    assert iq.is_complete(rec) and rec["units"][silent]["state"] == "NO_RESPONSE"
    body = iq.result_body(rec, {}, datetime(2025, 1, 2, tzinfo=UTC))
    assert body["complete"] and {u["state"] for u in body["units"] if u["unit_code"] == silent} == {"NO_RESPONSE"}
    late = iq.apply_reply(rec, silent, _reply(accounts=1), "m-late", 20 * DAY)
    unit = late["units"][silent]
    assert unit["state"] == "HIT" and unit["late"] and late["property_at"] == 20 * DAY
    assert iq.is_complete(late) and iq.result_body(late, {}, datetime(2025, 1, 3, tzinfo=UTC))["units"][0]["late"]
    assert iq.mark_no_response(late, silent) is late  # an answered unit stays answered
