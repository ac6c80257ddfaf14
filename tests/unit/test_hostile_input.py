"""Hostile input at the hub's intake: over 10,000 generated cases, zero crashes.

The same functions the worker runs on every record — the size check and the Avro decoder of the
faust codec, the bank and police request validators, the outbox sender / request / seal checks, and
:class:`~hub.deadletter.DeadLetters` — are driven in-process with a fake sender that captures what
would be produced.  Every case either passes (a mutation that happens to stay valid) or is
dead-lettered with its reason and, because its sender is known (a court on ``court.requests``, the
bank owning an outbox), answered with an ``ErrorReply``.  A valid request behind every hostile case
is still accepted: the partition keeps flowing after a poison message.
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

from agents.bank.models import VALIDATORS as BANK_VALIDATORS
from agents.court.adapter import CourtClient, document, officer, person
from agents.police.court_api import identity_lookup
from agents.police.models import VALIDATORS as POLICE_VALIDATORS
from hub.clock import ManualClock, china_today
from hub.codec import HEADER_LEN, MARKER, AvroMessage, check_size, default_codec
from hub.deadletter import DeadLetters, RawRecord
from hub.errors import CodecError, HubError, NoRoute, UnknownAgency, UnknownRequest, WrongAgency, WrongSender
from hub.runtime import HubRuntime
from hub.seal import KeyStore, SealVerifier, seal_message
from hub.settings import HubSettings
from topics.catalog import DEFAULT_CATALOG

CODEC = default_codec()
MAX_BYTES = 16 * 1024
START = datetime.fromisoformat("2025-01-02T09:00:00+08:00")
REQUESTS, BANK_OUTBOX = "court.requests", "agency.icbc.outbox"
VALIDATORS = {**BANK_VALIDATORS, **POLICE_VALIDATORS}
FINANCIAL = {a.code for a in DEFAULT_CATALOG.agencies if a.is_financial}
ID = "11010519800101123" + ric.calc_check_digit("11010519800101123?")
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")


class Intake:
    """The worker's intake path for one topic at a time, with DeadLetters writing to a list."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = HubSettings(data_dir=data_dir, max_message_bytes=MAX_BYTES, clock="manual",
                                    clock_start="2025-01-02T09:00:00+08:00")
        self.rt = HubRuntime.build(self.settings, registry=CollectorRegistry())
        self.sent: list[tuple[str, str, bytes, list[tuple[str, bytes]]]] = []
        self.dead_letters = DeadLetters(self.rt, self._send)
        KeyStore(data_dir).generate(["icbc", "ccb"])
        self.verifier: SealVerifier = KeyStore(data_dir).verifier()
        self.known: dict[str, str] = {}  # request id -> agency it was routed to (the requests table)
        self.offset = 0

    async def _send(self, topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> int:
        self.sent.append((topic, key, value, headers))
        return len(self.sent)

    def _route(self, topic: str, msg: AvroMessage) -> None:
        env = msg.envelope
        if topic == REQUESTS:
            validate = VALIDATORS.get(msg.schema)
            if validate is None:
                raise NoRoute(f"no flow handles {msg.schema} on court_requests")
            validate(msg.body, env["sender"], china_today(self.rt.clock))
            if msg.schema in BANK_VALIDATORS and env["recipient"] not in FINANCIAL:
                raise UnknownAgency(f"{env['recipient']!r} is not a bank", field="envelope.recipient")
            self.known.setdefault(msg.request_id, str(env["recipient"]))
            return
        agency = topic.split(".")[1]
        if env.get("sender") != agency:  # hub.routing.check_agency_sender
            raise WrongSender(f"message on {topic} claims sender {env.get('sender')!r}", field="envelope.sender")
        if msg.schema.endswith("Heartbeat"):
            return
        routed = self.known.get(msg.request_id)  # agents.bank.agent.handle_reply
        if routed is None:
            raise UnknownRequest(f"no request {msg.request_id!r} was sent to {agency}", field="envelope.request_id")
        if routed != agency:
            raise WrongAgency(f"request {msg.request_id} was addressed to {routed}", field="envelope.sender")
        self.verifier.verify(self.rt.codec, msg, agency)

    async def feed(self, topic: str, key: bytes | None, value: bytes) -> str:
        """'accepted', or the reason code it was dead-lettered with."""
        self.offset += 1
        record = RawRecord(topic, 0, self.offset, key, value)
        before = len(self.sent)
        try:
            check_size(value, self.settings.max_message_bytes)  # hub.app.FaustAvroCodec._loads
            msg = self.rt.codec.decode(value)
        except CodecError as exc:  # faust's decode-error hook -> hub.app._dead_letter
            await self.dead_letters.undecodable(exc, record)
            return self._check_dead_letter(before, record, exc.code)
        try:
            self._route(topic, msg)
        except HubError as exc:  # hub.routing.reject
            await self.dead_letters.reject(record, msg, exc)
            return self._check_dead_letter(before, record, exc.code)
        return "accepted"

    def _check_dead_letter(self, before: int, record: RawRecord, code: str) -> str:
        out = self.sent[before:]
        dead = [CODEC.decode(v) for t, _, v, _ in out if t == "ops.deadletter"]
        assert len(dead) == 1, "exactly one dead letter per rejected record"
        body = dead[0].body
        assert body["reason_code"] == code and body["original"] == record.value
        assert body["source_offset"] == record.offset and dict(out[0][3])["reason"] == code.encode()
        replies = [CODEC.decode(v) for t, _, v, _ in out if t in ("court.replies", "agency.icbc.inbox")]
        assert len(replies) == 1 and replies[0].body["error_code"] == code, "the known sender is answered"
        return code


# --- building blocks -------------------------------------------------------------------------
def court() -> CourtClient:
    return CourtClient(HubSettings(), "京0105", clock=ManualClock(START))


def valid_freeze(c: CourtClient, n: int = 1) -> AvroMessage:
    return c.freeze(bank="icbc", case=c.case(f"（2024）京0105执{n}号", date(2024, 3, 1)),
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
            req = c.freeze(bank="icbc", case=c.case("（2024）京0105执9号", date(2024, 3, 1)),
                           subject=person(acc.holder_name, acc.holder_id), officer=OFFICER,
                           account_number=acc.account_number, amount_fen=1, end_date=date(2025, 12, 31),
                           ruling=document("RULING", "R1"), assistance_notice=document("ASSISTANCE_NOTICE", "N1"))
            if kind != "unknown":
                intake.known[req.request_id] = "ccb" if kind == "wrong_agency" else "icbc"
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
