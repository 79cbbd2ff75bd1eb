"""Who may call a route: the two token audiences — shoppers (`shopper_auth`) and staff
(`staff_auth`) — and, for staff, `roles(...)`."""
from __future__ import annotations

import functools

from apiflask import HTTPTokenAuth

from app.errors import Forbidden, Unauthorized
from app.sessions import INVALID, resolve_token
from models.staff import StaffPrincipal
from models.users import Shopper

shopper_auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="ShopperToken",
                             description="Token from POST /api/auth/login")
staff_auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="StaffToken",
                           description="Token from POST /api/staff/login")


def _identity(token: str, kind: str, audience: str) -> tuple[int, str]:
    found = resolve_token(token)
    if found is None:
        raise Unauthorized(INVALID)
    if found[0] != kind:
        raise Unauthorized(f"This route needs a {audience} token.")
    return found[1], found[2]


@shopper_auth.verify_token
def _verify_shopper(token: str) -> Shopper:
    return Shopper(_identity(token, "user", "shopper")[0])


@staff_auth.verify_token
def _verify_staff(token: str) -> StaffPrincipal:
    return StaffPrincipal.of_session(*_identity(token, "staff", "staff"))


def current_user() -> Shopper:
    return shopper_auth.current_user


def current_staff() -> StaffPrincipal:
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
