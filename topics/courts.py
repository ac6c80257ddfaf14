"""Courts known to the hub, with their registered execution accounts (一案一账号, 004 §19-20).

A deduction may only land in the requesting court's registered execution account for the
currency of the deposit: RMB into the RMB account, foreign currency into the court's
foreign-currency account (000 §13-14).  Courts are data, like agencies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExecutionAccount:
    bank_name: str
    account_number: str
    account_name: str
    currency: str


@dataclass(frozen=True, slots=True)
class Court:
    code: str  # e.g. 京0105
    name: str
    place_code: str  # 6-digit administrative division of the court's seat
    accounts: tuple[ExecutionAccount, ...]

    def account_for(self, currency: str) -> ExecutionAccount | None:
        return next((a for a in self.accounts if a.currency == currency), None)


def _accounts(name: str, cny: str, usd: str) -> tuple[ExecutionAccount, ...]:
    return (
        ExecutionAccount("中国工商银行", cny, f"{name}执行款专户", "CNY"),
        ExecutionAccount("中国银行", usd, f"{name}外币执行款专户", "USD"),
    )


def _court(code: str, name: str, place: str, cny: str, usd: str) -> Court:
    return Court(code, name, place, _accounts(name, cny, usd))


COURTS: tuple[Court, ...] = (
    _court("京0105", "北京市朝阳区人民法院", "110105", "0200001109000012345", "3421000000012345"),
    _court("沪0115", "上海市浦东新区人民法院", "310115", "1001000109000054321", "4521000000054321"),
    _court("渝0103", "重庆市渝中区人民法院", "500103", "3100002109000077777", "1121000000077777"),
    _court("粤0106", "广州市天河区人民法院", "440106", "3602000109000088888", "6621000000088888"),
)

COURTS_BY_CODE = {c.code: c for c in COURTS}
