"""The dishonest-debtor list in the main job (失信规定 2017), driven through the topics as a court would.

A listing, a refused listing of a minor (art. 4), a correction (art. 9), a deletion with its
3-working-day due date (art. 10), and a joint-punishment unit that joins late and rebuilds the list
from ``credit.list.history`` to the digest the hub published.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from agents.court.adapter import person
from agents.credit import court_api as api
from agents.credit.replay import replay
from agents.credit.store import ListStore
from agents.population import resident_id
from hub.clock import CHINA_TZ
from hub.codec import AvroMessage
from hub.flows.credit.messages import ACK
from hub.security.users import as_principal
from topics.catalog import DEFAULT_CATALOG

if TYPE_CHECKING:
    from demo.bank_police_scenario import Scenario

FLOW = "list decision"
LATE_UNIT = "railway"  # the joint-punishment unit that joins after the list changed
_serial = itertools.count(1)


@dataclass
class ListOutcome:
    deletion_due: date | None = None
    unit_digest: str = ""
    published_digest: str | None = None
    unit_listings: int = 0
    unit_publications: int = 0

    @property
    def digests_match(self) -> bool:
        return bool(self.unit_digest) and self.unit_digest == self.published_digest


def _resident_id(born: date) -> str:
    return resident_id("110105", born, next(_serial))


async def list_cases(sc: Scenario) -> ListOutcome:
    outcome = ListOutcome()
    now = sc.hub_now()
    today = now.astimezone(CHINA_TZ).date()
    case = sc.new_case()
    debtor = {**person("失信被执行人", _resident_id(date(1975, 5, 5))), "gender": "MALE"}
    listing = api.decision(sc.court, listing_id=f"SX-DEMO-{int(now.timestamp())}", action="LIST", decided_at=now,
                           ground="ABLE_BUT_REFUSING", content=api.content(sc.court, case, debtor,
                                                                           age=_age(date(1975, 5, 5), today)),
                           term_start=today)
    await _send(sc, listing, case["case_number"])
    await sc.answer(listing.request_id, ACK)
    # art. 4: a minor is never listed — the court is told why
    child_born = date(today.year - 12, 3, 3)
    child = {**person("未成年人", _resident_id(child_born)), "gender": "FEMALE"}
    minor = api.decision(sc.court, listing_id=f"SX-DEMO-MINOR-{int(now.timestamp())}", action="LIST",
                         decided_at=now, ground="ABLE_BUT_REFUSING",
                         content=api.content(sc.court, case, child, age=_age(child_born, today)), term_start=today)
    await _send(sc, minor, case["case_number"])
    await sc.answer(minor.request_id)  # the ErrorReply naming art. 4
    correction = api.decision(sc.court, listing_id=listing.body["listing_id"], action="CORRECT", decided_at=now,
                              content=api.content(sc.court, case, debtor, age=_age(date(1975, 5, 5), today),
                                                  obligation="支付货款人民币120000元及利息"),
                              reason="更正执行依据确定的义务")
    await _send(sc, correction, case["case_number"])
    await sc.answer(correction.request_id, ACK)
    deletion = api.decision(sc.court, listing_id=listing.body["listing_id"], action="DELETE", decided_at=now,
                            deletion_ground="PERFORMED", reason="被执行人已履行全部义务")
    await _send(sc, deletion, case["case_number"])
    await sc.answer(deletion.request_id, ACK)
    due = sc.row(deletion.request_id).get("due")  # the row has it since the decision was accepted
    if due is not None:
        outcome.deletion_due = datetime.fromtimestamp((int(due) - 1) / 1000, CHINA_TZ).date()
    # a unit that joins now rebuilds the list from the history, to the digest the hub published
    unit = DEFAULT_CATALOG.agency(LATE_UNIT)
    store = ListStore(":memory:")
    try:
        result = await replay(as_principal(sc.worker.settings, unit.principal), store, progress=False)
    finally:
        store.close()
    outcome.unit_digest, outcome.published_digest = result.digest, result.published_digest
    outcome.unit_listings, outcome.unit_publications = result.size, result.last_publication_id
    return outcome


async def _send(sc: Scenario, msg: AvroMessage, case_number: str) -> None:
    sc.track.add(FLOW, msg)
    await api.send(sc.court, msg, case_number)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
