"""Staff login: username and password, with failures limited per account and per address.

The rules live here as shopper login's do (`models.users.login`); the handler only parses,
calls `login` and issues the session token.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.errors import Unauthorized
from app.extensions import db
from app import ratelimit
from app.ratelimit import FailureLimit
from models.base import utcnow
from models.staff.accounts import password_matches, rehash_if_needed
from models.staff.tables import Staff


def _limits() -> tuple[FailureLimit, FailureLimit]:
    cfg = current_app.config
    per_user = FailureLimit("staff-login-user", cfg["STAFF_LOGIN_MAX_ATTEMPTS"], cfg["STAFF_LOGIN_WINDOW_S"])
    # One address guessing across many usernames gets a wider, but finite, allowance.
    per_ip = FailureLimit("staff-login-ip", cfg["STAFF_LOGIN_MAX_ATTEMPTS"] * 4, cfg["STAFF_LOGIN_WINDOW_S"])
    return per_user, per_ip


def authenticate(username: str, password: str) -> Staff | None:
    """The active member with this username and password, else None (an unknown username
    costs the same time as a wrong password)."""
    staff = db.session.scalars(select(Staff).where(Staff.username == username)).first()
    if not password_matches(staff, password) or staff is None or not staff.active:
        return None
    rehash_if_needed(staff, password)
    return staff


def login(username: str, password: str, address: str | None) -> Staff:
    """The member, stamped with this login; 401 for a wrong username or password, 429 once
    the account or the address (`address`, the client's) has failed too often — checked
    before the password, so even the right one waits out the window. The attempt takes its
    place in both limits before the password is checked (app.ratelimit), so attempts sent
    at once can't all slip past a counter not yet raised."""
    username, address = username.strip().lower(), address or "unknown"
    per_user, per_ip = _limits()
    with ratelimit.take((per_user, username), (per_ip, address)) as attempt:
        staff = authenticate(username, password)
        if staff is None:
            attempt.failed()
            raise Unauthorized("Wrong username or password.")
    per_user.clear(username)
    staff.last_login_at = utcnow()
    return staff
