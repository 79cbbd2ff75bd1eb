"""快递100's subscriptions and traces, in memory, and building a push exactly as 快递100
sends one (`param` JSON + `sign = UPPER(MD5(param + salt))`, form-encoded).

Written apart from `wechat/kuaidi100.py` (the client): hashlib only, so the two check
each other. Time comes from the host sandbox's clock (`now`)."""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))
DEFAULT_KEYS = {"sandboxKuaidi100Key": "SANDBOXCUSTOMER0000000000000000"}  # key → customer
# Lower-case company codes the sandbox knows (a real account knows hundreds).
COMPANIES = frozenset({"shunfeng", "shunfengkuaiyun", "yuantong", "zhongtong", "shentong", "yunda", "ems",
                       "jd", "jtexpress", "debangwuliu", "youzhengguonei", "huitongkuaidi"})
# What autoCom guesses from a number's prefix (UNCONFIRMED: 快递100's own rules are private).
GUESSES = (("SF", "shunfeng"), ("YT", "yuantong"), ("ZT", "zhongtong"), ("JT", "jtexpress"),
           ("JD", "jd"), ("E", "ems"))
STATE_NAMES = {0: "在途", 1: "揽收", 2: "疑难", 3: "签收", 4: "退签", 5: "派件", 6: "退回", 7: "转投",
               8: "清关", 10: "待清关", 11: "清关中", 12: "已清关", 13: "清关异常", 14: "拒签"}
RESUBSCRIBE_WAIT_S = 1800  # after an abort, a new subscription is taken ~30 min later (§10.2)


def sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()


@dataclass
class Subscription:
    company: str
    number: str
    key: str
    callbackurl: str
    salt: str | None
    phone: str | None
    resultv2: str | None
    status: str = "polling"  # polling | shutdown | abort
    subscribed_at: float = 0.0
    aborted_at: float | None = None
    trace: list = field(default_factory=list)  # newest first, as pushed
    state: int | None = None
    pushes: int = 0

    def public(self) -> dict:
        return {"company": self.company, "number": self.number, "callbackurl": self.callbackurl,
                "salt": self.salt, "phone_given": bool(self.phone), "status": self.status,
                "subscribed_at": int(self.subscribed_at), "state": self.state, "pushes": self.pushes,
                "events": len(self.trace)}


