"""Operations on the real broker: deadlines, the 24-hour anomaly notice, the audit trail, the request table.

Runs after the bank module (alphabetical order): the late bank (hfb) is down again, as an outage.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, officer, organisation, person
from agents.process import AgencyProcess
from hub.audit_io import partitions_of
from hub.audit_log import Batch, extend
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.merkle import CompactTree
from hub.process import http_text, settings_env
from hub.seal import KeyStore
from support.kafka_tap import Tap
from tests.acceptance.conftest import LATE_BANK

CODEC = default_codec()
OFFICER = officer("王监督", "13900139000", "京法执证0105-0077")
NOTICE = "cn.court.interop.ops.AnomalyNotice"
DEADLINE = "cn.court.interop.ops.DeadlineEvent"
HOUR = 3600


def _cli(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], env={**os.environ, **settings_env(settings)},
                          capture_output=True, text=True, timeout=120, check=False)


def _advance(worker: Any, seconds: int) -> None:
    status, _ = worker.http("/clock", data={"advance_seconds": seconds})
    assert status == 200


async def _until(court: CourtClient, pred: Any, timeout_s: float = 60.0) -> list[Any]:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [m for m in court.received if pred(m)]
        if found:
            return found
        await court.poll()
    seen = [(m.message_type, m.body.get("kind"), m.body.get("state"), m.body.get("affected_courts"))
            for m in court.received if m.schema in (NOTICE, DEADLINE)]
    raise TimeoutError(f"nothing matched; notices and deadline events seen: {seen}")


@pytest.fixture
async def court(banks: Any) -> Any:
    async with CourtClient(banks.settings, "京0105") as client:
        yield client


async def test_outage_notice_deadlines_and_recovery_002_s4_5(court, reference_ledgers, hub_worker, tmp_path) -> None:
    """002 §4(五): the agency goes silent; a notice reaches it and the affected court well inside 24 hours;
    the request expires (no answer in time) and stays open; when the agency returns the held request is
    answered, delivered late, and a resolution notice follows."""
    settings = hub_worker.settings
    acc = next(a for a in reference_ledgers[LATE_BANK].accounts()
               if a.status == "NORMAL" and a.currency == "CNY" and a.available_fen > 10_000 and not a.freeze_ids)
    subject = (person(acc.holder_name, acc.holder_id) if acc.holder_id[6:8] in ("19", "20")
               else organisation(acc.holder_name, acc.holder_id))
    case = court.case("（2024）京0105执900号", date(2024, 3, 1))
    freeze = bank_api.freeze(court, bank=LATE_BANK, case=case, subject=subject, officer=OFFICER,
                          account_number=acc.account_number, amount_fen=5_000, end_date=date(2025, 12, 31),
                          ruling=document("RULING", "R900"), assistance_notice=document("ASSISTANCE_NOTICE", "N900"))
    async with Tap(settings, f"agency.{LATE_BANK}.inbox") as bank_tap:
        await court.send(freeze)
        _, row = hub_worker.http(f"/requests/{freeze.request_id}")
        for _ in range(50):
            if row.get("state") == "delivered":
                break
            await court.poll(0.2)
            _, row = hub_worker.http(f"/requests/{freeze.request_id}")
        assert row["state"] == "delivered" and row["rule"] == "network-control-measure"
        _advance(hub_worker, 37 * HOUR)  # past the 75 % warning of the 48-hour control deadline
        warning = await _until(court, lambda m: m.schema == DEADLINE and m.request_id == freeze.request_id)
        assert warning[0].body["kind"] == "WARNING"
        notices = await _until(court, lambda m: m.schema == NOTICE and m.body["agency"] == LATE_BANK
                               and m.body["state"] == "OPEN" and "京0105" in m.body["affected_courts"])
        notice = notices[0].body
        assert notice["kind"] in ("AGENCY_SILENT", "HEARTBEAT_MISSING")
        # the court became affected when its request passed the warning (the anomaly itself may be older:
        # a missing-heartbeat anomaly of the same bank, opened while an earlier module ran)
        sent = notices[0].envelope["sent_at"]
        affected = warning[0].body["emitted_at"]
        assert (sent - affected).total_seconds() < 24 * HOUR, "notified well inside 24 hours"
        bank_notices = [m for m in (CODEC.decode(r.value) for r in await bank_tap.collect(
            lambda rs: any(CODEC.decode(r.value).schema == NOTICE for r in rs))) if m.schema == NOTICE]
        assert any(m.body["anomaly_id"] == notice["anomaly_id"] for m in bank_notices) or notice["kind"] != \
            "AGENCY_SILENT", "the silent agency itself is told"
    # the court acknowledges the notice
    ack = court.request("cn.court.interop.ops.NoticeAck", "hub", {
        "anomaly_id": notice["anomaly_id"], "notice_message_id": str(notices[0].envelope["message_id"]),
        "acknowledged_by": "京0105", "acknowledged_at": court.clock.now(), "comment": "已知悉"})
    await court.send_raw(CODEC.encode_message(ack), case["case_number"])
    # the deadline passes: "no answer in time" to the court, the request is overdue but open
    _advance(hub_worker, 12 * HOUR)
    expired = await _until(court, lambda m: m.schema == DEADLINE and m.request_id == freeze.request_id
                           and m.body["kind"] == "EXPIRED")
    assert expired
    _, row = hub_worker.http(f"/requests/{freeze.request_id}")
    assert row["state"] == "overdue"
    # the bank returns: the held request is delivered and answered, late; the anomaly resolves
    late_bank = AgencyProcess(settings, tmp_path / "hfb.log", ["simulate", "banks", "--agency", LATE_BANK])
    late_bank.spawn()
    try:
        reply = (await court.wait_for(freeze.request_id, schema="cn.court.interop.bank.FreezeReply",
                                      timeout_s=90))[0]
        assert reply.body["status"] == "EXECUTED"
        await _until(court, lambda m: m.schema == DEADLINE and m.request_id == freeze.request_id
                     and m.body["kind"] == "ANSWERED_LATE")
        await _until(court, lambda m: m.schema == NOTICE and m.body["anomaly_id"] == notice["anomaly_id"]
                     and m.body["state"] == "RESOLVED")
    finally:
        late_bank.stop()
    _, row = hub_worker.http(f"/requests/{freeze.request_id}")
    assert row["state"] == "answered_late"
    assert [s for s, _ in row["log"]] == ["accepted", "routed", "delivered", "overdue", "answered_late"]
    metrics = await asyncio.to_thread(http_text, hub_worker.base_url + "/metrics")
    assert "interop_hub_notices_overdue_total 0.0" in metrics, "zero notices late in normal operation"
    assert "interop_hub_notices_acknowledged_total 1.0" in metrics
    # every input record's wait from the broker's append (LogAppendTime) to the worker: what steers the sweeps
    waited = {s.labels["role"]: s.value for f in text_string_to_metric_families(metrics) for s in f.samples
              if s.name == "interop_hub_input_wait_seconds_count"}
    assert waited.get("court_requests", 0) > 0 and waited.get("agency_outbox", 0) > 0, waited


def test_request_table_is_listable_by_court_agency_and_state(hub_worker) -> None:
    out = _cli(hub_worker.settings, "requests", "list", "--court", "京0105", "--state", "answered_late")
    assert out.returncode == 0, out.stderr
    assert "answered_late" in out.stdout and "requests match" in out.stdout
    status, data = hub_worker.http("/requests?agency=" + LATE_BANK)
    assert status == 200 and all(r["agency"] == LATE_BANK for r in data["requests"]) and data["count"] >= 1


def test_audit_log_verifies_and_is_searchable_002_s5_2(hub_worker) -> None:
    """002 §5(二): complete, tamper-evident logs of every message accepted, rejected or emitted."""
    out = _cli(hub_worker.settings, "audit", "verify")
    assert out.returncode == 0, out.stderr
    assert "audit log intact" in out.stdout and " 0 signed tree heads" not in out.stdout, out.stdout
    found = _cli(hub_worker.settings, "audit", "search", "--case", "（2024）京0105执900号")
    actions = {line.split()[3] for line in found.stdout.splitlines() if "seq=" in line}
    assert {"ACCEPT", "EMIT"} <= actions


def test_audit_trail_reads_in_causal_order_002_s5_2(hub_worker) -> None:
    """A forwarded request's EMIT comes after the ACCEPT of the message that caused it."""
    found = _cli(hub_worker.settings, "audit", "search", "--case", "（2024）京0105执900号")
    lines = [line.split() for line in found.stdout.splitlines() if "seq=" in line]
    accept = next(i for i, f in enumerate(lines) if f[3] == "ACCEPT" and f[5] == "FreezeRequest")
    emit = next(i for i, f in enumerate(lines) if f[3] == "EMIT" and f[5] == "FreezeRequest")
    assert accept < emit, "\n".join(" ".join(f) for f in lines[:6])


