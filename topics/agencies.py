"""The agencies the hub talks to.  Agencies are data: adding a bank is one entry here.

Each agency gets its own principal, inbox and outbox topic (see :mod:`topics.catalog`).
``region`` is the six-digit administrative division code of a local bank's home (used by the
intensive query of seed 001 to pick the local banks of the debtor's household-registration
place and of the court's place).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AgencyKind(StrEnum):
    BANK = "bank"  # national bank (seed 001: the 21 national banks)
    PAYMENT = "payment"  # internet payment firm (Tenpay, JD, Alipay)
    SECURITIES = "securities"  # securities depository / firm
    LOCAL_BANK = "local_bank"  # bank of a region (household-registration place, court's place)
    POLICE = "police"  # Ministry of Public Security and its bureaus
    CREDIT = "credit"  # national credit information sharing platform
    JOINT_UNIT = "joint_unit"  # joint-punishment unit reading the dishonest list (no inbox/outbox)


#: Kinds answering property queries, freezes and deductions (SPEC §3).
FINANCIAL_KINDS = frozenset({AgencyKind.BANK, AgencyKind.PAYMENT, AgencyKind.SECURITIES, AgencyKind.LOCAL_BANK})


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name_zh: str
    name_en: str
    kind: AgencyKind
    region: str | None = None

    @property
    def principal(self) -> str:
        """The Kafka principal (SCRAM user name) of this agency."""
        return f"{self.kind.value.replace('_', '-')}-{self.code}"

    @property
    def has_mailbox(self) -> bool:
        """Whether the agency exchanges requests with the hub (inbox + outbox)."""
        return self.kind is not AgencyKind.JOINT_UNIT

    @property
    def is_financial(self) -> bool:
        return self.kind in FINANCIAL_KINDS


_B, _P, _S, _L = AgencyKind.BANK, AgencyKind.PAYMENT, AgencyKind.SECURITIES, AgencyKind.LOCAL_BANK

#: The 21 national banks of SPEC §1 / seed 001, in the order the seed lists them.
NATIONAL_BANKS: tuple[Agency, ...] = (
    Agency("icbc", "中国工商银行", "Industrial and Commercial Bank of China", _B),
    Agency("ccb", "中国建设银行", "China Construction Bank", _B),
    Agency("abc", "中国农业银行", "Agricultural Bank of China", _B),
    Agency("boc", "中国银行", "Bank of China", _B),
    Agency("psbc", "中国邮政储蓄银行", "Postal Savings Bank of China", _B),
    Agency("bocom", "交通银行", "Bank of Communications", _B),
    Agency("cmb", "招商银行", "China Merchants Bank", _B),
    Agency("citic", "中信银行", "China CITIC Bank", _B),
    Agency("ceb", "中国光大银行", "China Everbright Bank", _B),
    Agency("hxb", "华夏银行", "Hua Xia Bank", _B),
    Agency("cmbc", "中国民生银行", "China Minsheng Banking", _B),
    Agency("cib", "兴业银行", "Industrial Bank", _B),
    Agency("cgb", "广发银行", "China Guangfa Bank", _B),
    Agency("pab", "平安银行", "Ping An Bank", _B),
    Agency("spdb", "上海浦东发展银行", "Shanghai Pudong Development Bank", _B),
    Agency("hfb", "恒丰银行", "Hengfeng Bank", _B),
    Agency("czb", "浙商银行", "China Zheshang Bank", _B),
    Agency("cbhb", "渤海银行", "China Bohai Bank", _B),
    Agency("eximbank", "中国进出口银行", "Export-Import Bank of China", _B),
    Agency("adbc", "中国农业发展银行", "Agricultural Development Bank of China", _B),
    Agency("bob", "北京银行", "Bank of Beijing", _B),
)

#: The three internet payment firms of SPEC §1.
PAYMENT_FIRMS: tuple[Agency, ...] = (
    Agency("tenpay", "财付通", "Tenpay", _P),
    Agency("jdpay", "网银在线", "JD Wangyin", _P),
    Agency("alipay", "支付宝", "Alipay", _P),
)

SECURITIES: tuple[Agency, ...] = (
    Agency("csdc", "中国证券登记结算有限责任公司", "China Securities Depository and Clearing", _S),
)

#: Local banks; each is queried when its region is the debtor's household-registration place
#: or the court's place (seed 001).
LOCAL_BANKS: tuple[Agency, ...] = (
    Agency("bjrcb", "北京农商银行", "Beijing Rural Commercial Bank", _L, region="110000"),
    Agency("bosc", "上海银行", "Bank of Shanghai", _L, region="310000"),
    Agency("cqrcb", "重庆农村商业银行", "Chongqing Rural Commercial Bank", _L, region="500000"),
    Agency("gzcb", "广州银行", "Bank of Guangzhou", _L, region="440100"),
)

POLICE: tuple[Agency, ...] = (
    Agency("mps", "公安部", "Ministry of Public Security", AgencyKind.POLICE),
)

CREDIT: tuple[Agency, ...] = (
    Agency("platform", "全国信用信息共享平台", "National Credit Information Sharing Platform", AgencyKind.CREDIT),
)

#: Joint-punishment units (memo of 2016): they only read the dishonest list.
JOINT_UNITS: tuple[Agency, ...] = (
    Agency("caac", "中国民用航空局", "Civil Aviation Administration (air ticket check)", AgencyKind.JOINT_UNIT),
    Agency("railway", "中国国家铁路集团", "China State Railway (train ticket check)", AgencyKind.JOINT_UNIT),
    Agency("bankcredit", "银行业信贷审查", "Bank credit check (loan approval)", AgencyKind.JOINT_UNIT),
)

DEFAULT_AGENCIES: tuple[Agency, ...] = (
    NATIONAL_BANKS + PAYMENT_FIRMS + SECURITIES + LOCAL_BANKS + POLICE + CREDIT + JOINT_UNITS
)
