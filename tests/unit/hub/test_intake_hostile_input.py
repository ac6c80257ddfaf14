"""Hostile input at the hub's intake: over 10,000 generated cases, zero crashes.

The worker's own intake runs in-process (:class:`hub.memory_backend.MemoryHub`: the real context,
decoder, dispatch, bank and police flows and :class:`~hub.deadletter.DeadLetters`, with a sender that
captures what would be produced).  Every case either passes (a mutation that happens to stay valid)
or is dead-lettered with its reason and, because its sender is known (a court on ``court.requests``,
the bank owning an outbox), answered with an ``ErrorReply``.  A valid request behind every hostile
case is still accepted: the partition keeps flowing after a poison message.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from stdnum.cn import ric

from agents.bank import court_api as bank_api
from agents.court.adapter import CourtClient, document, officer, person
from agents.police.court_api import identity_lookup
from hub.clock import ManualClock
from hub.codec import HEADER_LEN, MARKER, AvroMessage, default_codec
from hub.errors import HubError
from hub.lifecycle import State, new_record, transition
from hub.memory_backend import MemoryHub
from hub.runtime import HubRuntime
from hub.seal import KeyStore, seal_message
from hub.settings import HubSettings

CODEC = default_codec()
MAX_BYTES = 16 * 1024
START = datetime.fromisoformat("2025-01-02T09:00:00+08:00")
REQUESTS, BANK_OUTBOX = "court.requests", "agency.icbc.outbox"
ID = "11010519800101123" + ric.calc_check_digit("11010519800101123?")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")


class Intake:
    """The worker's intake (decode, dispatch, every flow, dead letters) in one process, one record at a time."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = HubSettings(data_dir=data_dir, max_message_bytes=MAX_BYTES, clock="manual",
                                    clock_start=START.isoformat())
        KeyStore(data_dir).generate(["icbc", "ccb"])
        self.hub = MemoryHub(HubRuntime.build(self.settings, registry=CollectorRegistry()))

    def know(self, request_id: str, agency: str) -> None:
        """A freeze the hub delivered to ``agency`` at START (the delivery time a reply must echo, 000 §16)."""
        now = int(START.timestamp() * 1000)
        rec = new_record(request_id, type_="FreezeRequest", court="京0105", case="（2024）京0105执9号",
                         agency=agency, now_ms=now, partition=0, deadline=None)
        self.hub.ctx.requests.put(transition(transition(rec, State.ROUTED, now), State.DELIVERED, now))

    async def feed(self, topic: str, key: bytes | None, value: bytes) -> str:
        """'accepted', or the reason code it was dead-lettered with."""
        sent = self.hub.sender.sent
        before = len(sent)
        await self.hub.receive(topic, key, value)
        out = sent[before:]
        dead = [CODEC.decode(s.value or b"") for s in out if s.topic == "ops.deadletter"]
        if not dead:
            return "accepted"
        assert len(dead) == 1, "exactly one dead letter per rejected record"
        body = dead[0].body
        assert body["original"] == value and body["source_topic"] == topic
        replies = [CODEC.decode(s.value or b"") for s in out if s.topic in ("court.replies", "agency.icbc.inbox")]
        errors = [r for r in replies if r.schema == "cn.court.interop.ops.ErrorReply"]
        assert len(errors) == 1 and errors[0].body["error_code"] == body["reason_code"], "the known sender is answered"
        dead_letter_offset = before + next(i for i, s in enumerate(out) if s.topic == "ops.deadletter")
        assert errors[0].body["dead_letter_offset"] == dead_letter_offset
        return str(body["reason_code"])


# --- building blocks -------------------------------------------------------------------------
def court() -> CourtClient:
    return CourtClient(HubSettings(), "京0105", clock=ManualClock(START))


def valid_freeze(c: CourtClient, n: int = 1) -> AvroMessage:
    return bank_api.freeze(c, bank="icbc", case=c.case(f"（2024）京0105执{n}号", date(2024, 3, 1)),
                    subject=person("张三", ID), officer=OFFICER, account_number="6222021234567890123",
                    amount_fen=50_000, end_date=date(2025, 12, 31),
                    ruling=document("RULING", "R1"), assistance_notice=document("ASSISTANCE_NOTICE", "N1"))


def valid_police(c: CourtClient) -> AvroMessage:
    return identity_lookup(c, case=c.case("（2024）京0105执7号", date(2024, 3, 1)), subject=person("张三", ID),
                           officer=OFFICER)


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        node = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return apply


