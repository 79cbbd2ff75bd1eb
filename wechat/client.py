"""The shared part of every api.weixin.qq.com client (mini-program, official account),
built on wechatpy 1.8.18's WeChatClient.

What we change in wechatpy and why:
- Every URL points at `api_base`, so the sandbox (or any imitation) can stand in.
- The access token comes from `/cgi-bin/stable_token`, never `/cgi-bin/token`: a plain
  token fetch invalidates the previous token, so several worker processes each
  fetching their own would keep breaking each other (the classic 40001 storm).
  The token lives in Redis, shared by every process, fetched under a short lock;
  one key per appid, so the mini-program's and the official account's never mix.
- wechatpy's own auto_retry recurses without limit when WeChat keeps answering
  40001; we retry once ourselves, after dropping the rejected token from Redis.
- Failures come out as WeChatAPIError / WeChatUnavailable only.

SECURITY: nothing in this module logs a response body, and `WeChatUnavailable.reason`
never holds a URL (requests' exception messages include the query string, i.e.
`secret`, `js_code` and `access_token`). wechatpy logs no bodies or URLs; urllib3 logs
every request line with its query string at DEBUG, which `_RedactQueryFilter` masks.
"""
from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any, Callable

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from wechat.errors import WeChatAPIError, WeChatUnavailable

log = logging.getLogger(__name__)

# 40001 invalid credential, 40014 invalid access_token, 42001 access_token expired.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})


