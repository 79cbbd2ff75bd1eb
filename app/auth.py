"""Opaque session tokens in Redis (revocable, with a TTL) and the two audiences:
shoppers (`shopper_auth`) and staff (`staff_auth`, plus `roles(...)`).

A token is 256 random bits; Redis keeps only its SHA-256, so a Redis dump cannot be
replayed as a login. The session's value is `kind:id`, for staff followed by the claims
that authorize them (`models.staff.StaffPrincipal`), so a staff request needs no query
to know who may do what.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
import time
from datetime import datetime, timedelta

from apiflask import HTTPTokenAuth
from flask import current_app

from app.errors import Forbidden, Unauthorized
from app.extensions import db, rds
from models.base import utcnow

_KEY = "session:{}"
INVALID = "The token is missing, invalid or expired."
_INDEX = "sessions:{}:{}"


def _key(token: str) -> str:
    return _KEY.format(hashlib.sha256(token.encode()).hexdigest())


def issue_token(kind: str, principal_id: int, ttl_s: int, claims: str = "") -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    key, index = _key(token), _INDEX.format(kind, principal_id)
    now = time.time()
    pipe = rds().pipeline()
    pipe.set(key, f"{kind}:{principal_id}:{claims}" if claims else f"{kind}:{principal_id}", ex=ttl_s)
    # The per-principal index (for "log out everywhere") is scored by expiry and pruned
    # here, so a shopper who logs in on every app launch doesn't grow it forever.
    pipe.zadd(index, {key: now + ttl_s})
    pipe.zremrangebyscore(index, "-inf", now)
    pipe.expire(index, ttl_s, gt=True)
    pipe.expire(index, ttl_s, nx=True)
    pipe.execute()
    return token, (utcnow() + timedelta(seconds=ttl_s)).replace(microsecond=0)


def resolve_token(token: str) -> tuple[str, int, str] | None:
    """(kind, id, claims) of a live session; claims are "" when none were written."""
    if not token or len(token) > 128:
        return None
    value = rds().get(_key(token))
    if not value:
        return None
    kind, ident, claims = (value.split(":", 2) + [""])[:3]
    return kind, int(ident), claims


def revoke_token(token: str) -> None:
    rds().delete(_key(token))


def revoke_all(kind: str, principal_id: int) -> None:
    """Log a principal out everywhere (staff deactivated, password changed)."""
    index = _INDEX.format(kind, principal_id)
    keys = list(rds().zrange(index, 0, -1))
    if keys:
        rds().delete(*keys)
    rds().delete(index)


def _identity(token: str, kind: str, audience: str) -> tuple[int, str]:
    found = resolve_token(token)
    if found is None:
        raise Unauthorized(INVALID)
    if found[0] != kind:
        raise Unauthorized(f"This route needs a {audience} token.")
    return found[1], found[2]


class Shopper:
    """The signed-in shopper. Most shopper routes need only the id, so the users row is
    read only when asked for (`.user`): a hot path like ordering skips that query."""

    audit_kind = "user"

    def __init__(self, user_id: int):
        self.id = user_id
        self._user = None

    @property
    def user(self):
        from models.users import User

        if self._user is None:
            self._user = db.session.get(User, self.id)
            if self._user is None:
                raise Unauthorized(INVALID)
        return self._user


shopper_auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="ShopperToken",
                             description="Token from POST /api/auth/login")
staff_auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="StaffToken",
                           description="Token from POST /api/staff/login")


@shopper_auth.verify_token
def _verify_shopper(token: str) -> Shopper:
    return Shopper(_identity(token, "user", "shopper")[0])


@staff_auth.verify_token
def _verify_staff(token: str):
    from models.staff import StaffPrincipal

    return StaffPrincipal.of_session(*_identity(token, "staff", "staff"))


def current_user() -> Shopper:
    return shopper_auth.current_user


def current_staff():
    """The signed-in `models.staff.StaffPrincipal`."""
    return staff_auth.current_user


def roles(*allowed: str):
    """Allow only these staff roles (use under `@app.auth_required(staff_auth)`)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = staff_auth.current_user
            if staff is None or staff.role.value not in allowed:
                raise Forbidden("Your role may not do this.", details={"allowed_roles": list(allowed)})
            return view(*args, **kwargs)
        return wrapper
    return decorator


def session_ttl(kind: str) -> int:
    cfg = current_app.config
    return cfg["SESSION_TTL_S"] if kind == "user" else cfg["STAFF_SESSION_TTL_S"]
