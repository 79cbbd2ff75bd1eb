"""Card passwords: made by `secrets`, shown once (in the export), stored only as
PBKDF2-HMAC-SHA256 with a per-card salt. A hash records its own iteration count, so a
later, stronger setting never breaks cards already printed."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

SCHEME = "pbkdf2_sha256"
PASSWORD_DIGITS = 16  # ~53 bits: typed on a phone's number pad, printed as 4 groups of 4


def new_password() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PASSWORD_DIGITS))


def normalize(value: str) -> str:
    """What people type: '1234 5678-...' means '12345678...'."""
    return "".join(value.split()).replace("-", "")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str, iterations: int | None = None) -> str:
    iterations = iterations or current_app.config["CARD_PASSWORD_ITERATIONS"]
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def hash_many(passwords: list[str]) -> list[str]:
    """Hash a whole batch. hashlib's PBKDF2 releases the GIL, so threads use the cores."""
    iterations = current_app.config["CARD_PASSWORD_ITERATIONS"]
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: hash_password(p, iterations), passwords))


def verify(stored: str | None, password: str) -> bool:
    """Constant-time check. `stored` None (unknown serial, or no password yet) costs the
    same as a real check and fails, so timing doesn't tell one from the other."""
    if stored is None:
        _dummy()
        return False
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != SCHEME:
            raise ValueError(scheme)
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def _dummy() -> None:
    hashlib.pbkdf2_hmac("sha256", b"no-such-card", b"tihuo-dummy-salt",
                        current_app.config["CARD_PASSWORD_ITERATIONS"])