class _RedactQueryFilter(logging.Filter):
    """Masks secret-bearing query parameters in urllib3's DEBUG request lines."""

    _SECRET_PARAM = re.compile(r"((?:secret|access_token|js_code|code)=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._SECRET_PARAM.sub(r"\1***", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQueryFilter) for f in logger.filters):
        logger.addFilter(_RedactQueryFilter())


_install_log_redaction()


def token_ttl(expires_in: int) -> int:
    """How long to keep a token: a safety margin before WeChat's expiry."""
    return max(1, expires_in - min(300, expires_in // 10))


class SharedTokenClient(WeChatClient):
    """One app on api.weixin.qq.com with its access token shared in Redis. Subclasses
    add the API methods; they return plain dicts/values and raise only WeChatAPIError /
    WeChatUnavailable. The inherited wechatpy methods (`get`, `post`, ...) are the raw
    layer and raise wechatpy exceptions."""

    LOCK_POLL_S = 0.05

    def __init__(self, appid: str, secret: str, api_base: str, redis, timeout: float = 5.0):
        base = api_base.rstrip("/")
        super().__init__(appid, secret, session=RedisStorage(redis, prefix="wechat"),
                         timeout=timeout, auto_retry=False)
        self.api_base = base
        self.API_BASE_URL = base + "/cgi-bin/"
        self._root_url = base + "/"
        self._redis = redis
        self._lock_key = f"wechat:{appid}_access_token:lock"
        self._lock_ttl = int(timeout) + 2

    def __repr__(self) -> str:  # keep `secret` out of reprs that end up in logs
        return f"<{type(self).__name__} appid={self.appid} api_base={self.api_base}>"

    # -- access token ---------------------------------------------------------------

    @property
    def access_token(self) -> str:
        """The shared token from Redis; fetched (once across processes) when missing.
        Redis' TTL does the expiry, so no per-process `expires_at` is trusted."""
        token = self.session.get(self.access_token_key)
        return token if token else self._obtain_token()

    def fetch_access_token(self) -> dict:
        """POST stable_token in normal mode and store the result. In normal mode WeChat
        returns the currently valid token (a new one only near expiry), so calling this
        from several processes never invalidates anybody's token."""
        url = self.api_base + "/cgi-bin/stable_token"
        body = {"grant_type": "client_credential", "appid": self.appid,
                "secret": self.secret, "force_refresh": False}
        try:
            res = self._http.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"stable_token: {type(exc).__name__}") from None
        result = _json_body(res, "stable_token")
        if result.get("errcode", 0) != 0:
            raise WeChatAPIError(result["errcode"], result.get("errmsg", ""))
        token, expires_in = result.get("access_token"), result.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise WeChatUnavailable("stable_token: answer without access_token/expires_in")
        self.session.set(self.access_token_key, token, token_ttl(expires_in))
        self.expires_at = int(time.time()) + expires_in
        log.info("wechat access token fetched for %s (expires_in=%s)", self.appid, expires_in)
        return result

    def _obtain_token(self) -> str:
        # Only one process fetches; the others wait for its result in Redis. If the
        # holder dies, its lock expires; if we give up waiting we fetch anyway, which
        # is harmless in stable_token normal mode (it returns the same token).
        deadline = time.monotonic() + self._lock_ttl
        while True:
            nonce = secrets.token_hex(8)
            if self._redis.set(self._lock_key, nonce, nx=True, ex=self._lock_ttl):
                try:
                    token = self.session.get(self.access_token_key)
                    return token or self.fetch_access_token()["access_token"]
                finally:
                    self._release_lock(nonce)
            time.sleep(self.LOCK_POLL_S)
            token = self.session.get(self.access_token_key)
            if token:
                return token
            if time.monotonic() >= deadline:
                return self.fetch_access_token()["access_token"]

    def _release_lock(self, nonce: str) -> None:
        # Get-then-delete can race with an expired lock taken over by someone else;
        # the worst outcome is one extra (harmless) normal-mode stable_token call.
        held = self._redis.get(self._lock_key)
        if held is not None and _text(held) == nonce:
            self._redis.delete(self._lock_key)

    def _drop_token(self, rejected: str) -> None:
        """Forget the token WeChat just rejected, unless another process already
        replaced it (then the replacement is the one to use)."""
        if self.session.get(self.access_token_key) == rejected:
            self.session.delete(self.access_token_key)

    # -- calls ----------------------------------------------------------------------

    def _call(self, api: str, fn: Callable[[], Any]) -> Any:
        for attempt in (1, 2):
            token = self.access_token
            try:
                return fn()
            except WeChatClientException as exc:
                if exc.errcode is None:  # raise_for_status: HTTP 4xx/5xx
                    status = getattr(exc.response, "status_code", "?")
                    raise WeChatUnavailable(f"{api}: HTTP {status}") from None
                errcode = int(exc.errcode)
                if errcode in TOKEN_ERRCODES and attempt == 1:
                    log.info("wechat %s answered %s; refreshing the access token", api, errcode)
                    self._drop_token(token)
                    continue
                # APILimitedException (45009) is a WeChatClientException too.
                raise WeChatAPIError(errcode, str(exc.errmsg or "")) from None
            except requests.RequestException as exc:
                raise WeChatUnavailable(f"{api}: {type(exc).__name__}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _post_json(self, api: str, path: str, body: dict, base: str | None = None) -> dict:
        result = self._call(api, lambda: self.post(path, data=body,
                                                   api_base_url=base or self._root_url))
        if not isinstance(result, dict):
            raise WeChatUnavailable(f"{api}: answer is not JSON")
        return result

    def send_template_message(self, touser: str, template_id: str, data: dict,
                              url: str | None = None, miniprogram: dict | None = None,
                              client_msg_id: str | None = None) -> int | None:
        """A template message (the official account's kind); returns WeChat's msgid.
        `client_msg_id` makes WeChat drop a repeat to the same openid within 10 minutes,
        which covers a crash between sending and recording."""
        body = with_optional({"touser": touser, "template_id": template_id, "data": data},
                             url=url, miniprogram=miniprogram, client_msg_id=client_msg_id)
        return self._post_json("template_send", "message/template/send", body,
                               base=self.API_BASE_URL).get("msgid")

    def _get_json(self, api: str, path: str, params: dict) -> dict:
        result = self._call(api, lambda: self.get(path, params=params))
        if not isinstance(result, dict):
            raise WeChatUnavailable(f"{api}: answer is not JSON")
        return result


def with_optional(body: dict, **fields) -> dict:
    """`body` plus those of `fields` that are given: WeChat rejects explicit nulls."""
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


def _json_body(res: requests.Response, api: str) -> dict:
    if res.status_code >= 400:
        raise WeChatUnavailable(f"{api}: HTTP {res.status_code}")
    try:
        # WeChat's Content-Type is unreliable (text/plain at times): parse regardless.
        result = res.json()
    except ValueError:
        raise WeChatUnavailable(f"{api}: answer is not JSON") from None
    if not isinstance(result, dict):
        raise WeChatUnavailable(f"{api}: answer is not a JSON object")
    if "errcode" in result:
        try:
            result["errcode"] = int(result["errcode"])
        except (TypeError, ValueError):
            raise WeChatUnavailable(f"{api}: errcode is not a number") from None
    return result


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
