"""Session tokens: opaque, revocable, with a TTL, kept in Redis.

A token is 256 random bits; Redis keeps only its SHA-256, so a Redis dump cannot be
replayed as a login. The session's value is `kind:id`, for staff followed by the claims
that authorize them (`models.staff.principal.StaffPrincipal`), so a staff request needs no
query to know who may do what. Which routes need which session: handlers/access.py.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta, timezone

from flask import current_app

from app.extensions import rds

_KEY = "session:{}"
INVALID = "The token is missing, invalid or expired."
_INDEX = "sessions:{}:{}"


def _key(token: str) -> str:
    return _KEY.format(hashlib.sha256(token.encode()).hexdigest())


def issue_token(kind: str, principal_id: int, ttl_s: int, claims: str = "") -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    key, index = _key(token), _INDEX.format(kind, principal_id)
    now = time.time()
    # One round trip, not a MULTI: the token and its principal's index are in different
    # slots on a Redis Cluster. Either may land without the other only when the call
    # fails, and then the token is never handed out: an index entry without its key is
    # pruned, a key without an index entry expires unused.
    pipe = rds().pipeline(transaction=False)
    pipe.set(key, f"{kind}:{principal_id}:{claims}" if claims else f"{kind}:{principal_id}", ex=ttl_s)
    # The per-principal index (for "log out everywhere") is scored by expiry and pruned
    # here, so a shopper who logs in on every app launch doesn't grow it forever.
    pipe.zadd(index, {key: now + ttl_s})
    pipe.zremrangebyscore(index, "-inf", now)
    pipe.expire(index, ttl_s, gt=True)
    pipe.expire(index, ttl_s, nx=True)
    pipe.execute()
    return token, (datetime.now(timezone.utc) + timedelta(seconds=ttl_s)).replace(microsecond=0)


def resolve_token(token: str) -> tuple[str, int, str] | None:
    """(kind, id, claims) of a live session; claims are "" when none were written."""
    if not token or len(token) > 128:
        return None
    value = rds().get(_key(token))
    if not value:
        return None
    kind, ident, claims = (value.split(":", 2) + [""])[:3]
    return kind, int(ident), claims


def expires_at(token: str) -> datetime | None:
    """When a live session ends (None: not live)."""
    ttl_s = rds().ttl(_key(token))
    if ttl_s is None or ttl_s < 0:
        return None
    return (datetime.now(timezone.utc) + timedelta(seconds=ttl_s)).replace(microsecond=0)


def revoke_token(token: str) -> None:
    rds().delete(_key(token))


def revoke_all(kind: str, principal_id: int) -> None:
    """Log a principal out everywhere (staff deactivated, password changed)."""
    index = _INDEX.format(kind, principal_id)
    keys = list(rds().zrange(index, 0, -1))
    if keys:
        rds().delete(*keys)
    rds().delete(index)


def session_ttl(kind: str) -> int:
    cfg = current_app.config
    return cfg["SESSION_TTL_S"] if kind == "user" else cfg["STAFF_SESSION_TTL_S"]


def csrf_token_for(token: str) -> str:
    """The CSRF token of a session carried in a cookie (the console's): an HMAC of the
    session token, so only a script that was given it by the API (same origin) has it —
    a page on another site can make the browser send the cookie, never this. Nothing is
    stored; it changes with the session."""
    return hmac.new(token.encode(), b"tihuo-csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token_for(token), presented)
