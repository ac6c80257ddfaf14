"""Rule checks of the dishonest-debtor list (失信规定 2017) and the sequencer that publishes it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from agents.court.adapter import document, organisation, person
from hub.domain import parse_resident_id
from hub.errors import (
    Art3Bar,
    IncompleteListingContent,
    ListingRefused,
    MinorNotListable,
    RelistingBarred,
    UnknownListing,
    ValidationError,
)
from hub.flows.credit.list_rules import decision_deadline, restriction_lift_deadline
from hub.flows.credit.list_state import list_digest
from hub.flows.credit.messages import add_months, term_end_for, validate_decision, validate_restriction
from hub.flows.credit.sequencer import Sequencer
from hub.working_calendar import WorkingCalendar, end_of_day_ms

COURT = "京0105"
CASE_NO = "（2024）京0105执77号"
CASE = {"case_number": CASE_NO, "filing_date": date(2024, 3, 1),
        "court": {"court_code": COURT, "court_name": "北京市朝阳区人民法院", "place_code": "110105"}}
TODAY = date(2025, 1, 2)
_ids = itertools.count(1)


def rid(birth: str, seq: str = "001") -> str:
    base = f"110105{birth}{seq}"
    return base + ric.calc_check_digit(base + "?")


ADULT = rid("19800101")


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)  # hour in China time


def content(subject: dict[str, Any] | None = None, age: int | None = 45, **over: Any) -> dict[str, Any]:
    subject = subject or {**person("张三", ADULT), "gender": "MALE"}
    c = {"subject": subject, "age": age, "obligation": "支付货款100000元", "performance": "全部未履行",
         "outstanding": None, "dishonest_behaviour": "有履行能力而拒不履行", "enforcement_basis_issuer": "朝阳法院",
         "enforcement_basis_number": "(2023)京0105民初1号", "case": CASE, "other_matters": None}
    c.update(over)
    return c


def decision(action: str = "LIST", lid: str | None = None, day: date = TODAY, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "listing_id": lid or f"L{next(_ids)}", "action": action, "ground": None, "art3_circumstance": "NONE",
        "content": None, "decision_document": document("LISTING_DECISION", "决定书"), "term_start": None,
        "term_end": None, "extension_years": None, "deletion_ground": None, "reason": None,
        "requested_by_creditor": False, "officer": None, "decided_at": at(day),
    }
    if action == "LIST":
        body.update(ground="OBSTRUCTING_EXECUTION", content=content(age=parse_resident_id(ADULT).age_on(day)),
                    term_start=day)
    body.update(over)
    return body


def publish(seq: Sequencer, body: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Both checks, as the hub runs them: on its own, then against the list."""
    validate_decision(body, COURT, CASE_NO, TODAY if body["decided_at"] < at(TODAY, 23) else
                      body["decided_at"].date() + timedelta(days=1))
    now_ms = int((now or body["decided_at"]).timestamp() * 1000)
    event = seq.decide(body, request_id=f"r-{body['listing_id']}-{body['action']}-{next(_ids)}", sender=COURT,
                       key=CASE_NO, now_ms=now_ms)
    assert event is not None
    return event


# --- art. 4, art. 6, art. 3 ------------------------------------------------------------------------
def test_minor_on_the_decision_date_is_refused_art4() -> None:
    """失信规定 art. 4: the age is derived from the resident ID on the decision date."""
    minor = {**person("李小", rid("20070102", "002")), "gender": "MALE"}  # 18th birthday on 2025-01-02
    with pytest.raises(MinorNotListable):
        validate_decision(decision(content=content(minor, age=17)), COURT, CASE_NO, TODAY)
    later = decision(day=date(2025, 1, 3), content=content(minor, age=18))
    validate_decision(later, COURT, CASE_NO, date(2025, 1, 3))  # an adult from the day after the birthday


def test_stated_age_must_agree_with_the_resident_id_art6() -> None:
    with pytest.raises(ValidationError):
        validate_decision(decision(content=content(age=30)), COURT, CASE_NO, TODAY)


