"""The proof of issue 16: an adapter that imports no module of this project — only aiokafka, fastavro,
cryptography, the committed ``.avsc`` files and values stated in ``docs/adapters.md`` — completes a freeze round
trip, verifies the seal with the published key, and bootstraps the list with a matching digest.

The project's code only plays the operator: it starts a secure broker (SASL/SCRAM, a login per principal, the
catalog's ACLs), generates ICBC's sealing key, starts the hub worker, and hands each party what the guide says it
gets out of band — its login, the hub's public key (entry ``hub`` of ``<data_dir>/keys/registry.json``, §6) and,
for the bank, its own private key (``<data_dir>/keys/icbc.pem``, §5).  No agency simulator runs: every court,
bank and joint-unit action below is :mod:`tests.acceptance.outside_adapter`'s, each logged in as itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.broker.server import LocalBroker
from hub.process import WorkerProcess
from hub.seal import KeyStore
from hub.security.apply import apply_security
from hub.security.users import CredentialStore, admin_settings, as_principal
from hub.settings import HubSettings
from hub.topic_admin import apply_catalog
from support.ports import free_ports
from tests.acceptance.outside_adapter.bank import Bank
from tests.acceptance.outside_adapter.connection import Login, read_to_end
from tests.acceptance.outside_adapter.court import CourtGateway, age_on, document, person, resident_id
from tests.acceptance.outside_adapter.list_copy import LIST_EVENT, bootstrap, list_digest
from tests.acceptance.outside_adapter.registry import KeyRegistry, epoch_ms, read_keys
from tests.acceptance.outside_adapter.seal import key_id_of, load_private_key, verify
from tests.acceptance.outside_adapter.wire import Codec
from tests.conftest import SettingsFactory, stop_at_exit
from topics.catalog import HUB

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "avro"
BANK = "icbc"  # no simulator of it runs: the outside bank answers
COURT = ("京0105", "北京市朝阳区人民法院", "110105")  # the guide's §1 court table
CHINA = timezone(timedelta(hours=8))
OFFICER = {"name": "李执行", "phone": "13800138000", "official_id": document("OFFICIAL_ID", "京法执证0105-0042")}


@dataclass(frozen=True)
class Operator:
    """The deployment's operator: what it started, and what it hands each party."""

    hub: HubSettings
    worker: WorkerProcess

    @property
    def data_dir(self) -> Path:
        return Path(self.hub.data_dir)

    def login(self, principal: str) -> Login:
        return Login(self.hub.bootstrap_servers, principal, CredentialStore(self.data_dir).password(principal),
                     self.hub.topic_prefix, self.hub.app_id)

    def hub_public_key(self) -> Ed25519PublicKey:
        """§6: the trust anchor, the ``public_key`` of entry ``hub`` in ``<data_dir>/keys/registry.json``."""
        registry = json.loads((self.data_dir / "keys" / "registry.json").read_text(encoding="utf-8"))
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(registry["hub"]["public_key"]))


