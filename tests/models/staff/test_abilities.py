"""Who may do what (models/staff/abilities.py): every staff route's roles, pinned and
probed over HTTP; every route declares an ability and every ability is used; the grid in
docs/architecture.md is printed from the table; refusals and store scoping over HTTP."""
from __future__ import annotations

import os
import re
from pathlib import Path

from app.sessions import issue_token
from handlers.access import staff_auth
from models.staff.abilities import ABILITIES, SCOPES, Role, acting_store_ids, readable_store_ids
from models.staff.principal import StaffPrincipal
from tests.factories import bearer, make_product, make_staff, make_store, staff_token, stock
from tests.app.test_errors import assert_error

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
    ("GET", "/api/admin/card-exports/<int:export_id>"): {A},  # and only the admin who started it
    ("GET", "/api/admin/card-exports/<int:export_id>/csv"): {A},
    ("POST", "/api/admin/card-exports/<int:export_id>/confirm"): {A},
    ("GET", "/api/admin/cards"): {A, M, N},
    ("GET", "/api/admin/cards/<serial>"): {A, M, N},
    ("POST", "/api/admin/cards/<serial>/activate"): {A},
    ("POST", "/api/admin/cards/<serial>/void"): {A},
    ("GET", "/api/admin/outbox"): {A, N},
    ("POST", "/api/admin/outbox/<int:outbox_id>/retry"): {A},
    ("GET", "/api/admin/partners/clients"): {A},
    ("POST", "/api/admin/partners/clients"): {A},
    ("PATCH", "/api/admin/partners/clients/<int:client_id>"): {A},
    ("POST", "/api/admin/partners/clients/<int:client_id>/rotate"): {A},
    ("POST", "/api/admin/partners/clients/<int:client_id>/revoke"): {A},
    ("GET", "/api/admin/partners/clients/<int:client_id>/webhooks"): {A},
    ("POST", "/api/admin/partners/clients/<int:client_id>/webhooks"): {A},
    ("PATCH", "/api/admin/partners/webhooks/<int:endpoint_id>"): {A},
    ("POST", "/api/admin/partners/webhooks/<int:endpoint_id>/rotate"): {A},
    ("GET", "/api/admin/partners/webhooks/<int:endpoint_id>/deliveries"): {A},
    ("GET", "/api/admin/partners/webhooks/deliveries/<int:delivery_id>/attempts"): {A},
    ("POST", "/api/admin/partners/webhooks/<int:endpoint_id>/redeliver"): {A},
    ("GET", "/api/admin/payment-cases"): {A, N},
    ("POST", "/api/admin/payment-cases/<int:case_id>/resolve"): {A},
    ("GET", "/api/admin/products"): {A, M, C, N},
    ("POST", "/api/admin/products"): {A},
    ("GET", "/api/admin/products/<int:product_id>"): {A, M, C, N},
    ("PATCH", "/api/admin/products/<int:product_id>"): {A},
    ("POST", "/api/admin/products/<int:product_id>/skus"): {A},
    ("GET", "/api/admin/reconciliations"): {A, N},
    ("GET", "/api/admin/replenishment-requests"): {A, M, C, N},
    ("POST", "/api/admin/replenishment-requests/<int:request_id>/accept"): {A, M},
    ("POST", "/api/admin/replenishment-requests/<int:request_id>/reject"): {A, M},
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
    ("GET", "/api/admin/stores/<int:store_id>/inventory/<int:sku_id>/ledger"): {A, M, C, N},
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
    ("GET", "/api/console/session"): {A, M, C, N},
    ("DELETE", "/api/console/session"): {A, M, C, N},
    ("GET", "/api/staff/complaints"): {A, M},
    ("GET", "/api/staff/complaints/summary"): {A, M},
    ("GET", "/api/staff/complaints/<complaint_id>"): {A, M},
    ("POST", "/api/staff/complaints/<complaint_id>/response"): {A, M},
    ("POST", "/api/staff/complaints/<complaint_id>/refund-progress"): {A, M},
    ("POST", "/api/staff/complaints/<complaint_id>/complete"): {A, M},
    ("POST", "/api/staff/complaints/<complaint_id>/after-sale"): {A, M},
    ("GET", "/api/staff/aftersales"): {A, M, C, N},
    ("GET", "/api/staff/aftersales/breaches"): {A, M, C, N},
    ("GET", "/api/staff/aftersales/<after_sale_no>"): {A, M, C, N},
    ("POST", "/api/staff/aftersales/<after_sale_no>/approve"): {A, M},
    ("POST", "/api/staff/aftersales/<after_sale_no>/reject"): {A, M},
    ("POST", "/api/staff/aftersales/<after_sale_no>/receive"): {A, M},
    ("POST", "/api/staff/aftersales/<after_sale_no>/refuse-receipt"): {A, M},
    ("POST", "/api/staff/aftersales/<after_sale_no>/close"): {A},
    ("GET", "/api/staff/aftersales/<after_sale_no>/photos/<int:photo_id>/link"): {A, M, C, N},
    ("POST", "/api/staff/aftersales/returns/preview"): {A, M, C},
    ("POST", "/api/staff/aftersales/returns/receive"): {A, M, C},
    ("GET", "/api/staff/orders"): {A, M, C, N},
    ("GET", "/api/staff/orders/<order_no>"): {A, M, C},  # an analyst lists orders, opens none
    ("POST", "/api/staff/orders/<order_no>/cancel"): {A, M},
    ("POST", "/api/staff/orders/<order_no>/delivered"): {A, M, C},
    ("POST", "/api/staff/orders/<order_no>/ready"): {A, M, C},
    ("POST", "/api/staff/orders/<order_no>/refunds"): {A, M},
    ("POST", "/api/staff/orders/<order_no>/ship"): {A, M, C},
    ("PUT", "/api/staff/orders/<order_no>/shipment"): {A, M, C},
    ("GET", "/api/staff/orders/<order_no>/parcels"): {A, M, C},
    ("POST", "/api/staff/orders/<order_no>/parcels"): {A, M, C},
    ("GET", "/api/staff/parcel-issues"): {A, M, C},
    ("POST", "/api/staff/parcel-issues/<int:issue_id>/resolve"): {A, M, C},
    ("POST", "/api/staff/pickups/orders/<order_no>/extend"): {A, M},
    ("POST", "/api/staff/pickups/orders/<order_no>/reissue"): {A, M},
    ("POST", "/api/staff/pickups/orders/<order_no>/unlock"): {A, M},
    ("POST", "/api/staff/pickups/preview"): {A, M, C},
    ("GET", "/api/staff/pickups/reviews"): {A, M},
    ("GET", "/api/staff/pickups/expiring"): {A, M, C, N},
    ("GET", "/api/admin/reports/daily"): {A, M, N},
    ("GET", "/api/admin/reports/flow"): {A, M, N},
    ("GET", "/api/admin/reports/products"): {A, M, N},
    ("GET", "/api/admin/reports/customers"): {A, M, N},
    ("GET", "/api/admin/coupon-templates"): {A, M, N},
    ("POST", "/api/admin/coupon-templates"): {A},
    ("POST", "/api/admin/coupon-templates/<int:template_id>/active"): {A},
    ("POST", "/api/admin/points/grants"): {A},
    ("POST", "/api/admin/invitation-campaigns"): {A},
    ("POST", "/api/admin/segments"): {A},
    ("GET", "/api/admin/member-levels"): {A, M, N},
    ("POST", "/api/admin/member-levels"): {A},
    ("GET", "/api/admin/segments/<int:segment_id>/preview"): {A, M, N},
    ("POST", "/api/admin/campaigns"): {A},
    ("GET", "/api/admin/campaigns/<int:campaign_id>/report"): {A, M, N},
    ("GET", "/api/admin/invitation-campaigns"): {A, M, N},
    ("POST", "/api/admin/invitation-campaigns/<int:campaign_id>/active"): {A},
    ("GET", "/api/admin/segments"): {A, M, N},
    ("GET", "/api/admin/campaigns"): {A, M, N},
    ("GET", "/api/admin/points/rules"): {A, M, N},
    # Exports: a kind's rows need that kind's ability; a background export's routes need
    # session.own (and the kind's ability, checked by the model), and only its owner sees it.
    **{("GET", f"/api/admin/exports/{kind}.{fmt}"): roles for kind, roles in {
        "orders": {A, M, C, N}, "order_items": {A, M, C, N}, "pickup_ledger": {A, M, C, N},
        "stock_ledger": {A, M, C, N}, "payments": {A, N}, "refunds": {A, N},
        "reconciliation_differences": {A, N}, "card_batches": {A, M, N}, "report_daily": {A, M, N},
    }.items() for fmt in ("csv", "xlsx")},
    ("POST", "/api/admin/exports"): {A, M, C, N},
    ("GET", "/api/admin/exports"): {A, M, C, N},
    ("GET", "/api/admin/exports/<int:export_id>"): {A, M, C, N},
    ("GET", "/api/admin/exports/<int:export_id>/download"): {A, M, C, N},
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



