"""The WeChat Pay APIv3 side of the sandbox: merchants, the platform's signing keys,
transactions, refunds, bill download tokens and the notification sender.

The platform key (public-key mode, `public_key_id`) and the first platform certificate
(certificate mode) are made on first use (platform.py); `rotate_certificate()` adds a
newer certificate, and both stay valid. Responses and notifications are signed with the
public key in "public_key" mode and with the newest certificate in "certificate" mode.

Business times (success_time, bill dates) follow `now()`, which `SandboxState` ties to
its movable clock; signature timestamps always use the real clock."""
from __future__ import annotations

import json
import secrets
import threading
import time

from wechat.sandbox.failures import InjectedFailures
from wechat.sandbox.pay.complaints import ComplaintsSandbox
from wechat.sandbox.pay.models import (REFUND_SUMMARY, Merchant, PayError, Refund,
                                       Transaction, new_prepay_id, new_refund_id,
                                       new_transaction_id)
from wechat.sandbox.pay.notify import Notifier, envelope
from wechat.sandbox.pay.platform import PlatformCertificate, PlatformKeys

VERIFY_MODES = ("public_key", "certificate")
REFUND_STATES = ("SUCCESS", "CLOSED", "ABNORMAL")


class PaySandbox(InjectedFailures):
    def __init__(self, merchants: dict | None = None, *, verify_mode: str = "public_key",
                 allow_http_loopback_notify: bool = False, notify_time_scale: float = 1.0,
                 notify_timeout: float = 5.0, max_notify_attempts: int | None = None,
                 serve_certificates: bool | None = None, no_certificates_status: int = 404,
                 request_time_window: int = 300, bill_url_ttl: int = 300,
                 notify_any_host: bool = False, notify_sender=None,
                 platform_private_key_pem: str | None = None, platform_public_key_id: str | None = None,
                 now=None):
        if verify_mode not in VERIFY_MODES:
            raise ValueError(f"verify_mode is one of {VERIFY_MODES}")
        self.verify_mode = verify_mode
        # The one deliberate deviation: http:// notify URLs on 127.0.0.1/localhost.
        self.allow_http_loopback_notify = allow_http_loopback_notify
        self.notify_time_scale = float(notify_time_scale)
        self.notify_timeout = float(notify_timeout)
        self.max_notify_attempts = max_notify_attempts
        # Safety: deliver only to 127.0.0.1/localhost/::1 unless told otherwise.
        self.notify_any_host = notify_any_host
        # notify_sender(url, headers, body, timeout) -> HTTP status replaces the POST, e.g.
        # to hand notifications to a Flask test client when no server runs.
        self.notify_sender = notify_sender
        # None: /v3/certificates answers only in certificate mode.
        self.serve_certificates = serve_certificates
        self.no_certificates_status = no_certificates_status  # 404 or 500
        self.request_time_window = request_time_window
        self.bill_url_ttl = bill_url_ttl
        self.now = now or time.time
        self._lock = threading.RLock()
        self.platform = PlatformKeys(platform_private_key_pem, platform_public_key_id)
        self.merchants: dict[str, Merchant] = {}
        for mchid, merchant in (merchants or {}).items():
            self.add_merchant(mchid, merchant)
        self.notifier = Notifier(self)
        self.complaints = ComplaintsSandbox(self)  # 消费者投诉2.0 (complaints.py)
        self.reset()

    def reset(self) -> None:
        """Forget transactions, refunds, bills and deliveries; keep merchants and keys."""
        with self._lock:
            self._transactions: dict[tuple[str, str], Transaction] = {}
            self._refunds: dict[tuple[str, str], Refund] = {}
            self._bills: dict[str, dict] = {}
            self.extra_bill_rows: list[dict] = []
            self.calls: list[dict] = []
            self._failures: list[dict] = []
        self.complaints.reset()
        self.notifier.reset()

    # -- configuration ----------------------------------------------------------------

    def add_merchant(self, mchid: str, merchant: Merchant | dict | None = None,
                     **fields) -> Merchant:
        """add_merchant("1900000109", Merchant(...)) or add_merchant(mchid, appids=...,
        merchant_serial=..., merchant_public_key_pem=..., apiv3_key=...)."""
        if isinstance(merchant, dict):
            fields = {**merchant, **fields}
            merchant = None
        merchant = merchant or Merchant(**fields)
        merchant.mchid = str(mchid)
        with self._lock:
            self.merchants[merchant.mchid] = merchant
        return merchant

    # -- platform keys (see platform.py) ----------------------------------------------

    @property
    def public_key_id(self) -> str:
        return self.platform.public_key_id

    @property
    def platform_public_key_pem(self) -> str:
        return self.platform.public_key_pem

    @property
    def certificates(self) -> list[PlatformCertificate]:
        return self.platform.certificates

    def issued_certificates(self) -> list[PlatformCertificate]:
        """The certificates made so far, without making the first one."""
        return self.platform.issued()

    @property
    def certificate_serial(self) -> str:
        """The newest platform certificate's serial (what certificate mode signs with)."""
        return self.platform.certificates[-1].serial

    def rotate_certificate(self) -> PlatformCertificate:
        return self.platform.rotate()

    def certificates_available(self) -> bool:
        if self.serve_certificates is None:
            return self.verify_mode == "certificate"
        return self.serve_certificates

    def signature_headers(self, body: bytes, timestamp: int | None = None) -> dict:
        return self.platform.signature_headers(body, self.verify_mode == "certificate",
                                               timestamp)

    def write_platform_public_key(self, path: str) -> None:
        with open(path, "w", encoding="ascii") as f:
            f.write(self.platform_public_key_pem)

    # -- transactions -----------------------------------------------------------------

    def prepay(self, merchant: Merchant, body: dict) -> tuple[str, Transaction]:
        if body["appid"] not in merchant.appids:
            raise PayError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        fingerprint = json.dumps(body, sort_keys=True, ensure_ascii=False)
        key = (merchant.mchid, body["out_trade_no"])
        with self._lock:
            now = self.now()
            tx = self._transactions.get(key)
            if tx is None:
                tx = Transaction(
                    mchid=merchant.mchid, appid=body["appid"], out_trade_no=key[1],
                    description=body["description"], notify_url=body["notify_url"],
                    total=body["amount"]["total"], openid=body["payer"]["openid"],
                    fingerprint=fingerprint, created_at=now, attach=body.get("attach"),
                    time_expire=body.get("time_expire"))
                self._transactions[key] = tx
            elif tx.trade_state == "CLOSED":
                raise PayError(400, "ORDER_CLOSED", "订单已关闭")
            elif tx.trade_state in ("SUCCESS", "REFUND"):
                raise PayError(400, "ORDERPAID", "该订单已支付")
            elif tx.fingerprint != fingerprint:
                raise PayError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            prepay_id = new_prepay_id(now)
            tx.prepay_ids[prepay_id] = now
            return prepay_id, tx

    def transaction(self, mchid: str | None, out_trade_no: str | None = None,
                    transaction_id: str | None = None) -> Transaction:
        with self._lock:
            for tx in self._transactions.values():
                if (mchid in (None, tx.mchid)
                        and (out_trade_no is None or tx.out_trade_no == out_trade_no)
                        and (transaction_id is None or tx.transaction_id == transaction_id)):
                    return tx
        raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")

    def transaction_by_prepay_id(self, prepay_id: str) -> Transaction | None:
        with self._lock:
            return next((tx for tx in self._transactions.values()
                         if prepay_id in tx.prepay_ids), None)

    def transactions(self, mchid: str | None = None) -> list[Transaction]:
        with self._lock:
            return [tx for tx in self._transactions.values() if mchid in (None, tx.mchid)]

    def close(self, mchid: str, out_trade_no: str) -> None:
        with self._lock:
            tx = self._transactions.get((mchid, out_trade_no))
            if tx is None or tx.trade_state == "CLOSED":
                return  # 204 for an unknown order too (community report)
            if tx.trade_state != "NOTPAY":
                raise PayError(400, "ORDERPAID", "该订单已支付")
            tx.trade_state, tx.closed_at = "CLOSED", self.now()

    def mark_paid(self, tx: Transaction, total: int | None = None) -> Transaction:
        with self._lock:
            if tx.trade_state != "NOTPAY":
                raise PayError(409, "INVALID_STATE", f"the order is {tx.trade_state}")
            now = self.now()
            tx.trade_state, tx.success_time = "SUCCESS", now
            tx.transaction_id, tx.bank_type = new_transaction_id(now), "OTHERS"
            if total is not None:
                tx.total = total
            tx.payer_total = tx.total
            return tx

    def notify_transaction(self, tx: Transaction, **variants) -> None:
        merchant = self.merchants[tx.mchid]
        body = envelope(merchant.apiv3_key, self.now(), "TRANSACTION.SUCCESS", "支付成功",
                        "transaction", tx.to_json())
        self.notifier.send("transaction", tx.out_trade_no, tx.notify_url, body, **variants)

    # -- refunds ----------------------------------------------------------------------

    def create_refund(self, merchant: Merchant, body: dict) -> Refund:
        amount = body["amount"]
        with self._lock:
            try:
                tx = self.transaction(merchant.mchid, body.get("out_trade_no"),
                                      body.get("transaction_id"))
            except PayError:
                raise PayError(404, "RESOURCE_NOT_EXISTS", "订单不存在") from None
            key = (merchant.mchid, body["out_refund_no"])
            fingerprint = json.dumps([tx.out_trade_no, amount["refund"], amount["total"]])
            existing = self._refunds.get(key)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise PayError(400, "INVALID_REQUEST",
                                   "订单金额或退款金额与之前请求不一致，请核实后再试")
                return existing
            if tx.trade_state not in ("SUCCESS", "REFUND"):
                raise PayError(400, "INVALID_REQUEST", "订单状态错误，未支付的订单不能退款")
            if amount["total"] != tx.total:
                raise PayError(400, "INVALID_REQUEST", "订单金额与原订单金额不一致")
            refunded = sum(r.refund for r in self._refunds.values()
                           if r.transaction_id == tx.transaction_id and r.status != "CLOSED")
            if amount["refund"] > tx.total - refunded:
                raise PayError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            now = self.now()
            refund = Refund(mchid=merchant.mchid, out_refund_no=key[1],
                            refund_id=new_refund_id(now), out_trade_no=tx.out_trade_no,
                            transaction_id=tx.transaction_id, refund=amount["refund"],
                            total=tx.total, fingerprint=fingerprint, created_at=now,
                            reason=body.get("reason"), notify_url=body.get("notify_url"),
                            funds_account=body.get("funds_account"))
            self._refunds[key] = refund
            tx.trade_state = "REFUND"
            return refund

    def refund(self, mchid: str | None, out_refund_no: str) -> Refund:
        with self._lock:
            for r in self._refunds.values():
                if mchid in (None, r.mchid) and r.out_refund_no == out_refund_no:
                    return r
        raise PayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")

    def refunds(self, mchid: str | None = None) -> list[Refund]:
        with self._lock:
            return [r for r in self._refunds.values() if mchid in (None, r.mchid)]

    def finish_refund(self, refund: Refund, status: str) -> Refund:
        if status not in REFUND_STATES:
            raise ValueError(f"status is one of {REFUND_STATES}")
        with self._lock:
            if refund.status not in ("PROCESSING", "ABNORMAL"):
                raise PayError(409, "INVALID_STATE", f"the refund is {refund.status}")
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = self.now()
            return refund

    def notify_refund(self, refund: Refund, **variants) -> bool:
        if not refund.notify_url or refund.status not in REFUND_SUMMARY:
            return False
        merchant = self.merchants[refund.mchid]
        body = envelope(merchant.apiv3_key, self.now(), f"REFUND.{refund.status}",
                        REFUND_SUMMARY[refund.status], "refund", refund.notify_json())
        self.notifier.send("refund", refund.out_refund_no, refund.notify_url, body, **variants)
        return True

    # -- bills, calls, failures -------------------------------------------------------

    def store_bill(self, mchid: str, content: bytes, gzip: bool) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._bills[token] = {"mchid": mchid, "content": content, "gzip": gzip,
                                  "expires": time.time() + self.bill_url_ttl}
        return token

    def bill(self, token: str | None) -> dict | None:
        with self._lock:
            bill = self._bills.get(token or "")
            return bill if bill and time.time() < bill["expires"] else None

    def add_bill_row(self, row: dict) -> int:
        """An extra bill row: {"bill_date", "kind": payment|refund, "fields", "mchid"}."""
        with self._lock:
            self.extra_bill_rows.append(row)
            return len(self.extra_bill_rows)

    def record_call(self, method: str, path: str, status: int, code: str | None) -> None:
        with self._lock:
            self.calls.append({"method": method, "path": path, "http_status": status,
                               "code": code, "at": int(self.now())})

