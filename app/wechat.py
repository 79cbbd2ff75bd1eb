"""Wiring between the app and wechat/: builds the clients from config and turns
WeChat's and WeChat Pay's failures into the app's typed errors — one mapping each, for
every caller (`call` and `call_pay`; `pay_failure` for a caller that looked at WeChat
Pay's error first)."""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

from flask import Flask, current_app

from app import errors
from app.metrics import WECHAT_CALLS
from wechat.errors import WeChatAPIError, WeChatUnavailable
from wechat.kuaidi100 import Kuaidi100Client
from wechat.miniprogram import MiniProgramClient
from wechat.official import MessageCrypto, OfficialAccountClient
from wechat.pay import WeChatPayClient
from wechat.pay.errors import WeChatPayError, WeChatPayUnavailable

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
    # 快递100 (optional): parcels are tracked by push only when a key is configured.
    if cfg.get("KUAIDI100_KEY"):
        app.extensions["kuaidi100"] = Kuaidi100Client(cfg["KUAIDI100_KEY"], cfg.get("KUAIDI100_CUSTOMER") or "",
                                                      cfg["KUAIDI100_API_BASE"], timeout=cfg["WECHAT_TIMEOUT_S"])
    # The official account (optional; all of WECHAT_OA_* or none): its API on the same base.
    if cfg.get("WECHAT_OA_APPID") and cfg.get("WECHAT_OA_SECRET"):
        app.extensions["official"] = OfficialAccountClient(
            cfg["WECHAT_OA_APPID"], cfg["WECHAT_OA_SECRET"], cfg["WECHAT_API_BASE"],
            redis=app.extensions["redis"], timeout=cfg["WECHAT_TIMEOUT_S"])
    if cfg.get("WECHAT_OA_APPID") and cfg.get("WECHAT_OA_TOKEN"):
        app.extensions["official_crypto"] = MessageCrypto(
            cfg["WECHAT_OA_TOKEN"], cfg.get("WECHAT_OA_AES_KEY"), cfg["WECHAT_OA_APPID"])


def miniprogram() -> MiniProgramClient:
    return current_app.extensions["miniprogram"]


def kuaidi100() -> Kuaidi100Client | None:
    """The 快递100 client; None when KUAIDI100_KEY is unset (parcels are then not tracked)."""
    return current_app.extensions.get("kuaidi100")


def official_configured() -> bool:
    return "official" in current_app.extensions


def official() -> OfficialAccountClient:
    client = current_app.extensions.get("official")
    if client is None:
        raise errors.NotConfigured("This deployment has no official account (WECHAT_OA_APPID ... "
                                   "unset): staff alerts are off.")
    return client


def official_crypto() -> MessageCrypto | None:
    """The server URL's signature/AES helper; None when no WECHAT_OA_TOKEN is set."""
    return current_app.extensions.get("official_crypto")


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


def init_pay(app: Flask) -> None:
    """The WeChat Pay client, built from config (keys read from files at start-up)."""
    cfg = app.config
    if not cfg.get("WECHATPAY_MCHID"):
        return  # development without a merchant: paying answers 503 wechat_unavailable

    from pathlib import Path

    public_key = None
    if cfg.get("WECHATPAY_PUBLIC_KEY_PATH"):
        public_key = Path(cfg["WECHATPAY_PUBLIC_KEY_PATH"]).read_text()
    elif "wechat_sandbox" in app.extensions:  # the in-process sandbox's platform key
        public_key = app.extensions["wechat_sandbox"].pay.platform_public_key_pem
        cfg["WECHATPAY_PUBLIC_KEY_ID"] = app.extensions["wechat_sandbox"].pay.public_key_id
    app.extensions["wechatpay"] = WeChatPayClient(
        mchid=cfg["WECHATPAY_MCHID"], appid=cfg["WECHAT_APPID"],
        merchant_serial=cfg["WECHATPAY_CERT_SERIAL"],
        merchant_private_key=Path(cfg["WECHATPAY_PRIVATE_KEY_PATH"]).read_text(),
        apiv3_key=cfg["WECHATPAY_APIV3_KEY"], api_base=cfg["WECHATPAY_API_BASE"],
        public_key=public_key, public_key_id=cfg.get("WECHATPAY_PUBLIC_KEY_ID") if public_key else None,
        cert_store=_RedisCertStore(app.extensions["redis"]), timeout=cfg["WECHAT_TIMEOUT_S"])


class _RedisCertStore:
    """Platform certificates shared by every worker (certificate mode), so a rotation is
    downloaded once, not once per process."""

    def __init__(self, redis):
        self.redis = redis

    def get(self, key: str) -> str | None:
        return self.redis.get(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        self.redis.set(key, value, ex=max(int(ttl), 1))


def pay_configured() -> bool:
    return "wechatpay" in current_app.extensions


def pay():
    client = current_app.extensions.get("wechatpay")
    if client is None:
        raise errors.WeChatUnavailable("WeChat Pay is not configured (WECHATPAY_MCHID ...).")
    return client


def call_pay(api: str, fn: Callable[..., T], *args, **kwargs) -> T:
    """Call WeChat Pay for a request that is waiting on the answer; its failures become
    503 wechat_unavailable (with WeChat's code in the details), never a 500."""
    try:
        result = fn(*args, **kwargs)
    except (WeChatPayError, WeChatPayUnavailable) as exc:
        raise pay_failure(api, exc) from None
    WECHAT_CALLS.labels(f"pay:{api}", "ok").inc()
    return result


def pay_failure(api: str, exc: WeChatPayError | WeChatPayUnavailable,
                message: str | None = None) -> errors.AppError:
    """The error a waiting client gets for a WeChat Pay failure (counted and logged)."""
    if isinstance(exc, WeChatPayError):
        WECHAT_CALLS.labels(f"pay:{api}", exc.code or str(exc.status)).inc()
        log.warning("wechat pay %s failed: %s %s", api, exc.status, exc.code)
        return errors.WeChatUnavailable(message, details={"code": exc.code})
    WECHAT_CALLS.labels(f"pay:{api}", "unavailable").inc()
    log.warning("wechat pay %s unavailable: %s", api, exc.reason)
    return errors.WeChatUnavailable(message)
