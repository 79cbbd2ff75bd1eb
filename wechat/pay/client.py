"""WeChat Pay APIv3 client for a direct merchant, JSAPI / mini-program (protocol §4).

Signing, retries and response verification live in `transport`; this module holds the
endpoints, notification parsing and the choice of verification key:
- public-key mode (public_key + public_key_id): the answer's serial must be the key id;
- platform-certificate mode otherwise (`certs`);
- during a migration both: the public key when the serial is its id, certificates else.
Complaints (消费者投诉2.0, §11) come from `ComplaintsMixin` (complaints.py).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
import zlib
from datetime import date, datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from wechat.pay import validate as v
from wechat.pay.complaints import ComplaintsMixin
from wechat.pay.certs import CertificateCache, decrypt_certificates, normalize_serial
from wechat.pay.errors import (BillHashMismatch, NotificationRejected,
                               ResponseSignatureInvalid, WeChatPayError, WeChatPayUnavailable)
from wechat.pay.keys import load_private_key, load_public_key
from wechat.pay.signing import aes_gcm_decrypt, lines, nonce, rsa_sign
from wechat.pay.transport import Transport, json_object
from wechat.pay.verify import SignatureInvalid, verify_signed

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.mch.weixin.qq.com"
BILL_TYPES = ("ALL", "SUCCESS", "REFUND")


class WeChatPayClient(ComplaintsMixin):
    def __init__(self, *, mchid: str, appid: str, merchant_serial: str,
                 merchant_private_key: str, apiv3_key: str,
                 api_base: str = DEFAULT_API_BASE, public_key: str | None = None,
                 public_key_id: str | None = None, cert_store=None, timeout: float = 5.0,
                 retries: int = 2, clock: Callable[[], float] = time.time,
                 backoff: float = 0.2, sleep: Callable[[float], None] = time.sleep):
        v.check(bool(mchid and appid and merchant_serial),
                "mchid, appid and merchant_serial are required")
        v.check(isinstance(apiv3_key, str) and apiv3_key.isascii() and len(apiv3_key) == 32,
                "apiv3_key must be 32 ASCII characters")
        v.check((public_key is None) == (public_key_id is None),
                "public_key and public_key_id go together")
        v.check(isinstance(retries, int) and retries >= 0, "retries must be >= 0")
        self.mchid, self.appid, self.public_key_id = mchid, appid, public_key_id
        self.api_base = api_base.rstrip("/")
        self._key = load_private_key(merchant_private_key)
        self._apiv3_key = apiv3_key.encode("ascii")
        self._public_key = load_public_key(public_key) if public_key is not None else None
        self._clock = clock
        self._certs = CertificateCache(mchid=mchid, fetch=self._fetch_certificates,
                                       clock=clock, store=cert_store)
        self._http = Transport(api_base=self.api_base, mchid=mchid,
                               merchant_serial=merchant_serial, key=self._key,
                               verify=self._verify, public_key_id=public_key_id,
                               timeout=timeout, retries=retries, clock=clock,
                               backoff=backoff, sleep=sleep)

    def __repr__(self) -> str:  # no key material in reprs that end up in logs
        return f"<WeChatPayClient mchid={self.mchid} appid={self.appid} api_base={self.api_base}>"

    # -- payments ---------------------------------------------------------------------

    def prepay_jsapi(self, *, description: str, out_trade_no: str, amount_fen: int,
                     payer_openid: str, notify_url: str, time_expire: datetime,
                     attach: str | None = None) -> str:
        """The prepay_id (valid 2 h). Same out_trade_no + same parameters → a fresh one."""
        body = {"appid": self.appid, "mchid": self.mchid,
                "description": v.text(description, "description", 127),
                "out_trade_no": v.out_trade_no(out_trade_no),
                "time_expire": v.rfc3339(time_expire),
                "notify_url": v.url(notify_url, "notify_url", 255),
                "amount": {"total": v.fen(amount_fen, "amount_fen"), "currency": "CNY"},
                "payer": {"openid": v.text(payer_openid, "payer_openid", 128)}}
        if attach:  # optional fields: None and "" both mean absent
            body["attach"] = v.text(attach, "attach", 128)
        res = self._http.call("prepay", "POST", "/v3/pay/transactions/jsapi", body=body)
        prepay_id = json_object("prepay", res).get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WeChatPayUnavailable("prepay: answer without prepay_id")
        return prepay_id

    def pay_params(self, prepay_id: str) -> dict:
        """The `wx.requestPayment` arguments. paySign covers appId, timeStamp, nonceStr
        and package (not signType), each followed by `\\n`; timeStamp is a string."""
        timestamp, nonce_str = str(int(self._clock())), nonce()
        package = "prepay_id=" + v.text(prepay_id, "prepay_id", 64)
        return {"appId": self.appid, "timeStamp": timestamp, "nonceStr": nonce_str,
                "package": package, "signType": "RSA",
                "paySign": rsa_sign(self._key, lines(self.appid, timestamp, nonce_str, package))}

    def query(self, *, out_trade_no: str | None = None,
              transaction_id: str | None = None) -> dict | None:
        """The Transaction, or None when WeChat does not know the order (ORDER_NOT_EXIST)."""
        v.check((out_trade_no is None) != (transaction_id is None),
                "give exactly one of out_trade_no and transaction_id")
        if out_trade_no is not None:
            path = "/v3/pay/transactions/out-trade-no/" + v.segment(v.out_trade_no(out_trade_no))
        else:
            path = "/v3/pay/transactions/id/" + v.segment(v.text(transaction_id, "transaction_id", 32))
        try:
            res = self._http.call("query", "GET", path, params={"mchid": self.mchid})
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None
            raise
        return json_object("query", res)

    def close(self, out_trade_no: str) -> None:
        """204 on success. A paid order raises WeChatPayError(code="ORDERPAID")."""
        path = f"/v3/pay/transactions/out-trade-no/{v.segment(v.out_trade_no(out_trade_no))}/close"
        self._http.call("close", "POST", path, body={"mchid": self.mchid})

    # -- refunds ----------------------------------------------------------------------

    def refund(self, *, out_refund_no: str, amount_fen: int, total_fen: int,
               out_trade_no: str | None = None, transaction_id: str | None = None,
               reason: str | None = None, notify_url: str | None = None) -> dict:
        """The Refund object. Acceptance is not the result: watch `status` / the notify.
        Retry a failed call with the SAME out_refund_no."""
        v.check((out_trade_no is None) != (transaction_id is None),
                "give exactly one of out_trade_no and transaction_id")
        v.check(v.fen(amount_fen, "amount_fen") <= v.fen(total_fen, "total_fen"),
                "amount_fen exceeds total_fen")
        body: dict[str, Any] = {"out_refund_no": v.out_refund_no(out_refund_no)}
        if out_trade_no is not None:
            body["out_trade_no"] = v.out_trade_no(out_trade_no)
        else:
            body["transaction_id"] = v.text(transaction_id, "transaction_id", 32)
        if reason:  # optional fields: None and "" both mean absent
            body["reason"] = v.text(reason, "reason", 80)
        if notify_url:
            body["notify_url"] = v.url(notify_url, "notify_url", 256)
        body["amount"] = {"refund": amount_fen, "total": total_fen, "currency": "CNY"}
        res = self._http.call("refund", "POST", "/v3/refund/domestic/refunds", body=body)
        return json_object("refund", res)

    def query_refund(self, out_refund_no: str) -> dict | None:
        """The Refund object, or None for an unknown out_refund_no (404 RESOURCE_NOT_EXISTS)."""
        path = "/v3/refund/domestic/refunds/" + v.segment(v.out_refund_no(out_refund_no))
        try:
            res = self._http.call("query_refund", "GET", path)
        except WeChatPayError as exc:
            if exc.code in ("RESOURCE_NOT_EXISTS", "ORDER_NOT_EXIST"):
                return None
            raise
        return json_object("query_refund", res)

    # -- bills ------------------------------------------------------------------------

    def trade_bill(self, bill_date: date, bill_type: str = "ALL") -> bytes:
        """The bill file (CSV, UTF-8 bytes) checked against WeChat's SHA-1; parse it with
        `parse_trade_bill(content.decode("utf-8"))`. Raises BillHashMismatch."""
        v.check(isinstance(bill_date, date), "bill_date must be a date")
        v.check(bill_type in BILL_TYPES, f"bill_type must be one of {BILL_TYPES}")
        day = bill_date.date() if isinstance(bill_date, datetime) else bill_date
        info = json_object("tradebill", self._http.call(
            "tradebill", "GET", "/v3/bill/tradebill",
            params={"bill_date": day.isoformat(), "bill_type": bill_type, "tar_type": "GZIP"}))
        hash_value, download_url = info.get("hash_value"), info.get("download_url")
        if (str(info.get("hash_type", "")).upper() != "SHA1" or not isinstance(hash_value, str)
                or not isinstance(download_url, str)):
            raise WeChatPayUnavailable("tradebill: answer without SHA1 hash_value/download_url")
        # The download answer is not signed (per the doc): the announced hash protects it.
        res = self._http.call("billdownload", "GET", "", url=self._on_api_host(download_url),
                              verify=False)
        content = res.content
        if content[:2] == b"\x1f\x8b":
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError, zlib.error):
                raise WeChatPayUnavailable("billdownload: corrupt gzip") from None
        if hashlib.sha1(content).hexdigest() != hash_value.strip().lower():
            raise BillHashMismatch("billdownload: SHA-1 does not match hash_value")
        return content

    def _on_api_host(self, download_url: str) -> str:
        # Our signed Authorization only ever goes to the configured API host; the
        # download URL's path and query (the token) are kept.
        parts, base = urlsplit(download_url), urlsplit(self.api_base)
        if parts.scheme not in ("http", "https") or not parts.path:
            raise WeChatPayUnavailable("tradebill: malformed download_url")
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    # -- notifications ----------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> dict:
        """Verify a payment/refund notification over the RAW body (`request.get_data()`,
        never re-serialized JSON) and decrypt it: the envelope with `resource` replaced
        by the decrypted object. Raises NotificationRejected(reason): answer non-2xx."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            self._verify(headers, body)
        except SignatureInvalid as exc:
            log.warning("wechat pay notification rejected: %s", exc.reason)
            raise NotificationRejected(exc.reason) from None
        except WeChatPayUnavailable:
            raise NotificationRejected("platform certificates unavailable") from None
        try:
            envelope = json.loads(body)
        except ValueError:
            raise NotificationRejected("body is not JSON") from None
        resource = envelope.get("resource") if isinstance(envelope, dict) else None
        if (not isinstance(resource, dict) or envelope.get("resource_type") != "encrypt-resource"
                or resource.get("algorithm") != "AEAD_AES_256_GCM"):
            raise NotificationRejected("no AEAD_AES_256_GCM encrypt-resource")
        try:
            plain = json.loads(aes_gcm_decrypt(
                self._apiv3_key, str(resource.get("nonce") or ""),
                str(resource.get("associated_data") or ""), str(resource.get("ciphertext") or "")))
        except ValueError:
            raise NotificationRejected("resource does not decrypt (wrong APIv3 key?)") from None
        if not isinstance(plain, dict):
            raise NotificationRejected("decrypted resource is not an object")
        return {**envelope, "resource": plain}

    # -- verification keys ------------------------------------------------------------

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        verify_signed(headers, body, now=self._clock(), key_for=self._key_for)

    def _key_for(self, serial: str):
        if self._public_key is not None and serial == self.public_key_id:
            return self._public_key
        return self._certs.key_for(serial)

    def _fetch_certificates(self):
        res = self._http.call("certificates", "GET", "/v3/certificates", verify=False)
        certs = decrypt_certificates(json_object("certificates", res).get("data"),
                                     self._apiv3_key, self._clock())
        # Bootstrap, as the SDKs do: the answer is verified with a certificate it carries
        # (whose GCM tag already proves it was encrypted with our APIv3 key).
        fresh = {c.serial: c for c in certs}

        def key_for(serial: str):
            cert = fresh.get(normalize_serial(serial) or "") or self._certs.cached(serial)
            return cert.key if cert is not None else None

        try:
            verify_signed(res.headers, res.content, now=self._clock(), key_for=key_for)
        except SignatureInvalid as exc:
            log.warning("wechat pay certificates: answer rejected: %s", exc.reason)
            raise ResponseSignatureInvalid(f"certificates: {exc.reason}") from None
        return certs
