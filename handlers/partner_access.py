"""Who may call a partner route: an OAuth2 access token from POST /oauth/token
(`partner_auth`), the scope the route needs (`scope`), and the client's request budget
(a token bucket: app/ratelimit.spend; a bulk call costs more). Every partner answer says
what is left (`RateLimit-*`)."""
from __future__ import annotations

import functools

from apiflask import HTTPTokenAuth
from flask import current_app

from app.db import once, once_result
from app.errors import Forbidden, Unauthorized
from app.ratelimit import spend
from models.partners.clients import SCOPES
from models.partners.tokens import PartnerPrincipal, resolve

partner_auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="PartnerToken",
                             description="OAuth2 access token (client credentials) from POST /oauth/token")


class InsufficientScope(Forbidden):
    code, message = "insufficient_scope", "The token's scopes do not allow this."


@partner_auth.verify_token
def _verify(token: str) -> PartnerPrincipal:
    principal = resolve(token)
    if principal is None:
        raise Unauthorized("The access token is missing, invalid or expired.")
    return principal


def current_partner() -> PartnerPrincipal:
    return partner_auth.current_user


def scope(name: str, cost: int | None = None):
    """Let through a token with scope `name` (403 insufficient_scope otherwise), charging
    the client's bucket `cost` (a function of the view's kwargs for bulk calls, else 1)."""
    if name not in SCOPES:
        raise KeyError(name)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_partner()
            cfg = current_app.config
            # Charged once per request, not again when a write conflict reruns the call.
            once("partner_budget", lambda: spend(f"partner:{principal.id}", (cost() if callable(cost) else cost) or 1,
                                                 rate=cfg["PARTNER_RATE_PER_S"], burst=cfg["PARTNER_RATE_BURST"]))
            if name not in principal.scopes:
                raise InsufficientScope(details={"scope": name})
            return view(*args, **kwargs)
        wrapper.partner_scope = name
        return wrapper
    return decorator


def budget_headers(response):
    """after_request of the partner blueprint: the budget left after this call."""
    budget = once_result("partner_budget")
    if budget is not None:
        response.headers.update(budget.headers())
    return response