async def _copy_audit_log(settings: Any, scratch: str, edit: Any) -> None:
    """The audit topic copied partition by partition to ``scratch``; ``edit(partition, batches)`` changes it."""
    source = settings.topic("ops.audit")
    kwargs = settings.kafka_client_kwargs()
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **kwargs)
    producer = AIOKafkaProducer(acks="all", **kwargs)
    await consumer.start()
    await producer.start()
    try:
        parts = await partitions_of(settings, source)
        admin = AIOKafkaAdminClient(**kwargs)
        await admin.start()
        await admin.create_topics([NewTopic(scratch, len(parts), 1)])
        await admin.close()
        for p in parts:
            tp = TopicPartition(source, p)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            values: list[bytes] = []
            while len(values) < end:
                values += [r.value for r in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])]
            for value in edit(p, values[:end]):
                await producer.send_and_wait(scratch, value, partition=p)
    finally:
        await producer.stop()
        await consumer.stop()


async def test_one_changed_entry_in_the_audit_log_is_named_002_s5_2(hub_worker) -> None:
    """A changed byte inside one entry: the batch no longer hashes to the tree it claims; chain, offset and entry
    are named."""
    settings, victims = hub_worker.settings, {}

    def edit(p: int, values: list[bytes]) -> list[bytes]:
        if p == 0 and len(values) >= 2:
            batch = Batch.from_message(CODEC.decode(values[1]))
            entries = list(batch.entries)
            entries[0] = entries[0][:-80] + bytes([entries[0][-80] ^ 0x01]) + entries[0][-79:]
            values[1] = CODEC.encode_message(Batch(batch.chain, batch.first_index, tuple(entries), batch.tree_size,
                                                   batch.root, batch.subtrees).to_message(ManualClock()))
            victims["first"] = batch.first_index
        return values

    scratch = settings.topic("ops.audit") + ".changed"
    await _copy_audit_log(settings, scratch, edit)
    out = _cli(settings, "audit", "verify", "--topic", scratch)
    assert out.returncode == 1, out.stdout
    assert f"chain 0 offset 1 entry {victims['first']}" in out.stderr, out.stderr