def test_missing_art6_content_is_refused_art6() -> None:
    """失信规定 art. 6: the content of a listing must be complete."""
    with pytest.raises(IncompleteListingContent):
        validate_decision(decision(content=None), COURT, CASE_NO, TODAY)
    with pytest.raises(IncompleteListingContent) as err:
        validate_decision(decision(content=content(obligation=" ")), COURT, CASE_NO, TODAY)
    assert err.value.field == "body.content.obligation"
    org = organisation("某某贸易有限公司", "91110105MA01ABCD1X")
    with pytest.raises(IncompleteListingContent) as err:
        validate_decision(decision(content=content(org, age=None)), COURT, CASE_NO, TODAY)
    assert "legal_representative" in str(err.value)


def test_ground_one_with_an_art3_circumstance_is_refused_art3() -> None:
    """失信规定 art. 3: item (一) may not be used when e.g. a sufficient guarantee was given."""
    body = decision(ground="ABLE_BUT_REFUSING", art3_circumstance="SUFFICIENT_GUARANTEE")
    with pytest.raises(Art3Bar):
        validate_decision(body, COURT, CASE_NO, TODAY)
    validate_decision(decision(ground="OBSTRUCTING_EXECUTION", art3_circumstance="NONE"), COURT, CASE_NO, TODAY)


# --- art. 2: terms and extensions ---------------------------------------------------------------------
def test_items_two_to_six_carry_a_two_year_term_art2() -> None:
    seq = Sequencer()
    ev = publish(seq, decision(term_start=date(2025, 1, 2)))
    assert ev["entry"]["term_end"] == date(2027, 1, 1) == term_end_for(date(2025, 1, 2), 2)
    no_term = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
    assert no_term["entry"]["term_end"] is None
    with pytest.raises(ValidationError):
        validate_decision(decision(term_end=date(2028, 1, 1)), COURT, CASE_NO, TODAY)


def test_extension_adds_one_to_three_years_art2() -> None:
    seq = Sequencer()
    ev = publish(seq, decision(term_start=date(2025, 1, 2)))
    lid = ev["listing_id"]
    ext = publish(seq, decision("EXTEND", lid, extension_years=2, reason="多项失信行为"))
    assert ext["entry"]["term_end"] == date(2029, 1, 1) and ext["entry"]["extension_years"] == 2
    with pytest.raises(ListingRefused):  # 2 + 2 > 3
        publish(seq, decision("EXTEND", lid, extension_years=2, reason="again"))
    with pytest.raises(ValidationError):
        validate_decision(decision("EXTEND", lid, extension_years=4, reason="x"), COURT, CASE_NO, TODAY)
    open_ended = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
    with pytest.raises(ListingRefused):
        publish(seq, decision("EXTEND", open_ended["listing_id"], extension_years=1, reason="x"))


# --- art. 9-10 ---------------------------------------------------------------------------------------
def test_correct_revoke_and_delete_need_a_listing_in_force_art9_art10() -> None:
    seq = Sequencer()
    with pytest.raises(UnknownListing):
        publish(seq, decision("REVOKE", "nope", reason="wrongly listed"))
    ev = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
    corrected = publish(seq, decision("CORRECT", ev["listing_id"], content=content(performance="部分履行")))
    assert corrected["entry"]["content"]["performance"] == "部分履行" and corrected["in_force"]
    gone = publish(seq, decision("REVOKE", ev["listing_id"], reason="不应纳入"))
    assert gone["in_force"] is False and seq.state.size == 0
    with pytest.raises(UnknownListing):
        publish(seq, decision("DELETE", ev["listing_id"], deletion_ground="PERFORMED"))


def test_a_listing_with_a_term_is_not_deleted_on_art10_para1_grounds() -> None:
    """失信规定 art. 10 para 2: a termed listing ends with its term (or early deletion, art. 2 para 2)."""
    seq = Sequencer()
    ev = publish(seq, decision())
    with pytest.raises(ListingRefused):
        publish(seq, decision("DELETE", ev["listing_id"], deletion_ground="PERFORMED"))
    publish(seq, decision("DELETE", ev["listing_id"], deletion_ground="EARLY_DELETION"))


def test_only_the_listing_court_may_change_it() -> None:
    seq = Sequencer()
    ev = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
    with pytest.raises(ValidationError):
        seq.decide(decision("REVOKE", ev["listing_id"], reason="x"), request_id="r-x", sender="沪0115",
                   key=CASE_NO, now_ms=0)


