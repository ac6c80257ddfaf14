"""Anomaly detection and the 24-hour notice rule (002 §4(五))."""

from __future__ import annotations

from hub.anomaly import (
    DEAD_LETTER_SPIKE,
    ERROR_THRESHOLD,
    HUB,
    LAG_REPORT_TTL_MS,
    NOTIFY_WITHIN_MS,
    AnomalyBook,
    Notice,
)

MIN = 60_000
INTERVAL = 5000
T = 1_700_000_000_000  # a heartbeat's broker append time


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
    book.heartbeat("abc", "OUT_OF_SERVICE", 5000, now_ms=0, wall_ms=0)
    assert book.open_for("abc").kind == "OUT_OF_SERVICE"
    assert book.heartbeat("abc", "UP", 5000, now_ms=1, wall_ms=1000).kind == "OUT_OF_SERVICE"
    assert book.open_for("abc") is None
    assert book.sweep(0, 1000 + 15_000) == []  # three intervals: not yet
    missing = book.sweep(0, 1000 + 15_001)
    assert [a.kind for a in missing] == ["HEARTBEAT_MISSING"]
    assert book.heartbeat("abc", "UP", 5000, now_ms=2, wall_ms=20_000) is missing[0]


def test_dead_letters_from_no_known_principal_are_a_hub_fault() -> None:
    book = AnomalyBook()
    results = [book.dead_letter(HUB, i) for i in range(20)]
    assert results[-1] is not None and results[-1].agency == HUB and results[-1].recipients() == []


def test_a_court_adapters_burst_of_bad_records_is_that_adapters_anomaly_not_the_hubs_002_s4_5() -> None:
    """002 §4(五): the party whose system misbehaves is told; the courts waiting on others are not."""
    book = AnomalyBook()
    icbc = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=0, now_ms=1)
    assert icbc is not None
    results = [book.dead_letter("court-gateway", i) for i in range(DEAD_LETTER_SPIKE)]
    spike = results[-1]
    assert spike is not None and spike.kind == "ERROR_RATE" and spike.agency == "court-gateway"
    assert spike.recipients() == ["court-gateway"] and book.open_for(HUB) is None
    assert [a.anomaly_id for a in book.sweep(10 * MIN, 0)] == [spike.anomaly_id] and not spike.open


def test_every_court_waiting_on_the_agency_is_affected_at_detection_002_s4_5() -> None:
    """"双方应于系统发生异常的 24 小时内通知对方": courts with requests outstanding when the anomaly starts are
    affected from its start, not when their own request passes its warning."""
    book = AnomalyBook()
    a = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=1000, now_ms=10 * MIN)
    assert a is not None and a.recipients() == ["icbc", "京0105"] and a.outstanding == 1
    # every hub partition reports who waits on icbc there; a partition's report counts once
    assert book.courts_waiting(a.anomaly_id, 0, [("京0105", "FreezeRequest", 1)]) is None  # nobody new
    assert book.courts_waiting(a.anomaly_id, 3, [("沪0115", "QueryRequest", 2)]) is a
    assert book.courts_waiting(a.anomaly_id, 3, [("沪0115", "QueryRequest", 2)]) is None  # redelivered
    assert a.recipients() == ["icbc", "京0105", "沪0115"] and a.outstanding == 4 and a.answered == {0, 3}
    assert a.message_types == {"FreezeRequest", "QueryRequest"}
    assert book.court_sent("icbc", "渝0103", "DeductRequest") is a  # joins while open: told at once
    assert book.court_sent("icbc", "渝0103", "QueryRequest") is None  # already told
    assert "渝0103" in a.courts and a.outstanding == 6
    assert book.court_sent("ccb", "渝0103", "QueryRequest") is None  # no anomaly of that agency


def test_a_notice_not_delivered_within_24_hours_is_counted_late_once_002_s4_5() -> None:
    book = AnomalyBook()
    a = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=0, now_ms=MIN)
    assert a is not None
    a.notices["icbc"] = Notice("icbc", delivered_ms=2 * MIN, due_ms=a.notify_due_ms)
    a.notices["京0105"] = Notice("京0105", due_ms=a.notify_due_ms)  # delivery keeps failing
    assert book.late_notices(a.notify_due_ms) == []  # due, not yet past
    late = book.late_notices(a.notify_due_ms + 1)
    assert [n.recipient for _, n in late] == ["京0105"] and late[0][1].escalated
    assert book.late_notices(a.notify_due_ms + 2) == []  # counted once


def test_acknowledgement_is_recorded_per_recipient() -> None:
    book = AnomalyBook()
    a = book.past_warning("icbc", "京0105", "FreezeRequest", delivered_ms=0, now_ms=1)
    a.notices["icbc"] = Notice("icbc", delivered_ms=2)
    assert book.acknowledge(a.anomaly_id, "icbc", 3) and a.notices["icbc"].acked_ms == 3
    assert not book.acknowledge(a.anomaly_id, "nobody", 3)


def _beating_at_t() -> AnomalyBook:
    book = AnomalyBook()
    book.heartbeat("icbc", "UP", INTERVAL, now_ms=1, wall_ms=T)
    return book