async def test_a_rewritten_log_with_recomputed_roots_is_caught_by_the_signed_tree_heads_002_s5_2(hub_worker) -> None:
    """The broker's operator rewrites an early entry of chain 0 and recomputes every batch after it (the chain is
    consistent with itself again, and nothing is re-signed): the tree heads the hub signed before expose it."""
    settings = hub_worker.settings

    def edit(p: int, values: list[bytes]) -> list[bytes]:
        if p != 0:
            return values
        tree, out = CompactTree(), []
        for i, value in enumerate(values):
            batch = Batch.from_message(CODEC.decode(value))
            entries = list(batch.entries)
            if i == 0:
                body = CODEC.decode(entries[0])
                body.body["decision"] = "forged"
                entries[0] = CODEC.encode_message(body)
            out.append(CODEC.encode_message(extend(tree, p, entries).to_message(ManualClock())))
        return out

    scratch = settings.topic("ops.audit") + ".rewritten"
    await _copy_audit_log(settings, scratch, edit)
    out = _cli(settings, "audit", "verify", "--topic", scratch)
    assert out.returncode == 1, out.stdout
    assert "chain 0" in out.stderr and "not those the hub signed" in out.stderr, out.stderr


def _hub_public_key(settings: Any) -> str:
    return KeyStore(settings.data_dir).public_key_b64("hub")


