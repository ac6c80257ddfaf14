"""The anomaly book has one owner (partition 0 of hub.ticks) and survives it (002 §4(五): notices neither
doubled nor forgotten when the owner stops; every court waiting on the agency told, whichever partition)."""

from __future__ import annotations

from pathlib import Path

from hub.anomaly import AnomalyBook, Notice
from hub.anomaly_feed import HEARTBEAT, OBSERVATIONS, OWNER_PARTITION, WATCH
from hub.anomaly_notices import ANOMALY_NOTICE
from hub.anomaly_rows import anomaly_key, book_rows, load_book
from hub.codec import AvroMessage, default_codec
from hub.envelope import envelope, message
from hub.flows.delivery import deliver
from hub.memory_backend import MemoryHub
from tests.unit.conftest import memory_runtime

CODEC = default_codec()


def _decoded(hub: MemoryHub, topic: str, schema: str) -> list[AvroMessage]:
    return [m for m in (CODEC.decode(s.value or b"") for s in hub.sender.on(topic)) if m.schema == schema]


def _heartbeat(hub: MemoryHub, agency: str, status: str) -> AvroMessage:
    return message(HEARTBEAT, envelope(hub.ctx.clock, request_id=f"heartbeat-{agency}", sender=agency, recipient="hub"),
                   {"agency": agency, "status": status, "out_of_service_until": None, "detail": None,
                    "backlog": None, "interval_ms": 5000})


async def _waiting(hub: MemoryHub, court: str, n: int, partition: int) -> None:
    forwarded = CODEC.encode_message(_heartbeat(hub, "icbc", "UP"))  # forwarded as they are: any bytes do
    await deliver(hub.ctx, "QueryRequest", forwarded, request_id=f"q{n}", court=court,
                  case=f"（2024）{court}执{n}号", agency="icbc", partition=partition)


def test_the_book_is_the_same_after_a_round_trip_through_its_rows() -> None:
    book = AnomalyBook()
    book.heartbeat("icbc", "OUT_OF_SERVICE", 5000, now_ms=10, wall_ms=20)
    a = book.past_warning("ccb", "京0105", "FreezeRequest", delivered_ms=0, now_ms=30)
    assert a is not None
    book.courts_waiting(a.anomaly_id, 2, [("沪0115", "QueryRequest", 2)])
    a.notices["ccb"] = Notice("ccb", message_id="m1", delivered_ms=31, due_ms=99)
    for t in range(3):
        book.error_from("abc", t)
        book.dead_letter("court-gateway", t)
    rows = book_rows(book)
    again = load_book(rows)
    assert book_rows(again) == rows and again.seq == book.seq
    assert again.anomalies[a.anomaly_id].notices["ccb"].delivered_ms == 31
    assert again.anomalies[a.anomaly_id].answered == {2}


async def test_every_worker_reports_to_partition_0_and_every_partition_says_who_waits_002_s4_5(
        full_hub: MemoryHub) -> None:
    """Courts waiting on the agency in any partition are affected from the start, not only the owner's."""
    await _waiting(full_hub, "京0105", 1, partition=1)
    await _waiting(full_hub, "沪0115", 2, partition=7)
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "OUT_OF_SERVICE"), partition=5)
    ticks = full_hub.sender.on("hub.ticks")
    reports = [s for s in ticks if CODEC.decode(s.value or b"").schema == OBSERVATIONS]
    assert reports and {s.partition for s in reports} == {OWNER_PARTITION}
    watches = [s for s in ticks if CODEC.decode(s.value or b"").schema == WATCH]
    assert {s.partition for s in watches} == set(range(full_hub.ctx.runtime.catalog.hub_partitions))
    [to_ops] = _decoded(full_hub, "ops.anomalies", ANOMALY_NOTICE)
    assert to_ops.body["affected_courts"] == ["京0105", "沪0115"] and to_ops.body["outstanding_requests"] == 2
    assert sorted(m.envelope["recipient"] for m in _decoded(full_hub, "court.notices", ANOMALY_NOTICE)) == [
        "京0105", "沪0115"]


