"""In-memory state of the sandbox: apps, tokens, one-time codes, grants, and records of
everything the backend sent. One lock guards it all; the server is threaded.

Time comes from `now()`, which tests can move forward with `advance()` to expire
tokens and codes without sleeping (and without touching the client's Redis TTLs).

It holds the WeChat Pay side (`pay/state.py`) as `.pay` and the official accounts
(`official/state.py`) as `.official`, both on this clock; neither imports this module."""
from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from wechat.sandbox.errors import SandboxError
from wechat.sandbox.failures import InjectedFailures
from wechat.sandbox.identity import openid_for
from wechat.sandbox.kuaidi100.state import Kuaidi100Sandbox
from wechat.sandbox.official.state import OfficialSandbox
from wechat.sandbox.pay.state import PaySandbox

DEFAULT_TEMPLATES = {
    "TPL_ORDER_PAID": ["character_string1", "amount2", "thing3", "time4"],
    "TPL_PICKUP_READY": ["character_string1", "thing2", "phrase3", "time4"],
    "TPL_ORDER_CANCELLED": ["character_string1", "thing2", "time3"],
    "TPL_REFUND": ["character_string1", "amount2", "thing3", "time4"],
    "TPL_PICKED_UP": ["character_string1", "thing2", "phrase3", "time4"],
    "TPL_PICKUP_EXPIRING": ["character_string1", "thing2", "time3", "thing4"],
    "TPL_ORDER_SHIPPED": ["character_string1", "thing2", "character_string3", "time4"],
    "TPL_PARCEL_UPDATE": ["character_string1", "thing2", "character_string3", "phrase4", "time5"],
    "TPL_POINTS_EXPIRING": ["number1", "time2", "thing3"],
    "TPL_INVITE_REWARD": ["number1", "thing2", "time3", "thing4"],
    "TPL_CAMPAIGN": ["thing1", "thing2", "time3"],
}
DEFAULT_PAGES = ["pages/index/index", "pages/order/detail", "pages/order/list",
                 "pages/staff/verify", "pages/me/points", "pages/me/invitation"]
CODE_TTL = 300  # wx.login and phone codes live 5 minutes
FORCE_REFRESH_INTERVAL = 30
_BAD_SECRET_MSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40125: "invalid appsecret",
}


@dataclass
class _Token:
    appid: str
    kind: str  # "token" (/cgi-bin/token) or "stable" (/cgi-bin/stable_token)
    expires_at: float
    revoked: bool = False


@dataclass
class _Code:
    kind: str  # "login" or "phone"
    appid: str
    issued_at: float
    openid: str | None = None
    user: str | None = None
    phone: str | None = None
    country_code: str | None = None
    used: bool = False


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"


