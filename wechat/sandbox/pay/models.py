"""The Pay sandbox's records (merchant, transaction, refund) and their JSON as WeChat
shows them: the Transaction object of query and TRANSACTION.SUCCESS (§4.6, §4.7), the
Refund object and the REFUND.* notification resource (§4.8)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from Crypto.PublicKey import RSA

from wechat.sandbox.pay.crypto import load_public_key

SHANGHAI = timezone(timedelta(hours=8))  # no DST since 1991: a fixed offset is exact
TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭",
                    "REFUND": "转入退款"}
REFUND_SUMMARY = {"SUCCESS": "退款成功", "CLOSED": "退款关闭", "ABNORMAL": "退款异常"}


class PayError(Exception):
    """A WeChat Pay APIv3 error: HTTP `status`, body {"code", "message", "detail"?}."""

    def __init__(self, status: int, code: str, message: str, detail: dict | None = None):
        super().__init__(status, code, message)
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def body(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.detail is not None:
            out["detail"] = self.detail
        return out


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, SHANGHAI).replace(microsecond=0).isoformat()


def local_time(ts: float) -> str:
    """Bill times: Asia/Shanghai wall clock, 2024-07-09 16:47:58."""
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def digits(n: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(n))


@dataclass
class Merchant:
    """A merchant the sandbox knows: the appids bound to it, its API certificate serial
    and public key (PUBLIC KEY PEM, its certificate PEM, or the private key PEM), and
    its APIv3 key (32 bytes). `mchid` is filled in by `PaySandbox.add_merchant`."""
    appids: frozenset
    merchant_serial: str
    merchant_public_key_pem: str | bytes
    apiv3_key: str
    mchid: str = ""
    public_key: RSA.RsaKey = field(init=False, repr=False)

    def __post_init__(self):
        self.appids = frozenset([self.appids] if isinstance(self.appids, str) else self.appids)
        if not self.appids or not self.merchant_serial:
            raise ValueError("a merchant needs appids and merchant_serial")
        if not isinstance(self.apiv3_key, str) or len(self.apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes (it is the AES-256 key)")
        self.merchant_serial = self.merchant_serial.upper()
        self.public_key = load_public_key(self.merchant_public_key_pem)


@dataclass
class Transaction:
    mchid: str
    appid: str
    out_trade_no: str
    description: str
    notify_url: str
    total: int
    openid: str
    fingerprint: str
    created_at: float
    attach: str | None = None
    time_expire: str | None = None
    trade_state: str = "NOTPAY"
    prepay_ids: dict = field(default_factory=dict)  # prepay_id → issued at (valid 2 h)
    transaction_id: str | None = None
    success_time: float | None = None
    payer_total: int | None = None
    bank_type: str | None = None
    closed_at: float | None = None

    def to_json(self) -> dict:
        paid = self.transaction_id is not None
        out = {"appid": self.appid, "mchid": self.mchid, "out_trade_no": self.out_trade_no}
        if paid:
            out["transaction_id"] = self.transaction_id
        out.update(trade_type="JSAPI", trade_state=self.trade_state,
                   trade_state_desc=TRADE_STATE_DESC[self.trade_state])
        if paid:
            out["bank_type"] = self.bank_type
        if self.attach is not None:
            out["attach"] = self.attach
        if paid:
            out["success_time"] = rfc3339(self.success_time)
            out["payer"] = {"openid": self.openid}
        amount = {"total": self.total, "currency": "CNY", "payer_currency": "CNY"}
        if paid:
            amount["payer_total"] = self.payer_total
        out["amount"] = amount
        out["promotion_detail"] = []
        return out


@dataclass
class Refund:
    mchid: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    fingerprint: str
    created_at: float
    reason: str | None = None
    notify_url: str | None = None
    funds_account: str | None = None
    status: str = "PROCESSING"
    success_time: float | None = None

    def to_json(self) -> dict:
        out = {"refund_id": self.refund_id, "out_refund_no": self.out_refund_no,
               "transaction_id": self.transaction_id, "out_trade_no": self.out_trade_no,
               "channel": "ORIGINAL", "user_received_account": "支付用户零钱"}
        if self.success_time is not None:
            out["success_time"] = rfc3339(self.success_time)
        out.update(create_time=rfc3339(self.created_at), status=self.status,
                   funds_account=self.funds_account or "UNSETTLED",
                   amount={"total": self.total, "refund": self.refund, "from": [],
                           "payer_total": self.total, "payer_refund": self.refund,
                           "settlement_refund": self.refund, "settlement_total": self.total,
                           "discount_refund": 0, "currency": "CNY"},
                   promotion_detail=[])
        return out

    def notify_json(self) -> dict:
        out = {"mchid": self.mchid, "transaction_id": self.transaction_id,
               "out_trade_no": self.out_trade_no, "refund_id": self.refund_id,
               "out_refund_no": self.out_refund_no, "refund_status": self.status}
        if self.success_time is not None:
            out["success_time"] = rfc3339(self.success_time)
        out["user_received_account"] = "支付用户零钱"
        out["amount"] = {"total": self.total, "refund": self.refund,
                         "payer_total": self.total, "payer_refund": self.refund}
        return out


def new_prepay_id(now: float) -> str:
    """wx + local yyyymmddHHMMSS + 22 hex, 36 characters like wx2014102720093955226..."""
    return ("wx" + datetime.fromtimestamp(now, SHANGHAI).strftime("%Y%m%d%H%M%S")
            + secrets.token_hex(11))


def new_transaction_id(now: float) -> str:
    """28 digits: 4200001234202611221234567890 (4200000 + 3, local date, 10)."""
    return ("4200000" + digits(3) + datetime.fromtimestamp(now, SHANGHAI).strftime("%Y%m%d")
            + digits(10))


def new_refund_id(now: float) -> str:
    """29 digits like 50000000382019052709732678859."""
    return ("5030" + digits(6) + datetime.fromtimestamp(now, SHANGHAI).strftime("%Y%m%d")
            + digits(11))
