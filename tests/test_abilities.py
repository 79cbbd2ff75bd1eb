"""Who may do what: every staff route's roles, pinned and probed over HTTP."""
from __future__ import annotations

import re

from app.sessions import issue_token
from handlers.access import staff_auth
from models.staff import StaffPrincipal
from tests.factories import bearer, make_staff, make_store

A, M, C, N = "admin", "manager", "clerk", "analyst"
ROLES = (A, M, C, N)

# Written down from the role tuples of the handlers (`@roles(...)`) before the ability
# table replaced them. Whatever the table says, every route keeps exactly these roles.
EXPECTED = {
    ("GET", "/api/admin/audit"): {A, N},
    ("GET", "/api/admin/card-batches"): {A, M, N},
    ("POST", "/api/admin/card-batches"): {A},
    ("GET", "/api/admin/card-batches/<int:batch_id>"): {A, M, N},
    ("POST", "/api/admin/card-batches/<int:batch_id>/activate"): {A},
    ("POST", "/api/admin/card-batches/<int:batch_id>/export"): {A},
    ("POST", "/api/admin/card-batches/<int:batch_id>/void"): {A},
    ("GET", "/api/admin/cards"): {A, M, N},
    ("GET", "/api/admin/cards/<serial>"): {A, M, N},
    ("POST", "/api/admin/cards/<serial>/activate"): {A},
    ("POST", "/api/admin/cards/<serial>/void"): {A},
    ("GET", "/api/admin/outbox"): {A, N},
    ("POST", "/api/admin/outbox/<int:outbox_id>/retry"): {A},
    ("GET", "/api/admin/payment-cases"): {A, N},
    ("POST", "/api/admin/payment-cases/<int:case_id>/resolve"): {A},
    ("GET", "/api/admin/products"): {A, M, C, N},
    ("POST", "/api/admin/products"): {A},
    ("GET", "/api/admin/products/<int:product_id>"): {A, M, C, N},
    ("PATCH", "/api/admin/products/<int:product_id>"): {A},
    ("POST", "/api/admin/products/<int:product_id>/skus"): {A},
    ("GET", "/api/admin/reconciliations"): {A, N},
    ("GET", "/api/admin/replenishment-requests"): {A, M, C, N},
    ("PATCH", "/api/admin/skus/<int:sku_id>"): {A},
    ("GET", "/api/admin/staff"): {A},
    ("POST", "/api/admin/staff"): {A},
    ("PATCH", "/api/admin/staff/<int:staff_id>"): {A},
    ("DELETE", "/api/admin/staff/<int:staff_id>/official-binding"): {A},
    ("GET", "/api/admin/staff/<int:staff_id>/official-binding"): {A},
    ("POST", "/api/admin/staff/<int:staff_id>/official-binding"): {A},
    ("GET", "/api/admin/stock-level-events"): {A, M, C, N},
    ("GET", "/api/admin/stores"): {A, M, C, N},
    ("POST", "/api/admin/stores"): {A},
    ("GET", "/api/admin/stores/<int:store_id>"): {A, M, C, N},
    ("PATCH", "/api/admin/stores/<int:store_id>"): {A},
    ("GET", "/api/admin/stores/<int:store_id>/inventory"): {A, M, C, N},
    ("PUT", "/api/admin/stores/<int:store_id>/inventory/<int:sku_id>"): {A, M},
    ("POST", "/api/admin/stores/<int:store_id>/inventory/<int:sku_id>/adjust"): {A, M},
    ("PUT", "/api/admin/stores/<int:store_id>/inventory/<int:sku_id>/flash-sale"): {A, M},
    ("POST", "/api/admin/stores/<int:store_id>/inventory/<int:sku_id>/restock"): {A, M},
    ("GET", "/api/admin/transfer-proposals"): {A, M},
    ("POST", "/api/admin/transfer-proposals/<int:proposal_id>/accept"): {A, M},
    ("POST", "/api/admin/transfer-proposals/<int:proposal_id>/reject"): {A, M},
    ("POST", "/api/admin/transfers"): {A, M},
    ("POST", "/api/staff/cards/<serial>/unlock"): {A, M},
    ("GET", "/api/staff/cards/locked"): {A, M},
    ("POST", "/api/staff/logout"): {A, M, C, N},
    ("GET", "/api/staff/me"): {A, M, C, N},
    ("GET", "/api/staff/orders"): {A, M, C, N},
    ("GET", "/api/staff/orders/<order_no>"): {A, M, C},  # an analyst lists orders, opens none
    ("POST", "/api/staff/orders/<order_no>/cancel"): {A, M},
    ("POST", "/api/staff/orders/<order_no>/delivered"): {A, M, C},
    ("POST", "/api/staff/orders/<order_no>/ready"): {A, M, C},
    ("POST", "/api/staff/orders/<order_no>/refunds"): {A, M},
    ("POST", "/api/staff/orders/<order_no>/ship"): {A, M, C},
    ("POST", "/api/staff/pickups/orders/<order_no>/extend"): {A, M},
    ("POST", "/api/staff/pickups/orders/<order_no>/reissue"): {A, M},
    ("POST", "/api/staff/pickups/orders/<order_no>/unlock"): {A, M},
    ("POST", "/api/staff/pickups/preview"): {A, M, C},
    ("GET", "/api/staff/pickups/reviews"): {A, M},
    ("POST", "/api/staff/pickups/verify"): {A, M, C},
}

ROLE_REFUSAL = "Your role may not do this."


def staff_routes(app):
    """(method, rule, view) of every route that needs a staff token."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "_spec", {}).get("auth") is staff_auth:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule, view


def test_every_staff_route_is_pinned(app):
    assert {(m, r) for m, r, _ in staff_routes(app)} == set(EXPECTED)


def _path(rule: str) -> str:
    # Ids that match nothing: a role let through meets a 404 or a 400, never a change.
    return re.sub(r"<(?:\w+:)?\w+>", lambda m: "999999" if m.group().startswith("<int:") else "NOPE",
                  rule)


def test_each_role_is_let_through_exactly_where_expected(app, client, ctx):
    """Over HTTP, with every route and every role: refused by role (403, "Your role may
    not do this.") exactly where EXPECTED says the role is not allowed."""
    store = make_store()
    members = {role: make_staff(role, [] if role == A else [store]) for role in ROLES}
    allowed = {key: set() for key in EXPECTED}
    for method, rule, _ in staff_routes(app):
        for role, member in members.items():
            # A fresh session each time: logout ends the one it is called with.
            token, _ = issue_token("staff", member.id, 600, claims=StaffPrincipal.claims(member))
            resp = client.open(_path(rule), method=method, headers=bearer(token),
                               json=None if method in ("GET", "DELETE") else {})
            refused = resp.status_code == 403 and resp.json["error"]["message"] == ROLE_REFUSAL
            if refused:
                assert resp.json["error"]["details"]["allowed_roles"], (method, rule)
            else:
                allowed[(method, rule)].add(role)
    assert allowed == EXPECTED