#: schema-valid, rule-invalid edits of a freeze request body
RULE_BREAKS: list[Callable[[dict[str, Any]], None]] = [
    _set(("amount", "amount_fen"), 0), _set(("amount", "amount_fen"), -5), _set(("amount", "currency"), "1$"),
    _set(("subject", "id_number"), "110105198001011230"), _set(("subject", "id_number"), ""),
    _set(("case", "case_number"), "not a case"), _set(("case", "case_number"), "（2024）执号"),
    _set(("account_number", ), "12ab"), _set(("account_number",), "1" * 40),
    _set(("officer", "phone"), "12345"), _set(("officer", "name"), ""), _set(("end_date",), date(2020, 1, 1)),
    _set(("ruling", "kind"), "ASSISTANCE_NOTICE"), _set(("case", "filing_date"), date(2030, 1, 1)),
    _set(("case", "court", "court_code"), "京9999"),
]


def _mutations() -> st.SearchStrategy[tuple[str, str, bytes]]:
    c = court()
    freeze, police = valid_freeze(c), valid_police(c)
    good = [CODEC.encode_message(freeze), CODEC.encode_message(police)]
    known = sorted(default_codec().registry._by_fp)
    corrupt = st.binary(max_size=400).map(lambda b: ("corrupt", REQUESTS, b))
    unknown_fp = st.tuples(st.binary(min_size=8, max_size=8).filter(lambda fp: fp not in known),
                           st.binary(max_size=200)).map(
        lambda t: ("unknown_fingerprint", REQUESTS, MARKER + t[0] + t[1]))
    flipped = st.tuples(st.sampled_from(good), st.integers(0, 10_000), st.integers(1, 255)).map(
        lambda t: ("bit_flip", REQUESTS, _flip(t[0], t[1], t[2])))
    truncated = st.tuples(st.sampled_from(good), st.integers(0, 10_000)).map(
        lambda t: ("truncated", REQUESTS, t[0][: t[1] % len(t[0])]))
    trailing = st.tuples(st.sampled_from(good), st.binary(min_size=1, max_size=50)).map(
        lambda t: ("trailing", REQUESTS, t[0] + t[1]))
    oversize = st.integers(1, 4096).map(lambda n: ("oversize", REQUESTS, good[0] + os.urandom(MAX_BYTES + n)))
    rule = st.tuples(st.sampled_from(RULE_BREAKS), st.integers(0, 10**6)).map(lambda t: _rule_break(c, *t))
    routing = st.tuples(st.sampled_from(["nobank", "mps", "platform", ""]), st.integers(0, 10**6)).map(
        lambda t: _bad_recipient(c, *t))
    replay = st.tuples(st.sampled_from(sorted(REPLAY_KINDS)), st.integers(0, 10**6)).map(
        lambda t: ("replay_" + t[0], BANK_OUTBOX, str(t[1] % POOL).encode()))  # index into the replay pool
    return st.one_of(corrupt, unknown_fp, flipped, truncated, trailing, oversize, rule, routing, replay)


def _flip(data: bytes, at: int, xor: int) -> bytes:
    i = HEADER_LEN + at % max(1, len(data) - HEADER_LEN) if at % 7 else at % HEADER_LEN
    out = bytearray(data)
    out[min(i, len(out) - 1)] ^= xor
    return bytes(out)


def _rule_break(c: CourtClient, edit: Callable[[dict[str, Any]], None], n: int) -> tuple[str, str, bytes]:
    msg = valid_freeze(c, n)
    body = copy.deepcopy(msg.datum)
    edit(body["body"])
    return "rule_invalid", REQUESTS, CODEC.encode(msg.schema, body)


def _bad_recipient(c: CourtClient, recipient: str, n: int) -> tuple[str, str, bytes]:
    msg = valid_freeze(c, n)
    datum = {**msg.datum, "envelope": {**msg.envelope, "recipient": recipient}}
    return "bad_recipient", REQUESTS, CODEC.encode(msg.schema, datum)


# --- the test -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Intake:
    return Intake(tmp_path_factory.mktemp("hostile"))


REPLAY_KINDS = {"unknown": "unknown_request", "other_sender": "wrong_sender", "tampered": "invalid_seal",
                "wrong_agency": "wrong_agency"}
POOL = 25  # sealed replies per kind; hypothesis replays them again and again


