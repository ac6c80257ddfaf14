"""Anomaly detection and the 24-hour notice rule (002 §4(五))."""

from __future__ import annotations

from hub.anomaly import ERROR_THRESHOLD, HUB, NOTIFY_WITHIN_MS, AnomalyBook

MIN = 60_000


def test_silent_agency_opens_an_anomaly_naming_the_affected_courts_002_s4_5() -> None:
    book = AnomalyBook()
    a = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=1000, now_ms=10 * MIN)
    assert a is not None and a.kind == "AGENCY_SILENT" and a.open
    book.past_warning("icbc", "沪0115", "QueryRequest", delivered_ms=2000, now_ms=11 * MIN)
    assert a.recipients() == ["icbc", "京0105", "沪0115"] and a.outstanding == 2
    assert a.notify_due_ms == 10 * MIN + NOTIFY_WITHIN_MS


def test_an_agency_that_answered_since_delivery_is_not_silent() -> None:
    book = AnomalyBook()
    book.message_from("icbc", 5000)
    assert book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=1000, now_ms=10 * MIN) is None


def test_a_message_from_the_agency_resolves_silence() -> None:
    book = AnomalyBook()
    a = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=1000, now_ms=10 * MIN)
    resolved = book.message_from("icbc", 20 * MIN)
    assert resolved is a and not a.open and a.resolved_ms == 20 * MIN


def test_error_replies_above_the_threshold_open_and_a_quiet_window_resolves() -> None:
    book = AnomalyBook()
    opened = [book.error_from("ccb", i * 1000) for i in range(ERROR_THRESHOLD)]
    assert opened[-1] is not None and opened[-1].kind == "ERROR_RATE" and all(x is None for x in opened[:-1])
    assert [x.kind for x in book.sweep(60 * MIN, 0)] == ["ERROR_RATE"]
    assert book.open_for("ccb") is None


def test_out_of_service_and_missing_heartbeats() -> None:
    book = AnomalyBook()
    book.heartbeat("abc", "OUT_OF_SERVICE", 5000, now_ms=0, mono_ms=0)
    assert book.open_for("abc").kind == "OUT_OF_SERVICE"
    assert book.heartbeat("abc", "UP", 5000, now_ms=1, mono_ms=1000).kind == "OUT_OF_SERVICE"
    assert book.open_for("abc") is None
    assert book.sweep(0, 1000 + 15_000) == []  # three intervals: not yet
    missing = book.sweep(0, 1000 + 15_001)
    assert [a.kind for a in missing] == ["HEARTBEAT_MISSING"]
    assert book.heartbeat("abc", "UP", 5000, now_ms=2, mono_ms=20_000) is missing[0]


def test_dead_letter_spike_is_a_hub_fault() -> None:
    book = AnomalyBook()
    results = [book.dead_letter(i) for i in range(20)]
    assert results[-1] is not None and results[-1].agency == HUB and results[-1].recipients() == []


def test_acknowledgement_is_recorded_per_recipient() -> None:
    book = AnomalyBook()
    a = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=0, now_ms=1)
    from hub.anomaly import Notice

    a.notices["icbc"] = Notice("icbc", delivered_ms=2)
    assert book.acknowledge(a.anomaly_id, "icbc", 3) and a.notices["icbc"].acked_ms == 3
    assert not book.acknowledge(a.anomaly_id, "nobody", 3)