class Kuaidi100Sandbox:
    def __init__(self, keys: dict[str, str] | None = None, any_host: bool = False,
                 sender=None, timeout: float = 5.0):
        self.keys = dict(DEFAULT_KEYS if keys is None else keys)
        self.any_host, self.timeout = any_host, timeout
        # sender(url, form: dict) -> (status, text); default: a real HTTP POST.
        self.sender = sender
        self.now = time.time
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.subs: dict[str, Subscription] = {}  # by number (one carrier per number here)
            self.held: dict[str, dict] = {}          # pushes built and kept back (reordering)
            self.deliveries: list[dict] = []
            self.queries: list[dict] = []

    # -- the API ---------------------------------------------------------------------------

    def subscribe(self, form: dict) -> dict:
        """`POST /poll`: the answer object (§10.1)."""
        if form.get("schema", "json") != "json":
            return _refuse("700", "schema必须为json")
        try:
            param = json.loads(form.get("param") or "")
        except ValueError:
            return _refuse("700", "param格式错误")
        if not isinstance(param, dict):
            return _refuse("700", "param格式错误")
        key, company, number = param.get("key"), param.get("company") or "", param.get("number")
        parameters = param.get("parameters") or {}
        if not isinstance(parameters, dict):
            return _refuse("700", "parameters格式错误")
        if key not in self.keys:
            return _refuse("600", "您不是合法的订阅者（即授权Key出错）")
        if not isinstance(number, str) or not 1 <= len(number) <= 32:
            return _refuse("700", "订阅参数错误：单号不能为空或过长")
        callback = parameters.get("callbackurl")
        if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
            return _refuse("700", "订阅参数错误：回调地址不合法")
        if not company:
            if parameters.get("autoCom") != "1":
                return _refuse("700", "订阅参数错误：公司编码不能为空")
            company = next((com for prefix, com in GUESSES if number.upper().startswith(prefix)), None)
            if company is None:
                return _refuse("702", "识别不到该单号对应的快递公司")
        if company != company.lower() or company not in COMPANIES:
            return _refuse("700", "订阅参数错误：不支持的快递公司编码")
        with self._lock:
            sub = self.subs.get(number)
            if sub is not None and sub.status == "polling":
                return _refuse("501", "重复订阅")
            if sub is not None and sub.status == "abort" and self.now() - (sub.aborted_at or 0) < RESUBSCRIBE_WAIT_S:
                return _refuse("501", "重复订阅")
            trace = sub.trace if sub is not None and sub.company == company else []
            self.subs[number] = Subscription(company, number, key, callback, parameters.get("salt"),
                                             parameters.get("phone"), parameters.get("resultv2"),
                                             subscribed_at=self.now(), trace=trace,
                                             state=sub.state if trace else None)
        return {"result": True, "returnCode": "200", "message": "提交成功"}

    def query(self, form: dict) -> dict:
        """`POST /poll/query.do`: the trace now (§10.3)."""
        customer, text, signature = form.get("customer"), form.get("param") or "", form.get("sign") or ""
        key = next((k for k, c in self.keys.items() if c == customer), None)
        if key is None:
            return _refuse("601", "客户授权信息错误")
        if signature.upper() != hashlib.md5((text + key + customer).encode()).hexdigest().upper() \
                or signature != signature.upper():
            return _refuse("400", "签名错误")
        try:
            param = json.loads(text)
        except ValueError:
            return _refuse("400", "参数错误")
        with self._lock:
            self.queries.append({"num": param.get("num"), "com": param.get("com"), "at": int(self.now())})
            sub = self.subs.get(param.get("num"))
            if sub is None or not sub.trace or (param.get("com") and param.get("com") != sub.company):
                return _refuse("500", "查询无结果，请隔段时间再查")
            return {"message": "ok", "nu": sub.number, "ischeck": "1" if sub.state == 3 else "0",
                    "com": sub.company, "status": "200", "state": str(sub.state), "condition": "F00",
                    "data": [dict(node) for node in sub.trace]}

    # -- playing the carrier ---------------------------------------------------------------

    def add_event(self, number: str, *, state: int, context: str | None = None, at: float | None = None,
                  area: str | None = None) -> dict:
        with self._lock:
            sub = self._sub(number)
            when = datetime.fromtimestamp(self.now() if at is None else at, CHINA).strftime("%Y-%m-%d %H:%M:%S")
            node = {"context": context or f"【{area or '上海市'}】快件{STATE_NAMES.get(state, '在途')}", "time": when,
                    "ftime": when, "status": STATE_NAMES.get(state, "在途")}
            if sub.resultv2:
                node.update(areaCode="310000000000", areaName=area or "上海市", statusCode=str(state))
            sub.trace.insert(0, node)
            sub.trace.sort(key=lambda n: n["ftime"], reverse=True)
            sub.state = state
            return node

    def build_push(self, number: str, *, status: str | None = None, message: str = "",
                   forge: bool = False, tamper: bool = False, com_new: str | None = None,
                   auto_check: str | None = None) -> dict:
        """A push of the trace as it stands: {"url", "form"} ready to send."""
        with self._lock:
            sub = self._sub(number)
            if status is None:
                status = "shutdown" if sub.state in (3, 4) else "polling"
            last = {"message": "ok", "state": str(sub.state if sub.state is not None else 0), "status": "200",
                    "condition": "F00", "ischeck": "1" if sub.state == 3 else "0", "com": sub.company,
                    "nu": sub.number, "data": [dict(node) for node in sub.trace]}
            param = {"status": status, "billstatus": "got" if sub.trace else "", "message": message,
                     "autoCheck": auto_check or "0", "comOld": "", "comNew": com_new or "", "lastResult": last}
            if status == "abort":
                sub.status, sub.aborted_at = "abort", self.now()
            elif status == "shutdown":
                sub.status = "shutdown"
            text = json.dumps(param, ensure_ascii=False)
            signature = sign(text, ("not-" + sub.salt) if forge else (sub.salt or ""))
            if tamper:  # changed on the way, after it was signed: a "signed" node slipped in
                forged = json.loads(text)
                forged["lastResult"].update(state="3", ischeck="1")
                forged["lastResult"]["data"].insert(0, {"context": "已签收", "time": "2099-01-01 00:00:00",
                                                        "ftime": "2099-01-01 00:00:00", "status": "签收"})
                text = json.dumps(forged, ensure_ascii=False)
            form = {"param": text} if sub.salt is None else {"param": text, "sign": signature}
            sub.pushes += 1
            return {"url": sub.callbackurl, "form": form, "number": number}

    def hold(self, push: dict) -> str:
        push_id = secrets.token_hex(6)
        with self._lock:
            self.held[push_id] = push
        return push_id

    def release(self, push_id: str) -> dict | None:
        with self._lock:
            push = self.held.pop(push_id, None)
        return None if push is None else self.send(push)

    def send(self, push: dict) -> dict:
        """POST the push to its callback URL; what the server answered."""
        url, form = push["url"], push["form"]
        started = time.time()
        try:
            status, text = (self.sender or self._http_send)(url, form)
        except Exception as exc:  # noqa: BLE001 - recorded, as 快递100 would (and re-push later)
            status, text = None, f"{type(exc).__name__}"
        try:
            answer = json.loads(text) if text else None
        except ValueError:
            answer = None
        accepted = status == 200 and isinstance(answer, dict) and answer.get("result") is True \
            and str(answer.get("returnCode")) == "200"
        record = {"number": push["number"], "status_code": status, "answer": answer, "accepted": accepted,
                  "elapsed_ms": int((time.time() - started) * 1000), "at": int(self.now())}
        with self._lock:
            self.deliveries.append(record)
        return record

    def _http_send(self, url: str, form: dict) -> tuple[int, str]:
        import requests
        from urllib.parse import urlsplit

        if not self.any_host and urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConnectionRefusedError("the sandbox pushes to loopback only")
        res = requests.post(url, data=form, timeout=self.timeout)
        return res.status_code, res.text

    def _sub(self, number: str) -> Subscription:
        sub = self.subs.get(number)
        if sub is None:
            raise KeyError(number)
        return sub

    def subscriptions(self) -> list[dict]:
        with self._lock:
            return [s.public() for s in self.subs.values()]


def _refuse(code: str, message: str) -> dict:
    return {"result": False, "returnCode": code, "message": message}
