"""Who a WeChat user is to the apps: an openid per app (mini-program or official
account) and one unionid across the apps bound to the Open Platform account. The user
is any string the tests and the demo choose ("alice"); the ids derived from it are
stable, so a test can compute them without asking the sandbox."""
from __future__ import annotations

import base64
import hashlib
import hmac


def openid_for(appid: str, user: str) -> str:
    """Stable, app-specific openid: "o" + 27 base64url chars, 28 like the real ones."""
    digest = hmac.new(appid.encode(), user.encode(), hashlib.sha256).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def unionid_for(user: str) -> str:
    """One unionid per WeChat user across every app bound to the Open Platform account
    (the sandbox has one): "o" + 27 base64url characters, like real ones."""
    digest = hmac.new(b"open-platform", user.encode(), hashlib.sha256).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]