@pytest.fixture(scope="module")
def replays(intake: Intake) -> dict[str, list[bytes]]:
    """Sealed FreezeReplies as a bank sends them, each made hostile in one way (one account each)."""
    from agents.bank.ledger import BankLedger
    from agents.population import Population

    ledger = BankLedger("icbc")
    ledger.seed(Population.generate(2024), as_of=date(2025, 1, 2))
    accounts = [a for a in ledger.accounts() if a.status == "NORMAL" and a.currency == "CNY"
                and len(a.holder_id) == 18 and a.holder_id[6:8] in ("19", "20")]
    assert len(accounts) >= POOL
    c, now = court(), ManualClock(START).now()
    out: dict[str, list[bytes]] = {}
    for kind in REPLAY_KINDS:
        out[kind] = []
        for acc in accounts[:POOL]:
            req = bank_api.freeze(c, bank="icbc", case=c.case("（2024）京0105执9号", date(2024, 3, 1)),
                           subject=person(acc.holder_name, acc.holder_id), officer=OFFICER,
                           account_number=acc.account_number, amount_fen=1, end_date=date(2025, 12, 31),
                           ruling=document("RULING", "R1"), assistance_notice=document("ASSISTANCE_NOTICE", "N1"))
            if kind != "unknown":
                intake.know(req.request_id, "ccb" if kind == "wrong_agency" else "icbc")
            sender = "ccb" if kind == "other_sender" else "icbc"
            schema, body = ledger.handle(req.schema, req.request_id, req.body, now=now, delivered_at=now)
            env = {**req.envelope, "sender": sender, "recipient": "hub"}
            key_id, key = KeyStore(intake.settings.data_dir).signer(sender)
            sealed = seal_message(CODEC, AvroMessage(schema, {"envelope": env, "body": body, "seal": None}),
                                  key, key_id)
            if kind == "tampered":
                sealed.body["frozen"]["amount_fen"] += 1
            out[kind].append(CODEC.encode_message(sealed))
    return out


def test_ten_thousand_hostile_inputs_are_dead_lettered_and_answered_without_a_crash(
        intake: Intake, replays: dict[str, list[bytes]]) -> None:
    """Corrupt bytes, unknown fingerprints, rule-invalid payloads, oversize values, replays: zero crashes."""
    logging.getLogger("hub.deadletter").setLevel(logging.ERROR)  # 10,000 warnings would drown the report
    loop = asyncio.new_event_loop()
    outcomes: Counter[tuple[str, str]] = Counter()
    crashes: list[str] = []
    c = court()

    @settings(max_examples=10_000, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=_mutations())
    def run(case: tuple[str, str, bytes]) -> None:
        kind, topic, value = case
        if kind.startswith("replay_"):
            value = replays[kind.removeprefix("replay_")][int(value)]
        try:
            outcome = loop.run_until_complete(intake.feed(topic, b"case-key", value))
        except HubError as exc:  # would escape the intake: a crash of the partition's agent
            crashes.append(f"{kind}: {exc.code} {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point of this test
            crashes.append(f"{kind}: {type(exc).__name__}: {exc}")
            return
        outcomes[(kind, outcome)] += 1
        behind = loop.run_until_complete(intake.feed(REQUESTS, b"case-key", CODEC.encode_message(valid_freeze(c))))
        assert behind == "accepted", "the valid request behind a poison message is processed"

    try:
        run()
    finally:
        loop.close()
        logging.getLogger("hub.deadletter").setLevel(logging.NOTSET)
    total = sum(outcomes.values()) + len(crashes)
    by_kind = Counter(k for k, _ in outcomes.elements())
    rejected = sum(n for (_, o), n in outcomes.items() if o != "accepted")
    print(f"\nhostile cases run: {total}; crashes: {len(crashes)}; dead-lettered and answered: {rejected}; "
          f"by kind: {dict(by_kind)}")
    assert not crashes, crashes[:5]
    assert total >= 10_000
    for kind in ("corrupt", "unknown_fingerprint", "oversize", "rule_invalid", "bad_recipient", "truncated"):
        assert by_kind[kind] > 0 and outcomes[(kind, "accepted")] == 0, kind
    assert outcomes[("oversize", "oversize_message")] == by_kind["oversize"]
    assert outcomes[("unknown_fingerprint", "unknown_fingerprint")] == by_kind["unknown_fingerprint"]
    for kind, code in REPLAY_KINDS.items():
        assert outcomes[("replay_" + kind, code)] == by_kind["replay_" + kind] > 0, kind