# --- the table -------------------------------------------------------------------------------

def test_the_table_gives_each_route_exactly_its_roles(app):
    declared = {(method, rule): set(ABILITIES[view.ability].role_names)
                for method, rule, view in staff_routes(app)}
    assert declared == EXPECTED


def test_every_staff_route_declares_an_ability_and_every_ability_is_used(app):
    routes = list(staff_routes(app))
    undeclared = sorted((m, r) for m, r, view in routes if getattr(view, "ability", None) is None)
    assert not undeclared, f"staff routes without @can(...): {undeclared}"
    unused = set(ABILITIES) - {view.ability for _, _, view in routes}
    assert not unused, f"abilities no route uses: {sorted(unused)}"


def test_store_scopes_by_role():
    def member(role):
        return StaffPrincipal(1, Role(role), [7])
    assert {r: acting_store_ids(member(r)) for r in ROLES} == {A: None, M: [7], C: [7], N: [7]}
    assert {r: readable_store_ids(member(r)) for r in ROLES} == {A: None, M: [7], C: [7], N: None}
    assert readable_store_ids(member(N), 8) == [8] and readable_store_ids(member(C), 7) == [7]


# --- the grid in the docs ------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"
BEGIN, END = "<!-- abilities:begin -->", "<!-- abilities:end -->"


