"""Who may call a route: the two token audiences — shoppers (`shopper_auth`) and staff
(`staff_auth`) — and, for staff, the ability the route needs (`can`), which the ability
table (models/staff/abilities.py) grants to roles.

Staff sessions reach us two ways: a bearer token (API clients, scripts), or the
console's cookie (`CONSOLE_COOKIE`: httpOnly, SameSite=Strict — no page script ever
holds the token). A request carried by the cookie that changes anything must also send
`X-CSRF-Token`, the session's CSRF token (app.sessions.csrf_token_for), which only the
console's own scripts were given."""
from __future__ import annotations

import functools

from apiflask import HTTPTokenAuth
from flask import request
from werkzeug.datastructures import Authorization

from app.errors import Forbidden, Unauthorized
from app.sessions import INVALID, csrf_matches, resolve_token
from models.staff.abilities import ABILITIES, require as require_ability
from models.staff.principal import StaffPrincipal
from models.users import Shopper

CONSOLE_COOKIE = "tihuo_console"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    code, message = "csrf_failed", "The console's CSRF token is missing or wrong; reload the page."


class StaffTokenAuth(HTTPTokenAuth):
    """The bearer token, or else the console's cookie."""

    def get_auth(self):
        auth = super().get_auth()
        if auth is None and "Authorization" not in request.headers:
            token = request.cookies.get(CONSOLE_COOKIE)
            if token:
                auth = Authorization("bearer", token=token)
        return auth


shopper_auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="ShopperToken",
                             description="Token from POST /api/auth/login")
staff_auth = StaffTokenAuth(scheme="Bearer", security_scheme_name="StaffToken",
                            description="Token from POST /api/staff/login (the console: its "
                                        f"`{CONSOLE_COOKIE}` cookie, with `{CSRF_HEADER}` on writes)")


def _identity(token: str, kind: str, audience: str) -> tuple[int, str]:
    found = resolve_token(token)
    if found is None:
        raise Unauthorized(INVALID)
    if found[0] != kind:
        raise Unauthorized("This route needs a shopper token." if audience == "shopper"
                           else "This route needs a staff token.")
    return found[1], found[2]


@shopper_auth.verify_token
def _verify_shopper(token: str) -> Shopper:
    return Shopper(_identity(token, "user", "shopper")[0])


@staff_auth.verify_token
def _verify_staff(token: str) -> StaffPrincipal:
    principal = StaffPrincipal.of_session(*_identity(token, "staff", "staff"))
    if (request.authorization is None and request.method not in _SAFE_METHODS
            and not csrf_matches(token, request.headers.get(CSRF_HEADER))):
        raise CsrfFailed()  # carried by the cookie: another site may have made the browser send it
    return principal


def current_user() -> Shopper:
    return shopper_auth.current_user


def current_staff() -> StaffPrincipal:
    return staff_auth.current_user


def current_token() -> str:
    """The token this staff request came with: the bearer token, or the console's cookie."""
    return request.authorization.token if request.authorization else request.cookies[CONSOLE_COOKIE]


def can(ability: str):
    """Let through the staff whose role has `ability` (use under
    `@bp.auth_required(staff_auth)`); others get 403 `forbidden`. The view is marked with
    its ability (`view.ability`), so every staff route can be checked to declare one."""
    if ability not in ABILITIES:  # a typo fails when the module loads, not on a request
        raise KeyError(f"No ability {ability!r} in models/staff/abilities.py")

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_ability(staff_auth.current_user, ability)
            return view(*args, **kwargs)
        wrapper.ability = ability
        return wrapper
    return decorator
