"""The error every imitated api.weixin.qq.com endpoint answers with (the mini-program's
and the official account's alike); the views turn it into WeChat's JSON envelope
(`common.error_response`)."""
from __future__ import annotations


class SandboxError(Exception):
    """A WeChat business error: answered HTTP 200 with the errcode/errmsg envelope."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