def render_grid() -> str:
    """The role × ability grid and the store scopes, as Markdown."""
    roles = [role.value for role in Role]
    lines = ["| ability | allows | " + " | ".join(roles) + " |",
             "| --- | --- | " + " | ".join(":-:" for _ in roles) + " |"]
    for ability in ABILITIES.values():
        marks = " | ".join("✓" if role in ability.role_names else "" for role in roles)
        lines.append(f"| `{ability.name}` | {ability.allows} | {marks} |")
    lines += ["", "| store scope | every store | only the stores they are bound to | covers |",
              "| --- | --- | --- | --- |"]
    for scope in SCOPES:
        every = [r.value for r in Role if r in scope.every_store]
        bound = [r.value for r in Role if r not in scope.every_store]
        lines.append(f"| {scope.name} | {', '.join(every)} | {', '.join(bound)} | {scope.covers} |")
    return "\n".join(lines)


def test_the_docs_show_the_table():
    text = DOCS.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    shown, _, tail = rest.partition(END)
    assert rest and tail, f"docs/architecture.md needs a {BEGIN} ... {END} block"
    block = "\n" + render_grid() + "\n"
    if os.environ.get("UPDATE_DOCS"):
        DOCS.write_text(head + BEGIN + block + END + tail, encoding="utf-8")
        return
    assert shown == block, ("The grid in docs/architecture.md differs from models/staff/abilities.py: "
                            "run UPDATE_DOCS=1 pytest tests/models/staff/test_abilities.py")


# --- refusals over HTTP ----------------------------------------------------------------------

def test_a_role_without_the_ability_is_refused_with_it(client, ctx):
    store = make_store()
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    analyst = bearer(staff_token(client, make_staff("analyst")))
    err = assert_error(client.post("/api/staff/orders/TH000/refunds", headers=clerk,
                                   json={"amount_fen": 1}), 403, "forbidden")
    assert err["message"] == ROLE_REFUSAL
    assert err["details"] == {"allowed_roles": [A, M], "ability": "refunds.create"}
    err = assert_error(client.get("/api/staff/cards/locked", headers=clerk), 403, "forbidden")
    assert err["details"] == {"allowed_roles": [A, M], "ability": "cards.review"}
    # An analyst lists every store's orders but opens none of them (as before the table).
    assert client.get("/api/staff/orders", headers=analyst).status_code == 200
    err = assert_error(client.get("/api/staff/orders/TH000", headers=analyst), 403, "forbidden")
    assert err["details"] == {"allowed_roles": [A, M, C], "ability": "orders.fulfil"}
    err = assert_error(client.post("/api/admin/outbox/1/retry", headers=analyst), 403, "forbidden")
    assert err["details"] == {"allowed_roles": [A], "ability": "outbox.retry"}


def test_store_scoping_still_refuses_another_store(client, ctx):
    mine, other = make_store(), make_store()
    sku = make_product().skus[0]
    stock(other, sku, 10)
    manager = bearer(staff_token(client, make_staff("manager", [mine])))
    analyst = bearer(staff_token(client, make_staff("analyst")))
    admin = bearer(staff_token(client, make_staff("admin")))

    def refused(resp):
        err = assert_error(resp, 403, "forbidden")
        assert err["message"] == "You are not bound to this store."
        assert err["details"] == {"store_id": other.id}

    # Acting for a store: only admins act for every store.
    refused(client.put(f"/api/admin/stores/{other.id}/inventory/{sku.id}", headers=manager,
                       json={"on_hand": 5}))
    refused(client.put(f"/api/admin/stores/{other.id}/inventory/{sku.id}/flash-sale", headers=manager,
                       json={"enabled": True}))
    refused(client.get(f"/api/staff/pickups/reviews?store_id={other.id}", headers=manager))
    assert client.put(f"/api/admin/stores/{other.id}/inventory/{sku.id}", headers=admin,
                      json={"on_hand": 5}).json["on_hand"] == 5
    # Reading a store's lists: admins and analysts read every store, managers their own.
    for url in (f"/api/staff/orders?store_id={other.id}", f"/api/admin/stores/{other.id}/inventory",
                f"/api/admin/replenishment-requests?store_id={other.id}"):
        refused(client.get(url, headers=manager))
        assert client.get(url, headers=analyst).status_code == 200
        assert client.get(url, headers=admin).status_code == 200
    assert client.get(f"/api/admin/stores/{mine.id}/inventory", headers=manager).json["items"] == []
