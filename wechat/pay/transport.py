"""Signed HTTP to the WeChat Pay API (protocol §4.1–4.3).

- The JSON body is serialized once and those bytes are both signed and sent; the signed
  URL is the prepared request's own `path_url`, so encoding can never diverge.
- 2xx answers go through `verify(headers, raw_body)` before anyone reads them; non-2xx
  answers are not signed by WeChat and are only parsed into WeChatPayError.
- Retries only when the request may not have been processed (connection errors,
  timeouts, HTTP 5xx), with the same body and a fresh timestamp/nonce; never on 4xx.

SECURITY: nothing here logs bodies or URLs; the bill download URL carries a token,
which `_RedactTokenFilter` masks in urllib3's DEBUG request lines.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable, Mapping

import requests
from Crypto.PublicKey import RSA

from wechat.pay.errors import ResponseSignatureInvalid, WeChatPayError, WeChatPayUnavailable
from wechat.pay.signing import authorization, nonce
from wechat.pay.verify import SignatureInvalid

log = logging.getLogger(__name__)

USER_AGENT = "tihuo-wechatpay/1.0 python-requests"
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class _RedactTokenFilter(logging.Filter):
    _TOKEN = re.compile(r"(token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactTokenFilter) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactTokenFilter())


class Transport:
    def __init__(self, *, api_base: str, mchid: str, merchant_serial: str, key: RSA.RsaKey,
                 verify: Callable[[Mapping[str, str], bytes], Any], public_key_id: str | None,
                 timeout: float, retries: int, clock: Callable[[], float], backoff: float,
                 sleep: Callable[[float], None]):
        self.api_base = api_base
        self._mchid, self._serial, self._key = mchid, merchant_serial, key
        self._verify = verify
        self._timeouts = (min(3.0, timeout), timeout)  # (connect, read)
        self.retries = retries
        self._clock, self._backoff, self._sleep = clock, backoff, sleep
        self._session = requests.Session()  # keep-alive to the API host
        self._session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if public_key_id:
            self._session.headers["Wechatpay-Serial"] = public_key_id

    def call(self, api: str, method: str, path: str, *, params: dict | None = None,
             body: dict | None = None, url: str | None = None,
             verify: bool = True) -> requests.Response:
        """`api` names the call in logs and error reasons (never the URL)."""
        data = None if body is None else json.dumps(
            body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        prepared = self._session.prepare_request(requests.Request(
            method, url or self.api_base + path, params=params, data=data, headers=headers))
        settings = self._session.merge_environment_settings(prepared.url, {}, None, None, None)
        attempts, last, status, code = self.retries + 1, "", None, None
        for attempt in range(attempts):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            prepared.headers["Authorization"] = authorization(
                key=self._key, mchid=self._mchid, serial_no=self._serial, method=method,
                url=prepared.path_url, timestamp=str(int(self._clock())), nonce_str=nonce(),
                body=data or b"")
            try:
                res = self._session.send(prepared, timeout=self._timeouts,
                                         allow_redirects=False, **settings)
            except _RETRYABLE as exc:
                last, status, code = type(exc).__name__, None, None
                log.warning("wechat pay %s: %s (attempt %d/%d)", api, last, attempt + 1, attempts)
                continue
            except requests.RequestException as exc:
                raise WeChatPayUnavailable(f"{api}: {type(exc).__name__}") from None
            if res.status_code >= 500:
                status, code = res.status_code, error_fields(res)[0]
                last = f"HTTP {status}" + (f" {code}" if code else "")
                log.warning("wechat pay %s: %s (attempt %d/%d)", api, last, attempt + 1, attempts)
                continue
            if not 200 <= res.status_code < 300:
                code, message, detail = error_fields(res)
                if code is None:
                    raise WeChatPayUnavailable(
                        f"{api}: HTTP {res.status_code} without an error body", status=res.status_code)
                log.info("wechat pay %s: HTTP %s %s", api, res.status_code, code)
                raise WeChatPayError(res.status_code, code, message, detail)
            if verify:
                try:
                    self._verify(res.headers, res.content)
                except SignatureInvalid as exc:
                    log.warning("wechat pay %s: answer rejected: %s", api, exc.reason)
                    raise ResponseSignatureInvalid(f"{api}: {exc.reason}") from None
            return res
        raise WeChatPayUnavailable(f"{api}: {last} after {attempts} attempt(s)",
                                   status=status, code=code)


def json_object(api: str, res: requests.Response) -> dict:
    try:
        data = json.loads(res.content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise WeChatPayUnavailable(f"{api}: answer is not a JSON object")
    return data


def error_fields(res: requests.Response) -> tuple[str | None, str, Any]:
    """(code, message, detail) of an error answer; code None if it is not one."""
    try:
        data = json.loads(res.content)
    except ValueError:
        return None, "", None
    if not isinstance(data, dict) or not isinstance(data.get("code"), str):
        return None, "", None
    return data["code"], str(data.get("message") or ""), data.get("detail")