def test_heartbeats_not_read_yet_are_not_missing_while_the_outbox_is_reported_behind() -> None:
    """The hub lags (a burst of court requests): it read icbc's outbox only up to T + 1 interval, so the
    heartbeats after that are unread, not missing — until the worker has caught up."""
    book = _beating_at_t()
    owner_now = T + 4 * INTERVAL
    book.outbox_read("icbc", 3, read_ms=T + INTERVAL, behind=40_000, wall_ms=owner_now)
    assert book.sweep(2, owner_now) == []
    book.outbox_read("icbc", 3, read_ms=owner_now, behind=0, wall_ms=owner_now + 100)  # caught up: still none
    assert book.health["icbc"].lagging == {}
    assert [a.kind for a in book.sweep(3, owner_now + 100)] == ["HEARTBEAT_MISSING"]


def test_a_lag_report_older_than_its_ttl_no_longer_spares_the_agency() -> None:
    """The worker that reported the outbox behind died or lost the partition: a dead agency is still detected."""
    book = _beating_at_t()
    owner_now = T + 4 * INTERVAL
    book.outbox_read("icbc", 3, read_ms=T + INTERVAL, behind=40_000, wall_ms=owner_now - LAG_REPORT_TTL_MS)
    assert book.sweep(2, owner_now) == []  # TTL reached, not passed
    assert [a.kind for a in book.sweep(3, owner_now + 1)] == ["HEARTBEAT_MISSING"]
    assert book.health["icbc"].lagging == {}  # the stale report is dropped


def test_heartbeats_missing_in_what_was_read_open_the_anomaly_though_the_outbox_is_behind() -> None:
    book = _beating_at_t()
    owner_now = T + 10 * INTERVAL
    book.outbox_read("icbc", 3, read_ms=T + 3 * INTERVAL + 1, behind=500, wall_ms=owner_now)
    assert [a.kind for a in book.sweep(2, owner_now)] == ["HEARTBEAT_MISSING"]


def test_the_outbox_partition_read_least_far_is_the_reference() -> None:
    book = _beating_at_t()
    owner_now = T + 10 * INTERVAL
    book.outbox_read("icbc", 3, read_ms=T + 5 * INTERVAL, behind=10, wall_ms=owner_now)
    book.outbox_read("icbc", 7, read_ms=T + INTERVAL, behind=10, wall_ms=owner_now)
    assert book.sweep(2, owner_now) == []
    book.outbox_read("icbc", 7, read_ms=T + 9 * INTERVAL, behind=0, wall_ms=owner_now)
    assert [a.kind for a in book.sweep(3, owner_now)] == ["HEARTBEAT_MISSING"]


def test_another_agencys_lag_does_not_spare_a_silent_agency() -> None:
    book = _beating_at_t()
    owner_now = T + 4 * INTERVAL
    book.outbox_read("ccb", 3, read_ms=T, behind=40_000, wall_ms=owner_now)
    assert [a.agency for a in book.sweep(2, owner_now)] == ["icbc"]


def test_heartbeats_in_reports_still_queued_behind_the_owners_backlog_are_not_missing_002_s4_5() -> None:
    """The owner's own partition (hub.ticks 0) lags: the reports carrying the heartbeats a worker read wait behind
    it.  The book knows a worker's heartbeats only up to its last report applied: judged then, icbc is alive;
    once a report sent after three silent intervals arrives, it is missing (a benchmark opened 104 false
    HEARTBEAT_MISSING anomalies while every bank beat at most 5.2 s apart)."""
    book = _beating_at_t()
    owner_now = T + 4 * INTERVAL
    book.worker_reported("hub/1", sent_ms=T + INTERVAL, wall_ms=owner_now)  # its report sent long ago, applied now
    assert book.sweep(2, owner_now) == []
    book.worker_reported("hub/1", sent_ms=T + 3 * INTERVAL + 1, wall_ms=owner_now + 100)
    assert [a.kind for a in book.sweep(3, owner_now + 100)] == ["HEARTBEAT_MISSING"]


def test_a_worker_that_stopped_reporting_no_longer_holds_the_judgement_back() -> None:
    book = _beating_at_t()
    owner_now = T + 4 * INTERVAL
    book.worker_reported("hub/gone", sent_ms=T + INTERVAL, wall_ms=owner_now - LAG_REPORT_TTL_MS - 1)
    book.worker_reported("hub/2", sent_ms=owner_now, wall_ms=owner_now)  # the others go on reporting
    assert [a.kind for a in book.sweep(2, owner_now)] == ["HEARTBEAT_MISSING"]


def test_an_owner_that_was_stalled_itself_does_not_take_every_report_for_stale() -> None:
    """The owner's event loop was busy for 20 s (a burst of registrations): the last report it applied is older
    than the TTL by its clock, but it is the newest there is — the heartbeats after it are unknown, not missing
    (a benchmark opened 26 false HEARTBEAT_MISSING at once, one per bank, after such a stall)."""
    book = _beating_at_t()
    owner_now = T + 4 * INTERVAL
    book.worker_reported("hub/1", sent_ms=T + INTERVAL, wall_ms=T + INTERVAL + 10)
    assert owner_now - (T + INTERVAL + 10) > LAG_REPORT_TTL_MS
    assert book.sweep(2, owner_now) == []
