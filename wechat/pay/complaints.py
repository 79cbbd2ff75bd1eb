"""WeChat Pay 消费者投诉2.0 for a direct merchant (protocol §11): the notification URL,
listing and reading complaints with their negotiation history, acting on them, images,
and the RSA-encrypted `payer_phone`.

A mixin of `WeChatPayClient`: the same signed transport (§4.2), verified answers (§4.3,
a 204 too) and errors (`WeChatPayError` for 4xx, `WeChatPayUnavailable` otherwise).

SECURITY: `decrypt_field` returns the payer's phone in plain text; callers encrypt it
for storage at once (app.crypto) and never log it.
"""
from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

from Crypto.Cipher import PKCS1_OAEP
from Crypto.Hash import SHA1

from wechat.pay import validate as v
from wechat.pay.errors import ResponseSignatureInvalid, WeChatPayError, WeChatPayUnavailable
from wechat.pay.transport import json_object
from wechat.pay.verify import SignatureInvalid

NOTIFICATIONS_PATH = "/v3/merchant-service/complaint-notifications"
COMPLAINTS_PATH = "/v3/merchant-service/complaints-v2"
IMAGES_PATH = "/v3/merchant-service/images/"
REFUND_ACTIONS = ("APPROVE", "REJECT")
MAX_SPAN_DAYS = 30   # begin_date..end_date (§11.3: UNCONFIRMED upper bound, the sandbox enforces it)
PAGE_LIMIT = 50      # the largest `limit` (UNCONFIRMED; 50 is what integrators use)
_NOT_FOUND = ("RESOURCE_NOT_EXISTS", "NOT_FOUND")


