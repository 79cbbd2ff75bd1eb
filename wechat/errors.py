"""Errors raised by the WeChat clients. Callers see only these, never requests/wechatpy ones."""
from __future__ import annotations


class WeChatError(Exception):
    """Base class for every failure talking to WeChat."""


class WeChatAPIError(WeChatError):
    """WeChat answered with a business error (errcode != 0, including -1 "system busy")."""

    def __init__(self, errcode: int, errmsg: str = ""):
        self.errcode = int(errcode)
        self.errmsg = str(errmsg or "")
        super().__init__(f"WeChat errcode {self.errcode}: {self.errmsg}")


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached or answered something that is not its protocol:
    connection error, timeout, HTTP 4xx/5xx, or a body that is not the expected JSON.
    `reason` is safe to log: it never contains URLs, query strings or bodies."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
