"""Who may call a route: the two token audiences — shoppers (`shopper_auth`) and staff
(`staff_auth`) — and, for staff, the ability the route needs (`can`), which the ability
table (models/staff/abilities.py) grants to roles."""
from __future__ import annotations

import functools

from apiflask import HTTPTokenAuth

from app.errors import Unauthorized
from app.sessions import INVALID, resolve_token
from models.staff.abilities import ABILITIES, require as require_ability
from models.staff.principal import StaffPrincipal
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
        raise Unauthorized("This route needs a shopper token." if audience == "shopper"
                           else "This route needs a staff token.")
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
