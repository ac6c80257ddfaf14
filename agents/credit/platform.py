"""The simulated national credit information sharing platform (全国信用信息共享平台).

It keeps the published list (a :class:`~agents.credit.store.ListStore` fed from ``credit.list.history``),
acknowledges every publication it applies with a ``ListAck`` on its outbox (key: the listing's case
number; request id: the decision's), and answers, from its inbox:

* ``ListLookupRequest`` → ``ListLookupReply``: "is this subject listed, and why?" — the listings in force
  (ground, art. 6 content, term), optionally the removed ones, now or as of a past moment;
* ``ConsumptionRestriction`` → ``ConsumptionRestrictionAck``: places or lifts a restriction (004 §23).

Its replies follow the hub's clock: "now" for the platform is the delivery time the hub stamped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agents.credit.store import ListStore
from hub.codec import AvroCodec, AvroMessage
from hub.flows.credit.list_rules import case_of
from hub.flows.credit.messages import ACK, LOOKUP, LOOKUP_REPLY, PLATFORM, RESTRICTION, RESTRICTION_ACK
from hub.outbound import delivered_at

REPLY_NAMESPACE = uuid.UUID("3f0c8a52-6f5e-4c0b-a7d4-1c2b9e8f7a60")



class CreditPlatform:
    def __init__(self, store: ListStore, codec: AvroCodec, code: str = PLATFORM) -> None:
        self.store = store
        self.codec = codec
        self.code = code

    def _env(self, request_id: str, kind: str, sent_at: datetime, correlation: str | None = None) -> dict[str, Any]:
        return {"message_id": str(uuid.uuid5(REPLY_NAMESPACE, f"{self.code}/{kind}/{request_id}")),
                "request_id": request_id, "correlation_id": correlation, "sender": self.code, "recipient": "hub",
                "sent_at": sent_at, "schema_version": 1}

    # --- the list -------------------------------------------------------------------------------------
    def apply(self, records: list[tuple[int, bytes, AvroMessage]]) -> list[tuple[bytes, bytes]]:
        """Apply history records; (key, ListAck bytes) for each publication newly applied."""
        acks: list[tuple[bytes, bytes]] = []
        for body, digest in self.store.apply_each([(offset, raw, msg.body) for offset, raw, msg in records]):
            applied = body["published_at"]
            ack_body = {"publication_id": body["publication_id"], "listing_id": body["listing_id"],
                        "status": "APPLIED", "reason": None, "applied_at": applied, "list_digest": digest}
            env = self._env(str(body["decision_request_id"]), "ack", applied, str(body["listing_id"]))
            case, _court = case_of(body["entry"])
            acks.append((case.encode(), self.codec.encode(ACK, {"envelope": env, "body": ack_body})))
        return acks

    # --- the inbox --------------------------------------------------------------------------------------
    def handle(self, request: AvroMessage, headers: Sequence[tuple[str, bytes]]) -> bytes | None:
        now = (delivered_at(headers) or datetime.now(UTC))
        if request.schema == LOOKUP:
            return self.codec.encode(LOOKUP_REPLY, {"envelope": self._env(request.request_id, "lookup", now),
                                                   "body": self.lookup(request.body, now)})
        if request.schema == RESTRICTION:
            return self.codec.encode(RESTRICTION_ACK, {"envelope": self._env(request.request_id, "restriction", now),
                                                       "body": self.restriction(request.body, now)})
        return None

    def lookup(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        as_of = body.get("as_of")
        found = self.store.lookup(str(body["id_number"]),
                                  as_of_ms=int(as_of.timestamp() * 1000) if as_of is not None else None,
                                  include_removed=bool(body.get("include_removed")))
        return {"listed": found.listed, "entries": found.entries, "removed_listing_ids": found.removed_listing_ids,
                "as_of": as_of or now, "last_publication_id": found.last_publication_id}

    def restriction(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        at = int(now.timestamp() * 1000)
        rid = str(body["restriction_id"])
        if body["action"] == "PLACE":
            done = self.store.place_restriction(rid, str(body["subject"]["id_number"]),
                                                str(body["case"]["case_number"]), at)
        elif not self.store.has_restriction(rid):
            return {"restriction_id": rid, "action": body["action"], "status": "REJECTED",
                    "reason": f"no restriction {rid} was placed", "applied_at": now}
        else:
            done = self.store.lift_restriction(rid, at, body.get("lift_reason"))
        return {"restriction_id": rid, "action": body["action"], "status": "APPLIED" if done else "DUPLICATE",
                "reason": None, "applied_at": now}
