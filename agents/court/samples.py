"""Realistic sample requests, as a court's system would build them (demo and tests)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from hub.clock import Clock
from hub.codec import AvroMessage
from hub.envelope import envelope, message, new_id

QUERY_REQUEST = "cn.court.interop.bank.QueryRequest"


def document(kind: str, number: str) -> dict[str, Any]:
    return {
        "kind": kind, "number": number, "sha256": hashlib.sha256(number.encode()).hexdigest(),
        "title": None, "issued_by": None, "issued_on": None, "uri": None,
    }


def query_request(
    clock: Clock, *, bank: str, case_number: str = "（2024）京0105执1234号", court_code: str = "京0105",
    court_name: str = "北京市朝阳区人民法院", id_number: str = "11010519491231002X", name: str = "张三",
) -> AvroMessage:
    body = {
        "case": {
            "case_number": case_number,
            "court": {"court_code": court_code, "court_name": court_name, "place_code": "110105"},
            "filing_date": date(2024, 3, 1),
        },
        "subject": {
            "kind": "PERSON", "name": name, "id_type": "RESIDENT_ID", "id_number": id_number,
            "org_code": None, "gender": "FEMALE", "birth_date": None, "former_names": [],
            "legal_representative": None,
        },
        "officer": {
            "name": "李执行", "phone": "13800138000",
            "official_id": document("OFFICIAL_ID", "京法执证0105-0042"),
        },
        "assistance_notice": document("ASSISTANCE_NOTICE", f"{case_number}协助查询通知书"),
        "purpose": "ORDINARY",
        "transaction_window": None,
    }
    env = envelope(clock, request_id=new_id(), sender=court_code, recipient=bank)
    return message(QUERY_REQUEST, env, body)
