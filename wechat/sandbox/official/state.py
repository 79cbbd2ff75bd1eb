"""The official-account side of the sandbox: accounts (with their server URL, token,
EncodingAESKey and message mode), followers (OA openid ↔ unionid), temporary QR codes
with their scenes, and a record of every message pushed to the server URL.

The sandbox state's clock drives QR expiry; `SandboxState` attaches `now`."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field

from wechat.sandbox.errors import SandboxError
from wechat.sandbox.identity import openid_for, unionid_for

MODES = ("plain", "compat", "safe")  # 明文, 兼容, 安全 in the MP console
MAX_EXPIRE_S = 2_592_000             # temporary QR codes: at most 30 days
DEFAULT_EXPIRE_S = 30                # WeChat's default when expire_seconds is absent
_SCENE_ACTIONS = {"QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}


@dataclass
class OfficialAccount:
    appid: str
    token: str                       # the server-URL token set in the MP console
    aes_key: str | None = None       # EncodingAESKey (43 chars); needed for compat/safe
    server_url: str | None = None    # where messages are pushed (our /wechat/official)
    mode: str = "plain"
    # template_id → keywords (typed ones like thing1 are checked); None: any template.
    templates: dict[str, list[str]] | None = None
    original_id: str = ""            # gh_…: ToUserName of pushed messages

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.mode != "plain" and not self.aes_key:
            raise ValueError("compat and safe mode need an EncodingAESKey")
        if not self.original_id:
            self.original_id = "gh_" + hashlib.sha1(self.appid.encode()).hexdigest()[:12]


@dataclass
class Follower:
    appid: str
    openid: str
    user: str
    unionid: str | None
    subscribed: bool = True
    subscribe_time: int = 0
    qr_scene_str: str = ""
    extra: dict = field(default_factory=dict)


class OfficialSandbox:
    def __init__(self, accounts: list[OfficialAccount] | None = None,
                 unionid_apps: set[str] | None = None):
        self.accounts: dict[str, OfficialAccount] = {a.appid: a for a in accounts or ()}
        # Apps bound to the Open Platform account: their users have a unionid.
        self.unionid_apps = set(unionid_apps or ())
        self.now = time.time
        # Replaces the HTTP POST of a push: sender(url, params, body) -> (status, text).
        self.push_sender = None
        self.push_timeout = 5.0
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.followers: dict[tuple[str, str], Follower] = {}
            self.qrcodes: dict[str, dict] = {}
            self.pushes: list[dict] = []

    def add_account(self, account: OfficialAccount) -> None:
        self.accounts[account.appid] = account

    def account(self, appid: str | None) -> OfficialAccount:
        if appid is None and len(self.accounts) == 1:
            return next(iter(self.accounts.values()))
        if appid not in self.accounts:
            raise KeyError("unknown official account")
        return self.accounts[appid]

    def require_account(self, appid: str) -> OfficialAccount:
        """The business endpoints' check: an OA-only API called with a non-OA token."""
        if appid not in self.accounts:
            raise SandboxError(48001, "api unauthorized")
        return self.accounts[appid]

    # -- followers ------------------------------------------------------------------

    def unionid_of(self, appid: str, user: str) -> str | None:
        return unionid_for(user) if appid in self.unionid_apps else None

    def follow(self, appid: str, user: str, scene: str = "") -> tuple[Follower, bool]:
        """(follower, newly subscribed). Following again after unfollowing keeps the openid."""
        openid = openid_for(appid, user)
        with self._lock:
            f = self.followers.get((appid, openid))
            if f is not None and f.subscribed:
                return f, False
            if f is None:
                f = Follower(appid, openid, user, self.unionid_of(appid, user))
                self.followers[(appid, openid)] = f
            f.subscribed, f.subscribe_time, f.qr_scene_str = True, int(self.now()), scene
            return f, True

    def unfollow(self, appid: str, openid: str) -> Follower:
        with self._lock:
            f = self.followers.get((appid, openid))
            if f is None:
                raise KeyError("not a follower")
            f.subscribed = False
            return f

    def follower(self, appid: str, openid) -> Follower | None:
        with self._lock:
            return self.followers.get((appid, openid)) if isinstance(openid, str) else None

    def user_info(self, appid: str, openid) -> dict:
        """cgi-bin/user/info: someone who never followed is 40003; someone who left
        gets only subscribe=0, openid (and unionid)."""
        f = self.follower(appid, openid)
        if f is None:
            raise SandboxError(40003, "invalid openid")
        out = {"subscribe": 1 if f.subscribed else 0, "openid": f.openid}
        if f.subscribed:
            out.update({"language": "zh_CN", "subscribe_time": f.subscribe_time, "remark": "",
                        "groupid": 0, "tagid_list": [],
                        "subscribe_scene": "ADD_SCENE_QR_CODE" if f.qr_scene_str
                        else "ADD_SCENE_SEARCH",
                        "qr_scene": 0, "qr_scene_str": f.qr_scene_str})
        if f.unionid:
            out["unionid"] = f.unionid
        return out

    # -- QR codes -------------------------------------------------------------------

    def create_qrcode(self, appid: str, body: dict) -> dict:
        # The errcodes for bad arguments are our assumption (UNCONFIRMED): 40052
        # invalid action name, 40053 invalid action info.
        action = body.get("action_name")
        if action not in _SCENE_ACTIONS:
            raise SandboxError(40052, "invalid action name")
        scene = (body.get("action_info") or {}).get("scene") if isinstance(
            body.get("action_info"), dict) else None
        if not isinstance(scene, dict):
            raise SandboxError(40053, "invalid action info")
        temporary = action in ("QR_SCENE", "QR_STR_SCENE")
        if action.endswith("STR_SCENE"):
            value = scene.get("scene_str")
            if not isinstance(value, str) or not 1 <= len(value) <= 64:
                raise SandboxError(40053, "invalid action info")
        else:
            value = scene.get("scene_id")
            limit = 2 ** 32 - 1 if temporary else 100_000
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                raise SandboxError(40053, "invalid action info")
            value = str(value)
        expire = None
        if temporary:
            expire = body.get("expire_seconds", DEFAULT_EXPIRE_S)
            if isinstance(expire, bool) or not isinstance(expire, int) or expire < 1:
                raise SandboxError(40053, "invalid action info")
            expire = min(expire, MAX_EXPIRE_S)
        ticket = "gQ" + secrets.token_urlsafe(48)
        url = "http://weixin.qq.com/q/" + secrets.token_urlsafe(16)
        now = self.now()
        with self._lock:
            self.qrcodes[ticket] = {
                "ticket": ticket, "appid": appid, "action_name": action, "scene": value,
                "url": url, "expire_seconds": expire, "created_at": int(now),
                "expires_at": int(now + expire) if expire else None, "scans": []}
        out = {"ticket": ticket, "url": url}
        if expire:
            out["expire_seconds"] = expire
        return out

    def qrcode(self, ticket) -> dict | None:
        with self._lock:
            return self.qrcodes.get(ticket) if isinstance(ticket, str) else None

    def qrcode_expired(self, qr: dict) -> bool:
        return qr["expires_at"] is not None and self.now() >= qr["expires_at"]

    def list_qrcodes(self) -> list[dict]:
        with self._lock:
            now = self.now()
            return [{**qr, "scans": list(qr["scans"]),
                     "expired": qr["expires_at"] is not None and now >= qr["expires_at"]}
                    for qr in self.qrcodes.values()]

    def record_push(self, item: dict) -> None:
        with self._lock:
            self.pushes.append({**item, "at": int(self.now())})

