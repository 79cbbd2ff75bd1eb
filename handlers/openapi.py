"""The OpenAPI document, completed with what every route answers by construction.

APIFlask writes each operation from its decorators: the success status, 400 for an input
schema, 401 for a token, 404 for a path parameter, and what a route's `@bp.doc(responses=)`
adds (its own refusals: 409 `purchase_limit`, 423, 429...). What the layers around every
route add is written here once, from the same facts the layers act on, so the document
cannot forget them (tests/handlers/test_openapi_fuzz.py holds the service to it):

- 400 / 413 / 415 for a route that takes a body (handlers/transport.py: JSON only, bounded
  nesting and numbers; MAX_CONTENT_LENGTH);
- 403 for a staff route with an ability (handlers/access.can) — naming the ability;
- 503 `unavailable` for every route that touches the database or Redis (app/errors.py).
"""
from __future__ import annotations

import re

from apiflask import APIFlask

from handlers.access import CONSOLE_COOKIE, CSRF_HEADER

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}

# Routes that touch neither the database nor Redis: no 503 from them.
NO_BACKING_SERVICE = {("GET", "/healthz"), ("GET", "/api/messages/templates")}

def _error(description: str) -> dict:
    return {"description": description, "content": _ERROR}


def _views(app: APIFlask) -> dict[tuple[str, str], object]:
    """(METHOD, /openapi/{path}) → the view function Flask dispatches to."""
    found = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            found[(method, path)] = app.view_functions[rule.endpoint]
    return found


def init_app(app: APIFlask) -> None:
    @app.spec_processor
    def complete(spec: dict) -> dict:
        views = _views(app)
        # The console's cookie is the other way to carry a staff session (handlers/access.py).
        spec.setdefault("components", {}).setdefault("securitySchemes", {})["ConsoleCookie"] = {
            "type": "apiKey", "in": "cookie", "name": CONSOLE_COOKIE,
            "description": f"The console's session (POST /api/console/session); writes also send "
                           f"{CSRF_HEADER}"}
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                key = (method.upper(), path)
                security = operation.get("security") or []
                if {"StaffToken": []} in security and {"ConsoleCookie": []} not in security:
                    security.append({"ConsoleCookie": []})
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", _error("invalid_request: the body is not valid JSON, "
                                                       "nests too deeply, or holds a number or text "
                                                       "that cannot be read"))
                    responses.setdefault("413", _error("payload_too_large"))
                    responses.setdefault("415", _error("unsupported_media_type: send JSON"))
                ability = getattr(views.get(key), "ability", None)
                if ability:
                    responses.setdefault("403", _error(f"forbidden: the staff member's role lacks "
                                                       f"`{ability}`, or the store is not theirs"))
                scope = getattr(views.get(key), "partner_scope", None)
                if scope:  # handlers/partner_access.scope: the token's scope and the client's budget
                    responses.setdefault("403", _error(f"insufficient_scope: the token lacks `{scope}`"))
                    responses.setdefault("429", _error("rate_limited: the client's request budget is spent"))
                if key not in NO_BACKING_SERVICE:
                    responses.setdefault("503", _error("unavailable (or wechat_unavailable): a backing "
                                                       "service did not answer in time; retry shortly"))
        return spec
