"""Court-side builders for list decisions, look-ups and consumption restrictions (on a CourtClient).

Credit messages carry the case in their content, not in ``body.case``, so they are sent with
:func:`send` (the record key is the case number, as on every hub-consumed topic).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from agents.court.adapter import CourtClient, document
from hub.codec import AvroMessage
from hub.flows.credit.messages import DECISION, LOOKUP, PLATFORM, RESTRICTION


def content(court: CourtClient, case: dict[str, Any], subject: dict[str, Any], *, age: int | None,
            behaviour: str = "有履行能力而拒不履行", obligation: str = "支付货款人民币100000元及利息",
            performance: str = "全部未履行") -> dict[str, Any]:
    """The art. 6 content of a listing."""
    return {"subject": subject, "age": age, "obligation": obligation, "performance": performance,
            "outstanding": None, "dishonest_behaviour": behaviour,
            "enforcement_basis_issuer": court.court.name, "enforcement_basis_number": "(2023)京0105民初1号",
            "case": case, "other_matters": None}


def decision(court: CourtClient, *, listing_id: str, action: str, decided_at: datetime,
             ground: str | None = None, art3: str = "NONE", content: dict[str, Any] | None = None,
             term_start: date | None = None, term_end: date | None = None, extension_years: int | None = None,
             deletion_ground: str | None = None, reason: str | None = None,
             requested_by_creditor: bool = False) -> AvroMessage:
    return court.request(DECISION, PLATFORM, {
        "listing_id": listing_id, "action": action, "ground": ground, "art3_circumstance": art3,
        "content": content,
        "decision_document": document("LISTING_DECISION", f"{listing_id}-{action}"),
        "term_start": term_start, "term_end": term_end, "extension_years": extension_years,
        "deletion_ground": deletion_ground, "reason": reason, "requested_by_creditor": requested_by_creditor,
        "officer": None, "decided_at": decided_at,
    }, correlation_id=listing_id)


def lookup(court: CourtClient, id_number: str, *, as_of: datetime | None = None,
           include_removed: bool = False) -> AvroMessage:
    return court.request(LOOKUP, PLATFORM, {"id_number": id_number, "id_type": None, "name": None, "as_of": as_of,
                                            "include_removed": include_removed})


def restriction(court: CourtClient, *, restriction_id: str, action: str, case: dict[str, Any],
                subject: dict[str, Any], decided_at: datetime, lift_reason: str | None = None,
                performance_date: date | None = None) -> AvroMessage:
    return court.request(RESTRICTION, PLATFORM, {
        "restriction_id": restriction_id, "action": action, "case": case, "subject": subject,
        "restricted_person": None,
        "order": document("CONSUMPTION_RESTRICTION_ORDER", f"{restriction_id}-{action}"),
        "lift_reason": lift_reason, "performance_date": performance_date,
        "effective_from": decided_at.date() if action == "PLACE" else None, "officer": None,
        "decided_at": decided_at,
    })


async def send(court: CourtClient, msg: AvroMessage, case_number: str) -> str:
    await court.send_raw(court.codec.encode_message(msg), case_number)
    return msg.request_id