def test_creditor_may_not_ask_to_relist_within_six_months_of_a_10_3_deletion_art10() -> None:
    """失信规定 art. 10 last para: 删除后六个月内申请执行人申请纳入的，不予支持."""
    seq = Sequencer()
    ev = publish(seq, decision(ground="ABLE_BUT_REFUSING", requested_by_creditor=True))
    publish(seq, decision("DELETE", ev["listing_id"], day=date(2025, 1, 6), deletion_ground="CREDITOR_APPLICATION"))
    with pytest.raises(RelistingBarred):
        publish(seq, decision(day=date(2025, 7, 5), ground="ABLE_BUT_REFUSING", requested_by_creditor=True))
    publish(seq, decision(day=date(2025, 7, 5), ground="ABLE_BUT_REFUSING"))  # ex officio: allowed (art. 10)
    publish(seq, decision(day=date(2025, 7, 6), ground="ABLE_BUT_REFUSING", requested_by_creditor=True))
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)


# --- the sequencer: ids, digest, deadlines, term end -------------------------------------------------
def test_publication_ids_are_gap_free_and_digest_is_the_list_digest() -> None:
    seq = Sequencer()
    events = [publish(seq, decision(ground="ABLE_BUT_REFUSING")) for _ in range(5)]
    events.append(publish(seq, decision("REVOKE", events[1]["listing_id"], reason="x")))
    assert [e["publication_id"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["list_size"] == 4
    assert events[-1]["list_digest"] == list_digest(seq.state.entries.values())


def test_a_redelivered_decision_is_not_published_twice() -> None:
    seq = Sequencer()
    body = decision(ground="ABLE_BUT_REFUSING")
    assert seq.decide(body, request_id="same", sender=COURT, key=CASE_NO, now_ms=1) is not None
    assert seq.decide(body, request_id="same", sender=COURT, key=CASE_NO, now_ms=2) is None
    assert seq.state.last_publication_id == 1


def test_deletion_is_due_three_working_days_after_the_decision_across_spring_festival_art10() -> None:
    """失信规定 art. 10: a deletion decided on Mon 27 Jan 2025 is due by the end of Fri 7 Feb (Spring Festival
    28 Jan - 4 Feb); the warning comes at 75 % of the time from acceptance; a listing sets no such deadline."""
    cal, accepted = WorkingCalendar(), end_of_day_ms(date(2025, 1, 27)) - 8 * 3_600_000  # 16:00 China time
    gone = decision("DELETE", "L1", day=date(2025, 1, 27), deletion_ground="PERFORMED")
    deadline, counted_from = decision_deadline(gone, accepted, cal)
    assert deadline is not None and deadline.rule_id == "list.delete.3wd" and not deadline.provisional
    assert deadline.due_ms == end_of_day_ms(date(2025, 2, 7))
    assert counted_from == int(gone["decided_at"].timestamp() * 1000)
    assert deadline.warn_ms == accepted + int((deadline.due_ms - accepted) * 0.75)
    assert decision_deadline(decision(ground="ABLE_BUT_REFUSING"), accepted, cal) == (None, None)
    late, _ = decision_deadline(decision("REVOKE", "L1", day=date(2024, 9, 27)), accepted, cal)
    assert late is not None and late.warn_ms is None and late.due_ms == end_of_day_ms(date(2024, 10, 8))


def test_term_end_deletes_automatically_and_ack_is_due_three_working_days_after_art10_para2() -> None:
    seq = Sequencer()
    ev = publish(seq, decision(term_start=date(2023, 9, 28), day=date(2023, 9, 28)))
    assert ev["entry"]["term_end"] == date(2025, 9, 27)
    assert seq.expire(end_of_day_ms(date(2025, 9, 27)) - 1) == []  # still the last day of the term
    (auto,) = seq.expire(end_of_day_ms(date(2025, 9, 27)))
    assert auto["action"] == "DELETE" and auto["deletion_ground"] == "TERM_EXPIRED" and not auto["in_force"]
    # National Day 2025: Sep 28 (make-up Sunday), 29, 30 are the three working days.
    pending = seq.pending[auto["publication_id"]]
    assert pending.due_ms == end_of_day_ms(date(2025, 9, 30))
    assert pending.warn_ms == pending.started_ms + int((pending.due_ms - pending.started_ms) * 0.75)
    assert seq.to_warn(pending.warn_ms - 1) == [] and seq.to_warn(pending.warn_ms) == [pending]
    seq.note_warned(pending.publication_id)
    warned = seq.pending[pending.publication_id]
    assert warned.warned and warned == replace(pending, warned=True)
    assert seq.to_warn(pending.warn_ms) == [] and seq.overdue(pending.due_ms) == [warned]
    assert seq.expire(end_of_day_ms(date(2025, 9, 29))) == []  # published once


def test_state_rebuilt_from_published_events_equals_the_live_one() -> None:
    live = Sequencer()
    events = [publish(live, decision(ground="ABLE_BUT_REFUSING")) for _ in range(3)]
    events.append(publish(live, decision("DELETE", events[0]["listing_id"], deletion_ground="PERFORMED")))
    rebuilt = Sequencer()
    for e in events:
        rebuilt.replay(e)
    assert rebuilt.state.hexdigest() == live.state.hexdigest() and rebuilt.state.last_publication_id == 4
    assert set(rebuilt.pending) == set(live.pending)


# --- consumption restriction (004 §23) ------------------------------------------------------------------
def restriction(action: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"restriction_id": "XF1", "action": action, "case": CASE,
                            "subject": person("张三", ADULT), "restricted_person": None,
                            "order": document("CONSUMPTION_RESTRICTION_ORDER", "限消令"), "lift_reason": None,
                            "performance_date": None, "effective_from": None, "officer": None,
                            "decided_at": at(date(2025, 1, 27))}
    body.update(over)
    return body


def test_restriction_lift_is_due_three_working_days_after_performance_004_s23() -> None:
    """004 §23: 履行完毕的，3个工作日内解除; urgent applications at once; placing has no deadline."""
    cal, now = WorkingCalendar(), end_of_day_ms(date(2025, 1, 26)) + 3_600_000  # Mon 27 Jan 2025, 01:00
    lift = restriction("LIFT", lift_reason="PERFORMED", performance_date=date(2025, 1, 24))
    validate_restriction(lift, COURT, date(2025, 1, 27))
    deadline, counted_from = restriction_lift_deadline(lift, now, cal)
    assert deadline is not None and deadline.due_ms == end_of_day_ms(date(2025, 2, 5)) and not deadline.provisional
    assert counted_from == end_of_day_ms(date(2025, 1, 23))  # the period runs from the performance day
    urgent = restriction("LIFT", lift_reason="URGENT_APPLICATION")
    deadline, _ = restriction_lift_deadline(urgent, now, cal)
    assert deadline is not None and deadline.due_ms == end_of_day_ms(date(2025, 1, 27))
    assert restriction_lift_deadline(restriction("PLACE"), now, cal) == (None, None)
    with pytest.raises(ValidationError):
        validate_restriction(restriction("LIFT", lift_reason="PERFORMED"), COURT, date(2025, 1, 27))


# --- past the official calendar (2027): provisional deadlines, no crash, no half-applied publication -----
def test_term_ending_in_2027_is_deleted_with_a_provisional_ack_deadline_art10_para2() -> None:
    """The library knows 2026 only: the term end still deletes, its 3-working-day ack due is provisional."""
    seq = Sequencer()
    ev = publish(seq, decision(term_start=date(2025, 1, 2), day=date(2025, 1, 2)))
    assert ev["entry"]["term_end"] == date(2027, 1, 1)
    (auto,) = seq.expire(end_of_day_ms(date(2027, 1, 1)))
    pending = seq.pending[auto["publication_id"]]
    # 2027-01-01 is a fixed statutory day, 2-3 Jan a weekend: 4, 5, 6 Jan are the working days.
    assert pending.due_ms == end_of_day_ms(date(2027, 1, 6)) and pending.provisional
    assert seq.state.size == 0 and auto["list_size"] == 0


def test_a_publication_that_cannot_be_applied_leaves_the_list_unchanged() -> None:
    """Everything that can fail is computed before the state changes: no half-applied publication."""
    seq = Sequencer()
    ev = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
    before = (seq.state.last_publication_id, seq.state.hexdigest(), dict(seq.state.entries), dict(seq.pending))
    seq.dirty = False
    naive = decision("CORRECT", ev["listing_id"], content=ev["entry"]["content"])
    naive["decided_at"] = naive["decided_at"].replace(tzinfo=None)  # an entry without a canonical form
    with pytest.raises(ValidationError, match="naive datetime"):
        seq.decide(naive, request_id="r-naive", sender=COURT, key=CASE_NO, now_ms=1)
    assert (seq.state.last_publication_id, seq.state.hexdigest(), dict(seq.state.entries), dict(seq.pending)) == before
    assert not seq.dirty and "r-naive" not in seq.state.decisions