@pytest.fixture(scope="module")
def operator(new_broker_settings: SettingsFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    (web_port,) = free_ports(1)
    settings = new_broker_settings(security_protocol="SASL_PLAINTEXT", app_id=f"outside-{secrets.token_hex(3)}",
                                   web_port=web_port)
    broker = LocalBroker(settings, secure=True)
    stop_at_exit(broker)
    try:
        broker.start()
        asyncio.run(apply_catalog(settings.catalog, admin_settings(settings, broker.admin_password() or "")))
        apply_security(settings, settings.catalog, broker=broker)
        KeyStore(settings.data_dir).generate([BANK])  # before the worker starts: published at its start (§6)
        hub = as_principal(settings, HUB)
        worker = WorkerProcess(hub, tmp_path_factory.mktemp("outside") / "worker.log")
        try:
            worker.start(timeout=180)
            yield Operator(hub, worker)
        finally:
            worker.stop()
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(SCHEMAS)


async def published_keys(operator: Operator, codec: Codec, agency: str, timeout_s: float = 60) -> KeyRegistry:
    """``registry.keys`` as the court reads it, once it holds a key of ``agency``."""
    deadline = time.monotonic() + timeout_s
    while True:
        registry = await read_keys(operator.login("court-gateway"), codec, operator.hub_public_key())
        if any(owner == agency for owner, _ in registry.keys) or time.monotonic() > deadline:
            return registry
        await asyncio.sleep(1)


async def test_a_freeze_round_trips_and_the_court_verifies_the_banks_seal_with_the_published_key_000_s8_s16(
        operator: Operator, codec: Codec) -> None:
    """000 §8 (electronic seal), §16 (delivery time): court → hub → bank inbox → sealed reply → court, every party
    an outside client; the court checks the seal with the key the hub published, not with any local file."""
    registry = await published_keys(operator, codec, BANK)
    assert not registry.refused, registry.refused
    bank_key = load_private_key(operator.data_dir / "keys" / f"{BANK}.pem")  # the bank holds its own key
    bank = Bank(operator.login(f"bank-{BANK}"), codec, BANK, bank_key, key_id_of(bank_key, BANK))
    assert (BANK, bank.key_id) in registry.keys

    async with CourtGateway(operator.login("court-gateway"), codec, *COURT) as court:
        case = court.case("（2026）京0105执88号", date(2026, 1, 15))
        request = court.freeze_request(bank=BANK, case=case, subject=person("张三", "11010519491231002X"),
                                       officer=OFFICER, account_number="6222020200012345678", amount_fen=500_000,
                                       end_date=datetime.now(CHINA).date() + timedelta(days=180))
        await court.send(request)
        answered = await bank.answer_one(timeout_s=60)
        raw = await court.answer(request.request_id, timeout_s=60)

    assert answered.request.envelope["request_id"] == request.request_id
    assert answered.key == request.key.encode()  # the inbox record carries the court's key
    assert raw == answered.reply, "the hub forwards the bank's sealed bytes unchanged (§7 step 4)"
    reply = codec.decode(raw)
    assert reply.name == "cn.court.interop.bank.FreezeReply" and reply.body["status"] == "EXECUTED"
    assert (reply.envelope["sender"], reply.envelope["recipient"]) == (BANK, "hub")
    assert epoch_ms(reply.body["delivered_at"]) == answered.delivered_at_ms  # the header, echoed (000 §16)
    published = registry.for_seal(reply.envelope["sender"], reply.datum["seal"]["key_id"],
                                  epoch_ms(reply.envelope["sent_at"]))
    assert verify(codec, raw, published.public_key).envelope["request_id"] == request.request_id


def listing_content(court: CourtGateway, number: int, today: date) -> tuple[str, dict[str, object]]:
    """(case number, the art. 6 content) of an adult debtor of this court."""
    rid = resident_id(f"1101051980{number:02d}15{number:03d}")
    gender = "MALE" if int(rid[16]) % 2 else "FEMALE"
    case_number = f"（2026）京0105执{700 + number}号"
    return case_number, {
        "subject": person(f"债务人{number}", rid, gender), "age": age_on(rid, today),
        "obligation": "支付货款人民币100000元及利息", "performance": "全部未履行", "outstanding": None,
        "dishonest_behaviour": "有履行能力而拒不履行", "enforcement_basis_issuer": court.name,
        "enforcement_basis_number": f"（2025）京0105民初{number}号", "case": court.case(case_number, date(2026, 2, 1)),
        "other_matters": None}


async def history(login: Login, codec: Codec) -> list[dict[str, object]]:
    return [codec.decode(v).body for _, v, _ in await read_to_end(login, login.topic("credit.list.history"))
            if v is not None and codec.decode(v).name == LIST_EVENT]


async def test_a_late_joint_unit_bootstraps_the_current_list_to_the_published_digest_003_art10(
        operator: Operator, codec: Codec) -> None:
    """失信规定 art. 10 (a deletion takes the debtor off the list): three listings and the deletion of one, all
    decided by the outside court; a joint-punishment unit that joins afterwards reads ``credit.list.current``
    (where the deleted listing is a tombstone, so the newest publication it shows is 3), continues the history
    from publication 3 to the first one whose published digest its copy has (4), and holds the hub's list."""
    unit = operator.login("joint-unit-caac")
    today = datetime.now(CHINA).date()
    async with CourtGateway(operator.login("court-gateway"), codec, *COURT) as court:
        cases = {}
        decisions = []
        for n in (1, 2, 3):
            case_number, content = listing_content(court, n, today)
            cases[f"L-outside-{n}"] = case_number
            decisions.append(court.list_decision(listing_id=f"L-outside-{n}", action="LIST", case_number=case_number,
                                                 content=content, ground="ABLE_BUT_REFUSING", term_start=today))
        decisions.append(court.list_decision(listing_id="L-outside-2", action="DELETE",
                                             case_number=cases["L-outside-2"], deletion_ground="PERFORMED",
                                             reason="全部履行"))
        for count, decision in enumerate(decisions, 1):  # one at a time: publication n is decision n
            await court.send(decision)
            deadline = time.monotonic() + 60
            while len(events := await history(unit, codec)) < count:
                assert time.monotonic() < deadline, f"publication {count} never came: {events}"
                await asyncio.sleep(0.3)

    events = await history(unit, codec)
    assert [e["publication_id"] for e in events] == [1, 2, 3, 4]
    boot = await bootstrap(unit, codec)
    assert (boot.newest_in_snapshot, boot.copy.publication_id, boot.copy.next_offset) == (3, 4, 4)
    assert boot.copy.digest == boot.published_digest == events[-1]["list_digest"]
    assert sorted(boot.copy.entries) == ["L-outside-1", "L-outside-3"] == sorted(
        str(e["listing_id"]) for e in events if e["in_force"] and e["listing_id"] != "L-outside-2")
    assert events[-1]["list_size"] == 2 and boot.copy.digest != list_digest(())