def _check_offline(proof: Any, tmp_path: Any, key: str) -> subprocess.CompletedProcess[str]:
    """The court's or inspector's own check: the proof file, the hub's public key, no broker, no settings."""
    path = tmp_path / f"proof-{os.urandom(4).hex()}.json"
    path.write_text(json.dumps(proof), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "hub.audit_proofs", "check", str(path), "--public-key", key],
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.getcwd()},
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_court_proves_offline_that_its_request_was_logged_rfc_9162_s2_1_3(hub_worker, tmp_path) -> None:
    settings = hub_worker.settings
    found = _cli(settings, "audit", "search", "--case", "（2024）京0105执900号")
    request_id = next(f.split("=", 1)[1] for line in found.stdout.splitlines() if "ACCEPT" in line
                      for f in line.split() if f.startswith("req=") and f != "req=-")
    out = _cli(settings, "audit", "prove", "--request-id", request_id)
    assert out.returncode == 0, out.stderr
    bundles = json.loads(out.stdout)
    assert bundles and all(b["entry_summary"]["request_id"] == request_id for b in bundles)
    key = _hub_public_key(settings)
    checked = _check_offline(bundles, tmp_path, key)
    assert checked.returncode == 0 and checked.stdout.count("OK: entry") == len(bundles), checked.stderr
    forged = dict(bundles[0])
    entry = base64.b64decode(forged["entry"])
    forged["entry"] = base64.b64encode(entry.replace(b"ACCEPT", b"REJECT") if b"ACCEPT" in entry
                                       else entry[:-1] + b"x").decode()
    refused = _check_offline([forged], tmp_path, key)
    assert refused.returncode == 1 and "NOT PROVEN" in refused.stderr


async def test_a_later_tree_head_provably_extends_an_earlier_one_rfc_9162_s2_1_4(hub_worker, tmp_path) -> None:
    settings = hub_worker.settings
    first = _cli(settings, "audit", "heads")
    assert first.returncode == 0, first.stderr
    old_heads = {h["chain"]: h for h in json.loads(first.stdout)}
    deadline = asyncio.get_running_loop().time() + 60
    while True:  # heartbeats and ticks keep the chains growing; a new head follows within a second
        await asyncio.sleep(2)
        new_heads = {h["chain"]: h for h in json.loads(_cli(settings, "audit", "heads").stdout)}
        grown = [c for c in old_heads if c in new_heads and new_heads[c]["size"] > old_heads[c]["size"]]
        if grown or asyncio.get_running_loop().time() > deadline:
            break
    assert grown, (old_heads, new_heads)
    chain = grown[0]
    (tmp_path / "old.json").write_text(json.dumps(old_heads[chain]), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new_heads[chain]), encoding="utf-8")
    out = _cli(settings, "audit", "consistency", str(tmp_path / "old.json"), str(tmp_path / "new.json"))
    assert out.returncode == 0, out.stderr
    key = _hub_public_key(settings)
    checked = _check_offline(json.loads(out.stdout), tmp_path, key)
    assert checked.returncode == 0 and f"chain {chain}: the log at size" in checked.stdout, checked.stderr
    forged = json.loads(out.stdout)
    forged["old_tree_head"]["root"] = "00" * 32  # an old head the hub never signed
    assert _check_offline(forged, tmp_path, key).returncode == 1
