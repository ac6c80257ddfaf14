"""The court side of the round-trip benchmark: pre-encoded QueryRequests and the reply counter.

Every request gets its own case number, so the reply (keyed by the case number, like the request)
is matched by its Kafka key without decoding it.  The subjects are account holders of the
simulated icbc ledger (same seed as ``interop-agency simulate banks``), so replies list accounts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date

from aiokafka import AIOKafkaProducer

from agents.bank import court_api as bank_api
from agents.bank.ledger import BankLedger
from agents.court.adapter import CourtClient, document, officer, organisation, person
from agents.population import Population
from hub.codec import default_codec
from hub.settings import HubSettings
from support.kafka_tap import Tap
from topics.catalog import DEFAULT_CATALOG, Role

COURT = "京0105"
BANK = "icbc"
OFFICER = officer("李执行", "13800138000", "京法执证0105-0042")
FILED = date(2024, 3, 1)


def _subjects(count: int = 16) -> list[dict[str, object]]:
    ledger = BankLedger(BANK)
    ledger.seed(Population.generate(2024), as_of=date(2025, 1, 2))
    out: list[dict[str, object]] = []
    for acc in ledger.accounts():
        hid = acc.holder_id
        if len(hid) == 18 and hid[:17].isdigit() and hid[6:8] in ("19", "20"):
            out.append(person(acc.holder_name, hid))
        else:
            out.append(organisation(acc.holder_name, hid))
        if len(out) == count:
            break
    return out


@dataclass(frozen=True)
class Request:
    key: bytes
    value: bytes


def query_requests(settings: HubSettings, count: int, start: int = 0) -> list[Request]:
    """``count`` encoded QueryRequests from this court to icbc, case numbers ``start`` onwards."""
    court = CourtClient(settings, COURT)
    codec = default_codec()
    subjects = _subjects()
    notice = document("ASSISTANCE_NOTICE", "查询通知")
    out: list[Request] = []
    for i in range(start, start + count):
        case = court.case(f"（2024）京0105执{100000 + i}号", FILED)
        msg = bank_api.query(
            court,
            bank=BANK,
            case=case,
            subject=subjects[i % len(subjects)],
            officer=OFFICER,
            assistance_notice=notice,
        )
        out.append(Request(str(case["case_number"]).encode(), codec.encode_message(msg)))
    return out


def requests_topic(settings: HubSettings) -> str:
    return settings.topic(DEFAULT_CATALOG.one(Role.COURT_REQUESTS).name)


def replies_topic(settings: HubSettings) -> str:
    return settings.topic(DEFAULT_CATALOG.one(Role.COURT_REPLIES).name)


class Replies(Tap):
    """Reads ``court.replies`` from its current end; records the arrival time of each key."""

    def __init__(self, settings: HubSettings) -> None:
        super().__init__(settings, DEFAULT_CATALOG.one(Role.COURT_REPLIES).name, fetch_max_wait_ms=20)
        self.arrived: dict[bytes, float] = {}
        self.others = 0

    async def collect_keys(self, keys: set[bytes], timeout_s: float, idle_s: float = 0.0) -> None:
        """Read until each key has its reply, ``timeout_s`` passed, or nothing came for ``idle_s``."""
        deadline = time.monotonic() + timeout_s
        last_progress = time.monotonic()
        while time.monotonic() < deadline and not keys.issubset(self.arrived):
            records = await self.batch(timeout_ms=100, max_records=5000)
            now = time.monotonic()
            if records:
                last_progress = now
            for rec in records:
                if rec.key in keys and rec.key not in self.arrived:
                    self.arrived[rec.key] = now
                else:
                    self.others += 1
            if idle_s and now - last_progress > idle_s:
                return


async def producer(settings: HubSettings) -> AIOKafkaProducer:
    prod = AIOKafkaProducer(acks="all", enable_idempotence=True, linger_ms=2, max_batch_size=256 * 1024,
                            **settings.kafka_client_kwargs())
    await prod.start()
    return prod


async def send_all(prod: AIOKafkaProducer, topic: str, reqs: list[Request]) -> dict[bytes, float]:
    """Send every request as fast as the producer takes them; returns the send time of each key."""
    sent: dict[bytes, float] = {}
    futures = []
    for r in reqs:
        sent[r.key] = time.monotonic()
        futures.append(await prod.send(topic, r.value, key=r.key))
    await asyncio.gather(*futures)
    return sent


async def send_paced(
    prod: AIOKafkaProducer, topic: str, reqs: list[Request], rate: float
) -> dict[bytes, float]:
    """Send at ``rate`` requests per second (open loop); returns the send time of each key."""
    sent: dict[bytes, float] = {}
    futures = []
    start = time.monotonic()
    for i, r in enumerate(reqs):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0.001:
            await asyncio.sleep(delay)
        sent[r.key] = time.monotonic()
        futures.append(await prod.send(topic, r.value, key=r.key))
    await asyncio.gather(*futures)
    return sent
