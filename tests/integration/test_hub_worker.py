"""The hub worker on the real broker: nothing is lost, bad input is dead-lettered and answered.

Guide: "bad input gets a clear error reply and goes to a dead-letter topic with its reason";
the partition keeps flowing after a poison message.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from agents.court.samples import query_request
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.envelope import envelope, message, new_id
from hub.process import WorkerProcess, http_json
from support.kafka_tap import Tap
from tests.integration.kafka_io import produce

CODEC = default_codec()
REQUESTS, REPLIES, DEAD = "court.requests", "court.replies", "ops.deadletter"
HEARTBEAT = "cn.court.interop.ops.Heartbeat"


def _headers(record) -> dict[str, bytes]:
    return dict(record.headers)


def _about(key: bytes):
    """Records answering a message sent with ``key``: replies keep the key, dead letters record it."""

    def match(record) -> bool:
        if record.key == key:
            return True
        return record.topic.endswith(DEAD) and CODEC.decode(record.value).body["original_key"] == key

    return match


async def test_undecodable_bytes_are_dead_lettered_with_original_bytes_and_answered(hub_worker) -> None:
    settings = hub_worker.settings
    key = f"poison-{secrets.token_hex(4)}".encode()
    poison = {
        b"plain text, not avro": "bad_marker",
        b"\xc3\x01" + bytes(8) + b"\x02": "unknown_fingerprint",
        b"\xc3": "bad_marker",
    }
    async with Tap(settings, DEAD, REPLIES) as tap:
        offsets = {}
        for raw, _ in poison.items():
            offsets[await produce(settings, REQUESTS, raw, key)] = raw
        # a valid message right behind the poison: the partition keeps flowing (no flow takes a
        # heartbeat from a court, so it is answered with no_route)
        follow = message(HEARTBEAT, envelope(ManualClock(), request_id=new_id(), sender="京0105", recipient="hub"),
                         {"agency": "京0105", "status": "UP", "out_of_service_until": None, "detail": None,
                          "backlog": None, "interval_ms": 60000})
        await produce(settings, REQUESTS, CODEC.encode_message(follow), key)
        seen = await tap.collect(lambda rs: sum(map(_about(key), rs)) >= 2 * (len(poison) + 1))
    dead = [r for r in seen if r.topic == settings.topic(DEAD)]
    replies = [CODEC.decode(r.value) for r in seen if r.topic == settings.topic(REPLIES) and r.key == key]
    by_source = {}
    for r in dead:
        dl = CODEC.decode(r.value)
        if dl.body["original_key"] == key:
            by_source[dl.body["source_offset"]] = (dl, _headers(r))
    for offset, raw in offsets.items():
        dl, headers = by_source[offset]
        assert dl.body["original"] == raw, "the original bytes are kept"
        assert dl.body["reason_code"] == poison[raw] == headers["reason"].decode()
        assert dl.body["source_topic"] == settings.topic(REQUESTS)
    fp_dl, fp_headers = by_source[min(o for o, raw in offsets.items() if raw.startswith(b"\xc3\x01"))]
    assert fp_dl.body["schema_fingerprint"] == "00" * 8 == fp_headers["fingerprint"].decode()
    codes = sorted(r.body["error_code"] for r in replies)
    assert codes == sorted([*poison.values(), "no_route"])
    follow_reply = next(r for r in replies if r.request_id == follow.request_id)
    assert "no flow handles" in follow_reply.body["message"]
    assert all(r.body["dead_letter_topic"] == settings.topic(DEAD) for r in replies)


async def test_agency_message_with_a_forged_sender_is_rejected_to_that_agency(hub_worker) -> None:
    """002 §5(二): a party may only speak for itself; the reply goes back to the outbox owner."""
    settings = hub_worker.settings
    forged = query_request(ManualClock(), bank="icbc")
    forged.envelope["sender"] = "ccb"  # arrives on ICBC's outbox claiming to be CCB
    key = f"forged-{secrets.token_hex(4)}".encode()
    async with Tap(settings, DEAD, "agency.icbc.inbox") as tap:
        await produce(settings, "agency.icbc.outbox", CODEC.encode_message(forged), key)
        seen = await tap.collect(lambda rs: sum(map(_about(key), rs)) >= 2)
    dead = [CODEC.decode(r.value) for r in seen if r.topic == settings.topic(DEAD)]
    assert any(d.body["reason_code"] == "wrong_sender" and d.body["request_id"] == forged.request_id for d in dead)
    inbox = [CODEC.decode(r.value) for r in seen if r.topic == settings.topic("agency.icbc.inbox")]
    assert [m.body["error_code"] for m in inbox] == ["wrong_sender"]
    assert inbox[0].envelope["recipient"] == "icbc"


def test_metrics_and_health_endpoints(hub_worker: WorkerProcess) -> None:
    status, report = http_json(hub_worker.base_url + "/health")
    assert status == 200 and report["status"] == "ok"
    assert report["checks"]["broker"]["ok"] and report["checks"]["broker"]["brokers"] == 1
    assert report["checks"]["schemas"]["messages"] >= 40
    import urllib.request

    with urllib.request.urlopen(hub_worker.base_url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
        assert resp.headers["Content-Type"].startswith("text/plain")
    assert "interop_hub_dead_letters_total{" in text
    assert "interop_hub_worker_starts_total 1.0" in text


def test_manual_clock_is_advanced_over_http(hub_worker: WorkerProcess) -> None:
    _, before = hub_worker.http("/clock")
    status, after = hub_worker.http("/clock", data={"advance_seconds": 86400})
    assert status == 200
    delta = datetime.fromisoformat(after["now"]) - datetime.fromisoformat(before["now"])
    assert delta.total_seconds() == 86400
    status, _ = hub_worker.http("/clock", data={"advance_seconds": -1})
    assert status == 400
