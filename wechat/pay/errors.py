"""Errors raised by the WeChat Pay client. Callers see only these (and ValueError for
arguments WeChat would reject), never requests/pycryptodome ones.

Messages and `reason`s are safe to log: no keys, no request or response bodies, no URLs
(the bill download URL carries a token)."""
from __future__ import annotations

from typing import Any

from wechat.errors import WeChatError


class WeChatPayError(WeChatError):
    """WeChat Pay answered a business error: HTTP 4xx with `{"code","message","detail"}`.
    `detail` stays an attribute only: it may echo the offending field's value."""

    def __init__(self, status: int, code: str, message: str = "", detail: Any = None):
        self.status = int(status)
        self.code = str(code)
        self.message = str(message or "")
        self.detail = detail
        super().__init__(f"WeChat Pay HTTP {self.status} {self.code}: {self.message[:200]}")


class WeChatPayUnavailable(WeChatError):
    """The outcome is unknown: connection failure, timeout, HTTP 5xx after the retries,
    or an answer that is not WeChat Pay's protocol. `status`/`code` are set when the last
    attempt got an HTTP answer (e.g. 500 SYSTEM_ERROR). Retry later with the same
    parameters (same out_trade_no / out_refund_no)."""

    def __init__(self, reason: str, *, status: int | None = None, code: str | None = None):
        self.reason = reason
        self.status = status
        self.code = code
        super().__init__(reason)


class ResponseSignatureInvalid(WeChatPayUnavailable):
    """A 2xx answer failed verification (bad or probe signature, stale timestamp, unknown
    serial, missing headers). Its content was NOT used. Worth an alert: outside WeChat's
    own `WECHATPAY/SIGNTEST/` probes this means tampering or a misconfigured key."""


class BillHashMismatch(WeChatPayUnavailable):
    """The downloaded bill does not match the SHA-1 WeChat announced for it."""


class NotificationRejected(WeChatError):
    """A notification failed verification or decryption. Answer it with a 4xx/5xx
    (`{"code":"FAIL","message":"失败"}`) so WeChat retries a genuine one."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