class ComplaintsMixin:
    """Needs `self._http` (Transport), `self.mchid` and `self._key` (merchant private key)."""

    # -- notification URL (§11.1) -------------------------------------------------------

    def complaint_notification_url(self) -> dict | None:
        """{"mchid", "url"}, or None when none is registered."""
        try:
            res = self._http.call("complaint_url_get", "GET", NOTIFICATIONS_PATH)
        except WeChatPayError as exc:
            if exc.code in _NOT_FOUND:
                return None
            raise
        return json_object("complaint_url_get", res)

    def register_complaint_notification_url(self, url: str) -> dict:
        """Create or update (GET first: creating over an existing one is an error whose
        code is UNCONFIRMED). Unchanged → no write. Returns {"mchid", "url"}."""
        body = {"url": v.url(url, "url", 256)}
        current = self.complaint_notification_url()
        if current is not None and current.get("url") == url:
            return current
        method = "POST" if current is None else "PUT"
        return json_object("complaint_url_set", self._http.call(
            "complaint_url_set", method, NOTIFICATIONS_PATH, body=body))

    def delete_complaint_notification_url(self) -> None:
        self._http.call("complaint_url_delete", "DELETE", NOTIFICATIONS_PATH)

    # -- reading (§11.3, §11.4) ---------------------------------------------------------

    def list_complaints(self, begin_date: date, end_date: date, *, limit: int = PAGE_LIMIT,
                        offset: int = 0) -> dict:
        """One page: {"data": [...], "limit", "offset", "total_count"}."""
        v.check(isinstance(begin_date, date) and isinstance(end_date, date)
                and begin_date <= end_date, "begin_date..end_date must be dates in order")
        v.check((end_date - begin_date).days < MAX_SPAN_DAYS,
                f"begin_date..end_date spans at most {MAX_SPAN_DAYS} days")
        v.check(type(limit) is int and 1 <= limit <= PAGE_LIMIT, f"limit must be 1-{PAGE_LIMIT}")
        v.check(type(offset) is int and offset >= 0, "offset must be >= 0")
        params = {"limit": limit, "offset": offset, "begin_date": begin_date.isoformat(),
                  "end_date": end_date.isoformat(), "complainted_mchid": self.mchid}
        return _page("complaints_list", self._http.call(
            "complaints_list", "GET", COMPLAINTS_PATH, params=params))

    def iter_complaints(self, begin_date: date, end_date: date) -> Iterator[dict]:
        """Every complaint of the range, page by page (offset += limit until total_count)."""
        yield from _pages(lambda offset: self.list_complaints(begin_date, end_date, offset=offset))

    def complaint(self, complaint_id: str) -> dict | None:
        """The detail (list fields plus payer_openid), or None for an unknown id."""
        try:
            res = self._http.call("complaint_detail", "GET", _complaint_path(complaint_id))
        except WeChatPayError as exc:
            if exc.code in _NOT_FOUND:
                return None
            raise
        return json_object("complaint_detail", res)

    def negotiation_history(self, complaint_id: str, *, limit: int = PAGE_LIMIT,
                            offset: int = 0) -> dict:
        v.check(type(limit) is int and 1 <= limit <= PAGE_LIMIT, f"limit must be 1-{PAGE_LIMIT}")
        v.check(type(offset) is int and offset >= 0, "offset must be >= 0")
        # "historys": WeChat's spelling.
        return _page("complaint_history", self._http.call(
            "complaint_history", "GET", _complaint_path(complaint_id) + "/negotiation-historys",
            params={"limit": limit, "offset": offset}))

    def iter_negotiation_history(self, complaint_id: str) -> Iterator[dict]:
        yield from _pages(lambda offset: self.negotiation_history(complaint_id, offset=offset))

    # -- acting (§11.5: each answers 204, signed) -------------------------------------

    def respond_complaint(self, complaint_id: str, content: str, *, images: list[str] = (),
                          jump_url: str | None = None, jump_url_text: str | None = None) -> None:
        body: dict[str, Any] = {"complainted_mchid": self.mchid,
                                "response_content": v.text(content, "content", 200)}
        if images:
            v.check(len(images) <= 4, "at most 4 response images")
            body["response_images"] = [v.text(m, "media_id", 512) for m in images]
        if jump_url:
            body["jump_url"] = v.url(jump_url, "jump_url", 512)
            body["jump_url_text"] = v.text(jump_url_text or "", "jump_url_text", 10)
        self._http.call("complaint_response", "POST", _complaint_path(complaint_id) + "/response",
                        body=body)

    def update_refund_progress(self, complaint_id: str, action: str, *,
                               launch_refund_day: int | None = None, reject_reason: str | None = None,
                               remark: str | None = None) -> None:
        """申请退款 complaints: APPROVE (with the days until the refund starts) or
        REJECT (with a reason)."""
        v.check(action in REFUND_ACTIONS, f"action must be one of {REFUND_ACTIONS}")
        body: dict[str, Any] = {"action": action}
        if action == "APPROVE":
            v.check(type(launch_refund_day) is int and 0 <= launch_refund_day <= 7,
                    "launch_refund_day must be 0-7 for APPROVE")
            body["launch_refund_day"] = launch_refund_day
        else:
            body["reject_reason"] = v.text(reject_reason, "reject_reason", 200)
        if remark:
            body["remark"] = v.text(remark, "remark", 200)
        self._http.call("complaint_refund_progress", "POST",
                        _complaint_path(complaint_id) + "/update-refund-progress", body=body)

    def complete_complaint(self, complaint_id: str) -> None:
        self._http.call("complaint_complete", "POST", _complaint_path(complaint_id) + "/complete",
                        body={"complainted_mchid": self.mchid})

    # -- images (§11.6) -----------------------------------------------------------------

    def download_complaint_image(self, media_url: str) -> bytes:
        """The bytes of a `media_url` from a complaint. Only its media_id is used: the
        request goes to the configured API host, never to a host named in the data."""
        media_id = unquote(urlsplit(str(media_url)).path.rstrip("/").rpartition("/")[2])
        v.check(bool(media_id), "media_url has no media_id")
        res = self._http.call("complaint_image", "GET", IMAGES_PATH + v.segment(media_id),
                              verify=False)
        # Whether the image answer is signed is UNCONFIRMED: verify it when it says it is.
        if res.headers.get("Wechatpay-Signature"):
            try:
                self._verify(res.headers, res.content)
            except SignatureInvalid as exc:
                raise ResponseSignatureInvalid(f"complaint_image: {exc.reason}") from None
        return res.content

    # -- encrypted fields (§11.7) ---------------------------------------------------------

    def decrypt_field(self, ciphertext_b64: str) -> str:
        """A sensitive field (payer_phone): RSAES-OAEP (SHA-1, MGF1-SHA1) with our
        merchant certificate's public key; decrypted with the merchant private key."""
        try:
            raw = base64.b64decode(ciphertext_b64, validate=True)
            return PKCS1_OAEP.new(self._key, hashAlgo=SHA1).decrypt(raw).decode("utf-8")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ValueError("field does not decrypt with the merchant key") from None


def _complaint_path(complaint_id: str) -> str:
    return COMPLAINTS_PATH + "/" + v.segment(v.text(complaint_id, "complaint_id", 64))


def _page(api: str, res) -> dict:
    page = json_object(api, res)
    if not isinstance(page.get("data", []), list):
        raise WeChatPayUnavailable(f"{api}: data is not a list")
    page.setdefault("data", [])
    return page


def _pages(fetch) -> Iterator[dict]:
    offset = 0
    while True:
        page = fetch(offset)
        data = page["data"]
        yield from (item for item in data if isinstance(item, dict))
        total = page.get("total_count")
        offset += len(data)
        if not data or not isinstance(total, int) or offset >= total:
            return
