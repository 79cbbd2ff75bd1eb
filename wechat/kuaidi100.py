"""快递100 (kuaidi100) client: subscribe a waybill for pushes, check a push's signature,
ask for a waybill's trace now (protocol doc §10).

Its host is not WeChat's; `api_base` points it at poll.kuaidi100.com or at the sandbox,
which imitates the same paths. Failures come out as `Kuaidi100Error` (kuaidi100 answered a
refusal: `return_code`) or `WeChatUnavailable` (nothing usable came back), so the outbox
classifies them like WeChat's. Nothing here logs a body: a trace names people and places.
"""
from __future__ import annotations

import hashlib
import hmac
import json

import requests

from wechat.errors import WeChatError, WeChatUnavailable

# returnCode of /poll (§10.1): 200 accepted, 501 already subscribed (counts as accepted).
SUBSCRIBED = {"200", "501"}
# Refusals that asking again cannot change: bad key, expired key, bad data, carrier refused,
# carrier not recognised.
PERMANENT_CODES = frozenset({"600", "601", "700", "701", "702"})


class Kuaidi100Error(WeChatError):
    """快递100 answered `result: false` with this returnCode."""

    def __init__(self, return_code: str, message: str = ""):
        self.return_code, self.message = str(return_code), str(message or "")[:100]
        super().__init__(f"kuaidi100 returnCode {self.return_code}: {self.message}")

    @property
    def permanent(self) -> bool:
        return self.return_code in PERMANENT_CODES


def md5_upper(text: str) -> str:
    """UPPER(hex(MD5(text))): both of 快递100's signatures (§10.2, §10.3)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def push_signature(param: str, salt: str) -> str:
    """The `sign` of a push: over the raw `param` exactly as received, then the salt."""
    return md5_upper(param + salt)


def push_signed(param: str, sign: str, salt: str) -> bool:
    return hmac.compare_digest(push_signature(param, salt).encode(), (sign or "").upper().encode())


class Kuaidi100Client:
    def __init__(self, key: str, customer: str, api_base: str, timeout: float = 5.0):
        self.key, self.customer = key, customer
        self.api_base, self.timeout = api_base.rstrip("/"), timeout
        self._http = requests.Session()

    def __repr__(self) -> str:  # keep the key out of logs
        return f"<Kuaidi100Client api_base={self.api_base}>"

    def subscribe(self, *, company: str, number: str, callback_url: str, salt: str,
                  phone: str | None = None, to: str | None = None) -> str:
        """Ask for pushes of one waybill. Returns the returnCode ("200", or "501": already
        subscribed, which is as good). An empty `company` lets 快递100 guess (autoCom)."""
        parameters = {"callbackurl": callback_url, "salt": salt, "resultv2": "1"}
        if not company:
            parameters["autoCom"] = "1"
        if phone:
            parameters["phone"] = phone
        param = {"company": company, "number": number, "key": self.key, "parameters": parameters}
        if to:
            param["to"] = to
        answer = self._post("/poll", {"schema": "json", "param": json.dumps(param, ensure_ascii=False)}, "poll")
        code = str(answer.get("returnCode", ""))
        if code in SUBSCRIBED:
            return code
        raise Kuaidi100Error(code or "?", answer.get("message", ""))

    def query(self, *, company: str, number: str, phone: str | None = None) -> dict:
        """The waybill's trace now (§10.3): the `lastResult` shape. A refusal raises."""
        param = {"com": company, "num": number, "resultv2": "1"}
        if phone:
            param["phone"] = phone
        text = json.dumps(param, ensure_ascii=False)
        answer = self._post("/poll/query.do", {"customer": self.customer, "param": text,
                                                "sign": md5_upper(text + self.key + self.customer)}, "query")
        if answer.get("result") is False or "data" not in answer:
            raise Kuaidi100Error(str(answer.get("returnCode", "?")), answer.get("message", ""))
        return answer

    def _post(self, path: str, form: dict, name: str) -> dict:
        try:
            res = self._http.post(self.api_base + path, data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"kuaidi100 {name}: {type(exc).__name__}") from None
        if res.status_code != 200:
            raise WeChatUnavailable(f"kuaidi100 {name}: HTTP {res.status_code}")
        try:
            answer = res.json()
        except ValueError:
            raise WeChatUnavailable(f"kuaidi100 {name}: answer is not JSON") from None
        if not isinstance(answer, dict):
            raise WeChatUnavailable(f"kuaidi100 {name}: answer is not an object")
        return answer
