"""Request lifecycle: explicit states, the time of each transition, no way back from a terminal state."""

from __future__ import annotations

import pytest

from hub.deadlines import Deadline
from hub.lifecycle import IllegalTransition, State, answer_state, is_terminal, new_record, transition


def _delivered(due: int | None = None):
    r = new_record("r1", type_="FreezeRequest", court="京0105", case="c", agency="icbc", now_ms=1000,
                   partition=0, deadline=Deadline(None, due, "test", False) if due is not None else None)
    r = transition(r, State.ROUTED, 1001)
    return transition(r, State.DELIVERED, 1002)


def test_every_transition_is_logged_with_its_time() -> None:
    r = transition(_delivered(), State.ANSWERED, 1500)
    assert r.to_json()["log"] == [["accepted", 1000], ["routed", 1001], ["delivered", 1002], ["answered", 1500]]
    assert r.accepted_ms == 1000 and is_terminal(r)


def test_terminal_states_do_not_move() -> None:
    r = transition(_delivered(), State.ANSWERED, 1500)
    with pytest.raises(IllegalTransition):
        transition(r, State.OVERDUE, 1600)


def test_answer_after_due_time_or_overdue_is_late() -> None:
    assert answer_state(_delivered(due=2000), 1999) is State.ANSWERED
    assert answer_state(_delivered(due=2000), 2001) is State.ANSWERED_LATE
    overdue = transition(_delivered(due=2000), State.OVERDUE, 2001)
    assert answer_state(overdue, 2002) is State.ANSWERED_LATE
    assert transition(overdue, State.ANSWERED_LATE, 2002).state == "answered_late"


def test_fan_out_is_partially_answered_until_complete() -> None:
    r = transition(_delivered(), answer_state(_delivered(), 1100, complete=False), 1100)
    assert r.state == "partially_answered" and not is_terminal(r)
    r = transition(r, State.ANSWERED, 1200)
    assert is_terminal(r)
