"""Wiring between the app and wechat/: builds the clients from config and turns
WeChat's answers into the app's typed errors (one mapping for every caller)."""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

from flask import Flask, current_app

from app import errors
from app.metrics import WECHAT_CALLS
from wechat.errors import WeChatAPIError, WeChatUnavailable
from wechat.miniprogram import MiniProgramClient

log = logging.getLogger(__name__)
T = TypeVar("T")

# errcode → what the caller did wrong (4xx); everything else is WeChat's or our config's problem.
_CODE_INVALID = {40029, 40163}
_RATE_LIMITED = {45011, 45009}
_BLOCKED = {40226}


def init_app(app: Flask) -> None:
    cfg = app.config
    app.extensions["miniprogram"] = MiniProgramClient(
        cfg["WECHAT_APPID"], cfg["WECHAT_SECRET"], cfg["WECHAT_API_BASE"],
        redis=app.extensions["redis"], timeout=cfg["WECHAT_TIMEOUT_S"],
    )


def miniprogram() -> MiniProgramClient:
    return current_app.extensions["miniprogram"]


def call(api: str, fn: Callable[..., T], *args, **kwargs) -> T:
    """Call WeChat; map its failures onto AppErrors with stable codes."""
    try:
        result = fn(*args, **kwargs)
    except WeChatAPIError as exc:
        WECHAT_CALLS.labels(api, str(exc.errcode)).inc()
        if exc.errcode in _CODE_INVALID:
            raise errors.WeChatCodeInvalid(details={"errcode": exc.errcode}) from None
        if exc.errcode in _RATE_LIMITED:
            raise errors.RateLimited(60, "WeChat rate limit reached; try again in a minute.") from None
        if exc.errcode in _BLOCKED:
            raise errors.WeChatUserBlocked(details={"errcode": exc.errcode}) from None
        log.warning("wechat %s failed with errcode %s", api, exc.errcode)
        raise errors.WeChatUnavailable(details={"errcode": exc.errcode}) from None
    except WeChatUnavailable as exc:
        WECHAT_CALLS.labels(api, "unavailable").inc()
        log.warning("wechat %s unreachable: %s", api, exc.reason)
        raise errors.WeChatUnavailable() from None
    WECHAT_CALLS.labels(api, "ok").inc()
    return result