class SandboxState(InjectedFailures):
    def __init__(self, apps: dict[str, str], token_ttl: int = 7200,
                 templates: dict | None = None, pages: list[str] | None = None,
                 oa_templates: list[str] | None = None, refresh_window: int | None = None,
                 pay: PaySandbox | None = None, official: OfficialSandbox | None = None,
                 kuaidi100: Kuaidi100Sandbox | None = None):
        if not apps:
            raise ValueError("the sandbox needs at least one app (appid → secret)")
        self.apps = dict(apps)
        self.token_ttl = int(token_ttl)
        # stable_token normal mode hands out a new token this long before expiry.
        self.refresh_window = (min(300, self.token_ttl // 24) if refresh_window is None
                               else refresh_window)
        # template_id → {keyword: enum choices or None}
        self.templates = {tid: _keywords(kws)
                          for tid, kws in (templates or DEFAULT_TEMPLATES).items()}
        self.pages = list(DEFAULT_PAGES if pages is None else pages)
        self.oa_templates = None if oa_templates is None else set(oa_templates)
        self._lock = threading.RLock()
        # The WeChat Pay side (merchants, transactions, notifications) on this clock.
        self.pay = pay if pay is not None else PaySandbox()
        self.pay.now = self.now
        # The official accounts (server URL, followers, QR codes) on this clock too.
        self.official = official if official is not None else OfficialSandbox()
        self.official.now = self.now
        # 快递100 (not WeChat, but imitated here too: subscriptions, pushes, queries).
        self.kuaidi100 = kuaidi100 if kuaidi100 is not None else Kuaidi100Sandbox()
        self.kuaidi100.now = self.now
        self.reset()

    def reset(self) -> None:
        """Forget everything issued and recorded; keep the configuration."""
        with self._lock:
            self._offset = 0.0
            self._tokens: dict[str, _Token] = {}
            self._plain: dict[str, str] = {}   # appid → latest /cgi-bin/token token
            self._stable: dict[str, str] = {}  # appid → latest stable token
            self._last_force: dict[str, float] = {}
            self._codes: dict[str, _Code] = {}
            self._known: dict[str, set[str]] = {a: set() for a in self.apps}
            self._session_keys: dict[tuple[str, str], str] = {}  # never exposed
            self._grants: dict[tuple[str, str], int] = {}
            self._dedup: dict[tuple[str, str], tuple[int, float]] = {}
            self.messages: list[dict] = []
            self.shipping_uploads: list[dict] = []
            self.waybills: list[dict] = []        # trace_waybill registrations (§9.2)
            self.confirm_receives: list[dict] = []  # notify_confirm_receive calls accepted (§9.4)
            self.wxacodes: list[dict] = []
            self.calls: list[dict] = []
            self._failures: list[dict] = []
        self.pay.reset()
        self.official.reset()
        self.kuaidi100.reset()

    # -- clock ----------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    # -- apps and tokens ------------------------------------------------------------

    def default_appid(self) -> str:
        return next(iter(self.apps))

    def check_app(self, appid, secret, bad_secret_errcode: int) -> None:
        if appid not in self.apps:
            raise SandboxError(40013, "invalid appid")
        expected = self.apps[appid].encode()
        if not secret or not hmac.compare_digest(str(secret).encode(), expected):
            raise SandboxError(bad_secret_errcode, _BAD_SECRET_MSG[bad_secret_errcode])

    def issue_token(self, appid: str) -> tuple[str, int]:
        """/cgi-bin/token: a new token revokes the previous one of this endpoint."""
        with self._lock:
            old = self._plain.get(appid)
            if old:
                self._tokens[old].revoked = True
            value = self._new_token(appid, "token")
            self._plain[appid] = value
            return value, self.token_ttl

    def stable_token(self, appid: str, force_refresh: bool) -> tuple[str, int]:
        with self._lock:
            now = self.now()
            current = self._tokens.get(self._stable.get(appid, ""))
            if force_refresh:
                last = self._last_force.get(appid)
                if last is not None and now - last < FORCE_REFRESH_INTERVAL:
                    # UNCONFIRMED errcode: the docs state the 30 s spacing, not its error.
                    raise SandboxError(45009, "reach max api daily quota limit")
                self._last_force[appid] = now
                for tok in self._tokens.values():  # force mode invalidates the old token
                    if tok.appid == appid and tok.kind == "stable":
                        tok.revoked = True
            elif current and not current.revoked and current.expires_at - now > self.refresh_window:
                return self._stable[appid], int(current.expires_at - now)
            # Normal mode near expiry: a new token, the old one stays valid till it expires.
            value = self._new_token(appid, "stable")
            self._stable[appid] = value
            return value, self.token_ttl

    def _new_token(self, appid: str, kind: str) -> str:
        value = secrets.token_urlsafe(64)
        self._tokens[value] = _Token(appid, kind, self.now() + self.token_ttl)
        return value

    def check_token(self, value: str | None) -> str:
        """The appid the token belongs to, or the errors every business endpoint gives."""
        if not value:
            raise SandboxError(41001, "access_token missing")
        with self._lock:
            tok = self._tokens.get(value)
            if tok is None or tok.revoked:
                raise SandboxError(40001, _BAD_SECRET_MSG[40001])
            if self.now() >= tok.expires_at:
                raise SandboxError(42001, "access_token expired")
            return tok.appid

    # -- one-time codes -------------------------------------------------------------

    def issue_login_code(self, appid: str, user: str) -> tuple[str, str]:
        with self._lock:
            code = secrets.token_urlsafe(24)
            openid = openid_for(appid, user)
            self._codes[code] = _Code("login", appid, self.now(), openid=openid, user=user)
            self._known[appid].add(openid)
            return code, openid

    def issue_phone_code(self, appid: str, phone: str, country_code: str) -> str:
        with self._lock:
            code = secrets.token_hex(32)
            self._codes[code] = _Code("phone", appid, self.now(), phone=phone,
                                      country_code=country_code)
            return code

    def _redeem(self, kind: str, appid: str, code) -> _Code:
        c = self._codes.get(code) if isinstance(code, str) else None
        if (c is None or c.kind != kind or c.appid != appid or c.used
                or self.now() - c.issued_at > CODE_TTL):
            raise SandboxError(40029, "invalid code")
        c.used = True
        return c

    def redeem_login_code(self, appid: str, code) -> tuple[str, str, str | None]:
        """(openid, session_key, unionid); a fresh session_key on every login, like
        WeChat; a unionid only for apps bound to the Open Platform account."""
        with self._lock:
            c = self._redeem("login", appid, code)
            session_key = base64.b64encode(secrets.token_bytes(16)).decode()
            self._session_keys[(appid, c.openid)] = session_key
            return c.openid, session_key, self.official.unionid_of(appid, c.user)

    def redeem_phone_code(self, appid: str, code) -> tuple[str, str]:
        with self._lock:
            c = self._redeem("phone", appid, code)
            return c.phone, c.country_code

    def codes(self) -> list[dict]:
        with self._lock:
            now = self.now()
            out = []
            for code, c in self._codes.items():
                item = {"code": code, "kind": c.kind, "appid": c.appid, "used": c.used,
                        "expired": now - c.issued_at > CODE_TTL, "issued_at": int(c.issued_at)}
                if c.kind == "login":
                    item["openid"] = c.openid
                else:
                    item["phone_masked"] = mask_phone(c.phone)
                out.append(item)
            return out

    # -- users and subscribe grants -------------------------------------------------

    def is_known_openid(self, appid: str, openid) -> bool:
        with self._lock:
            return isinstance(openid, str) and openid in self._known.get(appid, ())

    def grant(self, appid: str, openid: str, template_id: str, count: int = 1) -> int:
        """The user accepted wx.requestSubscribeMessage `count` times (so they use the
        app: their openid becomes known)."""
        with self._lock:
            self._known[appid].add(openid)
            key = (openid, template_id)
            self._grants[key] = self._grants.get(key, 0) + count
            return self._grants[key]

    def consume_grant(self, openid: str, template_id: str) -> bool:
        with self._lock:
            key = (openid, template_id)
            if self._grants.get(key, 0) <= 0:
                return False
            self._grants[key] -= 1
            return True

    def grants(self, openid: str | None = None) -> list[dict]:
        with self._lock:
            return [{"openid": o, "template_id": t, "remaining": n}
                    for (o, t), n in self._grants.items() if openid in (None, o)]

    # -- records --------------------------------------------------------------------

    def record_message(self, kind: str, appid: str, body: dict) -> int:
        with self._lock:
            msgid = secrets.randbelow(2 ** 62) + 2 ** 60  # large, like 1988810812324364291
            self.messages.append({"kind": kind, "appid": appid, "msgid": msgid,
                                  "sent_at": int(self.now()), **body})
            return msgid

    def dedup_template(self, touser: str, client_msg_id: str) -> int | None:
        """msgid of the same client_msg_id sent to touser in the last 10 minutes."""
        with self._lock:
            hit = self._dedup.get((touser, client_msg_id))
            return hit[0] if hit and self.now() - hit[1] < 600 else None

    def remember_template(self, touser: str, client_msg_id: str, msgid: int) -> None:
        with self._lock:
            self._dedup[(touser, client_msg_id)] = (msgid, self.now())

    def record(self, kind: str, item: dict) -> None:
        with self._lock:
            getattr(self, kind).append({**item, "at": int(self.now())})

    def call_count(self, path: str, errcode: int | None = None) -> int:
        with self._lock:
            return sum(1 for c in self.calls
                       if c["path"] == path and errcode in (None, c["errcode"]))


def _keywords(kws) -> dict:
    if isinstance(kws, dict):
        return {k: (list(v) if v is not None else None) for k, v in kws.items()}
    return {k: None for k in kws}