async def test_a_court_sending_to_the_agency_in_another_partition_joins_the_open_anomaly_002_s4_5(
        full_hub: MemoryHub) -> None:
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "OUT_OF_SERVICE"), partition=5)
    await _waiting(full_hub, "渝0103", 3, partition=9)
    await full_hub.settle()
    [to_court] = _decoded(full_hub, "court.notices", ANOMALY_NOTICE)
    assert to_court.envelope["recipient"] == "渝0103" and to_court.body["affected_courts"] == ["渝0103"]


async def test_the_next_owner_continues_the_book_without_doubling_a_notice_002_s4_5(tmp_path: Path) -> None:
    """Partition 0 moves (its owner died): the next owner loads the book from the table's rows."""
    first = MemoryHub(memory_runtime(tmp_path / "a"))
    await _waiting(first, "京0105", 1, partition=2)
    await first.send("agency.icbc.outbox", "icbc", _heartbeat(first, "icbc", "OUT_OF_SERVICE"))
    [opened] = _decoded(first, "court.notices", ANOMALY_NOTICE)

    second = MemoryHub(memory_runtime(tmp_path / "b"))
    second.table("anomaly_book").update(first.table("anomaly_book"))  # recovered from partition 0's changelog
    second.table("requests").update(first.table("requests"))
    await second.send("agency.icbc.outbox", "icbc", _heartbeat(second, "icbc", "OUT_OF_SERVICE"))
    await second.intake.tick(OWNER_PARTITION, second.ctx.clock.now_ms())  # the owner's sweep: nothing untold
    await second.settle()
    assert _decoded(second, "court.notices", ANOMALY_NOTICE) == []  # told once, by the first owner
    await second.send("agency.icbc.outbox", "icbc", _heartbeat(second, "icbc", "UP"))
    [resolved] = _decoded(second, "court.notices", ANOMALY_NOTICE)
    assert resolved.body["anomaly_id"] == opened.body["anomaly_id"] and resolved.body["state"] == "RESOLVED"


async def test_a_worker_that_lost_partition_0_reads_the_book_again_when_it_is_back(full_hub: MemoryHub) -> None:
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "OUT_OF_SERVICE"))
    [opened] = _decoded(full_hub, "ops.anomalies", ANOMALY_NOTICE)
    for observer in full_hub.ctx.hooks.revoked:
        observer({OWNER_PARTITION})
    book = full_hub.table("anomaly_book")
    row = dict(book[anomaly_key(opened.body["anomaly_id"])])
    book[anomaly_key(opened.body["anomaly_id"])] = {**row, "resolved_ms": 1}  # what the other owner did meanwhile
    await full_hub.send("agency.icbc.outbox", "icbc", _heartbeat(full_hub, "icbc", "OUT_OF_SERVICE"))
    reopened = _decoded(full_hub, "ops.anomalies", ANOMALY_NOTICE)[-1]
    assert reopened.body["anomaly_id"] != opened.body["anomaly_id"] and reopened.body["state"] == "OPEN"


async def test_a_report_delivered_twice_is_applied_once_002_s4_5(full_hub: MemoryHub) -> None:
    """A worker's report redelivered after the owner's crash does not open a second anomaly."""
    body = {"worker": "w/1", "messages": [], "heartbeats": [], "errors": [], "dead_letters": [], "warnings": [],
            "joined": [], "waiting": [], "answered": [], "acks": [],
            "faults": [{"description": "hub worker restarted after an unclean stop", "resolved": True,
                        "at_ms": full_hub.ctx.clock.now_ms()}]}
    report = message(OBSERVATIONS, envelope(full_hub.ctx.clock, request_id="observations-w/1", recipient="hub"), body)
    for _ in range(2):
        await full_hub.send("hub.ticks", "0", report, partition=OWNER_PARTITION)
    anomalies = {m.body["anomaly_id"] for m in _decoded(full_hub, "ops.anomalies", ANOMALY_NOTICE)}
    assert len(anomalies) == 1
