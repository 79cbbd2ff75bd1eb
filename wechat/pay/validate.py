"""Local checks of what WeChat Pay would reject anyway (protocol §4.4, §4.8): failing
here costs no round trip and no half-created order. Violations raise ValueError."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
# China has had no DST since 1991: a fixed +08:00 is Asia/Shanghai, without needing tzdata.
CHINA_TZ = timezone(timedelta(hours=8))


def check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def rfc3339(moment: datetime) -> str:
    """An aware datetime as WeChat wants it: China time, whole seconds, `+08:00`."""
    check(isinstance(moment, datetime) and moment.utcoffset() is not None,
          "time must be a timezone-aware datetime")
    return moment.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()


def fen(value: Any, name: str) -> int:
    check(type(value) is int and value > 0, f"{name} must be a positive integer (fen)")
    return value


def out_trade_no(value: Any) -> str:
    check(isinstance(value, str) and bool(_OUT_TRADE_NO.fullmatch(value)),
          "out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]")
    return value


def out_refund_no(value: Any) -> str:
    check(isinstance(value, str) and bool(_OUT_REFUND_NO.fullmatch(value)),
          "out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]")
    return value


def text(value: Any, name: str, limit: int) -> str:
    check(isinstance(value, str) and 0 < len(value) <= limit,
          f"{name} must be 1-{limit} characters")
    return value


def url(value: Any, name: str, limit: int) -> str:
    # HTTPS is WeChat's rule, not ours: the dev sandbox notifies over plain HTTP.
    parts = urlsplit(value) if isinstance(value, str) else None
    check(parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)
          and not parts.query and len(value) <= limit,
          f"{name} must be an absolute URL without a query string, at most {limit} chars")
    return value


def segment(value: str) -> str:
    """A path segment; `|` and `*` are percent-encoded (as wechatpay-go does). The
    signature covers the encoded form, which is what goes on the request line."""
    return quote(value, safe="")
