"""The forms a pickup code takes, and reading back what a clerk presents.

- V1: the 12 digits (typed in, or a QR of them).
- V2: `TH2:<order_no>:<version>:<sig>`, sig = HMAC(qr key, order, code version): a static
  QR that cannot be typed from the digits or altered.
- V3: `TH3:<order_no>:<version>:<window>:<sig>`, window = unix time // 30 s, signed the
  same way with the window in: it changes every 30 s and is accepted one window either
  side, so a screenshot goes stale within a minute.
- A mini-program code's scene: `pk=` + 24 random characters (≤ 32 as WeChat requires),
  looked up by its HMAC; it names neither the order nor the code.

Everything upper-case with `:` fits a QR's alphanumeric mode (a smaller, quicker QR).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from app.crypto import cipher

WINDOW_S = 30
CODE_DIGITS = 12
SCENE_PREFIX = "pk="
_CODE = re.compile(r"^[0-9]{12}$")
_SIGNED = re.compile(r"^TH([23]):([A-Za-z0-9_-]{6,32}):([0-9]{1,6}):(?:([0-9]{1,12}):)?([0-9A-F]{32})$")
_SCENE = re.compile(r"^pk=[A-Za-z0-9_-]{24}$")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _mac(purpose: str, message: str) -> bytes:
    return _hmac(cipher().subkey(purpose), message)


def _macs(purpose: str, message: str) -> list[bytes]:
    """`_mac` under each configured key (app/crypto.py, a key rotation), the current first."""
    return [_hmac(key, message) for key in cipher().subkeys(purpose)]


# --- the 12 digits ------------------------------------------------------------------------

def new_seed() -> str:
    return secrets.token_hex(16)


def digits(seed: str) -> str:
    """The code of a seed: HMAC(code key, seed) as 12 digits (bias below 10⁻⁶⁵)."""
    return str(int.from_bytes(_mac("pickup-code-v1", seed), "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def code_hash(code: str) -> str:
    return _mac("pickup-code-lookup-v1", code).hex()


def code_hashes(code: str) -> list[str]:
    """What a typed code is looked up by: during a key rotation a code issued under the
    previous key is still found."""
    return [mac.hex() for mac in _macs("pickup-code-lookup-v1", code)]


def shown_digits(seed: str, stored_hash: str) -> str:
    """The digits of a code as issued: those of the key whose hash is stored (a code
    issued before a key rotation keeps its digits until `flask keys rotate-fields` redoes
    it; then the shopper's page shows the new ones)."""
    for code_key, lookup_key in zip(cipher().subkeys("pickup-code-v1"), cipher().subkeys("pickup-code-lookup-v1")):
        found = str(int.from_bytes(_hmac(code_key, seed), "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)
        if hmac.compare_digest(_hmac(lookup_key, found).hex(), stored_hash or ""):
            return found
    return digits(seed)


# --- QR payloads ------------------------------------------------------------------------

def _sig(level: int, order_no: str, version: int, window: int | None) -> str:
    return _sigs(level, order_no, version, window)[0]


def _sigs(level: int, order_no: str, version: int, window: int | None) -> list[str]:
    message = f"V{level}|{order_no}|{version}" + (f"|{window}" if level == 3 else "")
    return [mac[:16].hex().upper() for mac in _macs("pickup-qr-v1", message)]


def current_window(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // WINDOW_S)


def refresh_in_s(now: float | None = None) -> int:
    now = time.time() if now is None else now
    return max(1, int(WINDOW_S - now % WINDOW_S + 0.999))


def signed_payload(level: int, order_no: str, version: int, now: float | None = None) -> str:
    if level == 3:
        window = current_window(now)
        return f"TH3:{order_no}:{version}:{window}:{_sig(3, order_no, version, window)}"
    return f"TH2:{order_no}:{version}:{_sig(2, order_no, version, None)}"


def new_scene() -> str:
    return SCENE_PREFIX + secrets.token_urlsafe(18)


def scene_hash(scene: str) -> str:
    return _mac("pickup-scene-v1", scene).hex()


def scene_hashes(scene: str) -> list[str]:
    return [mac.hex() for mac in _macs("pickup-scene-v1", scene)]


# --- what a clerk presents --------------------------------------------------------------

@dataclass(frozen=True)
class Presented:
    """A code or payload as read, before anything is looked up. `form` is one of
    code (12 digits), v2, v3, scene; `order_no` is named by signed payloads only."""

    form: str
    level: int                  # the highest order level this form may verify
    code: str | None = None
    order_no: str | None = None
    version: int | None = None
    window: int | None = None
    sig: str | None = None
    scene: str | None = None

    @property
    def signature_ok(self) -> bool:
        return any(hmac.compare_digest(expected, self.sig)
                   for expected in _sigs(self.level, self.order_no, self.version, self.window))

    def is_stale(self, now: float | None = None) -> bool:
        return self.form == "v3" and abs(current_window(now) - self.window) > 1


def parse(code: str | None, qr_payload: str | None) -> Presented | None:
    """None when it is none of the forms (answered like an unknown code)."""
    if code is not None:
        return Presented("code", 1, code=code) if _CODE.match(code) else None
    value = (qr_payload or "").strip()
    if _CODE.match(value):
        return Presented("code", 1, code=value)
    if _SCENE.match(value):
        return Presented("scene", 2, scene=value)
    m = _SIGNED.match(value)
    if m is None:
        return None
    level, order_no, version, window, sig = m.groups()
    if (level == "3") != (window is not None):
        return None
    return Presented(f"v{level}", int(level), order_no=order_no, version=int(version),
                     window=int(window) if window else None, sig=sig)
