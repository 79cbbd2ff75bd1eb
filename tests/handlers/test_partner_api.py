"""The partner API over HTTP: OAuth2 client credentials (Authlib), scopes, stores outside the
grant as 404, the request budget, orders changed since a cursor, acknowledge and ready,
external references and the event feed."""
from __future__ import annotations

import time

import pytest

from tests.factories import admin_headers, make_product, make_shopper, make_store, mark_paid, stock
from tests.models.partners.helpers import make_client, partner_headers, reset_switch, token_response


@pytest.fixture(autouse=True)
def _switch():
    reset_switch()
    yield
    reset_switch()


@pytest.fixture
def world(ctx, client):
    mine, other = make_store(), make_store()
    sku = make_product().skus[0]
    for s in (mine, other):
        stock(s, sku, 50, baseline=50)
    return {"mine": mine.id, "other": other.id, "sku": sku.id, "admin": admin_headers(client)}


def _order(client, store_id, sku_id, fulfillment="pickup"):
    _, shopper = make_shopper()
    resp = client.post("/api/orders", headers=shopper, json={"store_id": store_id, "fulfillment": fulfillment,
                                                              "items": [{"sku_id": sku_id, "qty": 1}]})
    assert resp.status_code == 201, resp.json
    return resp.json["order_no"]


def test_client_credentials_token_scopes_and_foreign_store(client, world):
    made = make_client(client, world["admin"], [world["mine"]], scopes=["stock:read", "orders:read"])
    assert made["client_secret"].startswith("tps_") and made["client_id"].startswith("tpc_")
    resp = token_response(client, made)
    assert resp.status_code == 200 and resp.json["token_type"].lower() == "bearer"
    assert resp.json["expires_in"] == 3600 and resp.headers["Cache-Control"] == "no-store"
    h = {"Authorization": f"Bearer {resp.json['access_token']}"}
    ok = client.get(f"/api/partner/v1/stores/{world['mine']}/stock", headers=h)
    assert ok.status_code == 200 and ok.json["items"][0]["on_hand"] == 50
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(ok.headers.keys())
    # A store outside the grant looks like one that does not exist.
    foreign = client.get(f"/api/partner/v1/stores/{world['other']}/stock", headers=h)
    missing = client.get("/api/partner/v1/stores/999999/stock", headers=h)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json["error"]["code"] == missing.json["error"]["code"] == "not_found"
    # A scope the client lacks: 403.
    write = client.post(f"/api/partner/v1/stores/{world['mine']}/stock/adjustments",
                        headers={**h, "Idempotency-Key": "k1"},
                        json={"lines": [{"sku_id": world["sku"], "delta": 1, "reason": "found"}]})
    assert write.status_code == 403 and write.json["error"]["code"] == "insufficient_scope"
    # Asking for a scope it was not granted: RFC 6749's invalid_scope, or narrowed away.
    wrong = token_response(client, made, secret="tps_wrong")
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    assert client.get(f"/api/partner/v1/stores/{world['mine']}/stock").status_code == 401
    assert client.get(f"/api/partner/v1/stores/{world['mine']}/stock",
                      headers={"Authorization": "Bearer nope"}).status_code == 401


def test_an_expired_token_is_refused(app, client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    app.config["PARTNER_TOKEN_TTL_S"] = 1
    try:
        h = partner_headers(client, made)
    finally:
        app.config["PARTNER_TOKEN_TTL_S"] = 3600
    assert client.get(f"/api/partner/v1/stores/{world['mine']}/stock", headers=h).status_code == 200
    time.sleep(1.2)
    resp = client.get(f"/api/partner/v1/stores/{world['mine']}/stock", headers=h)
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"


def test_rotation_keeps_two_secrets_and_revocation_ends_tokens(client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    first = made["client_secret"]
    second = client.post(f"/api/admin/partners/clients/{made['id']}/rotate", headers=world["admin"]).json["client_secret"]
    assert token_response(client, made, secret=first).status_code == 200
    assert token_response(client, made, secret=second).status_code == 200
    third = client.post(f"/api/admin/partners/clients/{made['id']}/rotate", headers=world["admin"]).json["client_secret"]
    assert token_response(client, made, secret=first).status_code == 401  # two at a time
    h = partner_headers(client, made, secret=third)
    assert token_response(client, made, secret=second).status_code == 200
    assert client.post(f"/api/admin/partners/clients/{made['id']}/revoke", headers=world["admin"]).status_code == 200
    assert client.get(f"/api/partner/v1/stores/{world['mine']}/stock", headers=h).status_code == 401
    assert token_response(client, made, secret=third).status_code == 401
    audit = client.get("/api/admin/audit?action=partner_client.*", headers=world["admin"]).json["items"]
    assert {a["action"] for a in audit} >= {"partner_client.create", "partner_client.rotate", "partner_client.revoke"}


def test_the_request_budget_answers_429_with_retry_after(app, client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    app.config.update(PARTNER_RATE_BURST=3, PARTNER_RATE_PER_S=0.2)
    try:
        codes = [client.get(f"/api/partner/v1/stores/{world['mine']}/stock", headers=h) for _ in range(4)]
    finally:
        app.config.update(PARTNER_RATE_BURST=100, PARTNER_RATE_PER_S=20.0)
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[2].headers["RateLimit-Remaining"] == "0"
    assert int(codes[3].headers["Retry-After"]) >= 1 and codes[3].json["error"]["code"] == "rate_limited"


def test_orders_changed_since_a_cursor_ready_and_acknowledge(client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    mine = _order(client, world["mine"], world["sku"])
    _order(client, world["other"], world["sku"])  # another store's: never seen
    first = client.get("/api/partner/v1/orders", headers=h).json
    assert [o["order_no"] for o in first["items"]] == [mine]
    assert first["items"][0]["status"] == "pending_payment"
    cursor = first["next_cursor"]
    assert client.get(f"/api/partner/v1/orders?cursor={cursor}", headers=h).json == {"items": [], "next_cursor": None}
    mark_paid(mine)
    ready = client.post(f"/api/partner/v1/orders/{mine}/ready", headers=h)
    assert ready.status_code == 200 and ready.json["status"] == "ready_for_pickup" and ready.json["changed"] is True
    again = client.get(f"/api/partner/v1/orders?cursor={cursor}", headers=h).json
    assert [o["order_no"] for o in again["items"]] == [mine] and again["items"][0]["status"] == "ready_for_pickup"
    ack = client.post(f"/api/partner/v1/orders/{mine}/acknowledge", headers=h)
    assert ack.status_code == 200 and ack.json["acknowledged_at"]
    assert client.post(f"/api/partner/v1/orders/{mine}/acknowledge", headers=h).json["acknowledged_at"] == ack.json["acknowledged_at"]
    feed = client.get("/api/partner/v1/events", headers=h).json
    assert [e["type"] for e in feed["items"]] == ["order.created", "order.paid", "order.ready"]
    assert [e["seq"] for e in feed["items"]] == [1, 2, 3]
    rest = client.get(f"/api/partner/v1/events?after={feed['next_after']}", headers=h).json
    assert rest["items"] == []


def test_external_references(client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    put = client.put(f"/api/partner/v1/refs/sku/{world['sku']}", headers=h, json={"external_id": "ERP-SKU-1"})
    assert put.status_code == 200 and put.json["external_id"] == "ERP-SKU-1"
    found = client.get("/api/partner/v1/refs/sku?external_id=ERP-SKU-1", headers=h)
    assert found.json["internal_id"] == world["sku"]
    assert client.put(f"/api/partner/v1/refs/store/{world['other']}", headers=h,
                      json={"external_id": "WH-2"}).status_code == 404
    rows = client.get(f"/api/partner/v1/stores/{world['mine']}/stock", headers=h).json["items"]
    assert rows[0]["external_ref"] == "ERP-SKU-1"


def test_pages_of_changed_orders_go_on_where_the_last_stopped(client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    placed = []
    for i in range(5):
        placed.append(_order(client, world["mine"], world["sku"]))
        _order(client, world["other"], world["sku"])
    seen, cursor = [], ""
    for _ in range(3):
        page = client.get(f"/api/partner/v1/orders?limit=2&cursor={cursor}", headers=h).json
        seen += [o["order_no"] for o in page["items"]]
        cursor = page["next_cursor"]
    assert seen == placed and len(seen) == 5
    assert client.get(f"/api/partner/v1/orders?cursor={cursor}", headers=h).json["items"] == []


def test_staff_stock_changes_reach_the_feed(client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    resp = client.post(f"/api/admin/stores/{world['mine']}/inventory/{world['sku']}/adjust", headers=world["admin"],
                       json={"delta": -2, "reason": "damaged"})
    assert resp.status_code == 200
    client.post(f"/api/admin/stores/{world['other']}/inventory/{world['sku']}/adjust", headers=world["admin"],
                json={"delta": -2, "reason": "damaged"})  # another store's: not this client's
    events = client.get("/api/partner/v1/events?type=stock.adjusted", headers=h).json["items"]
    assert [(e["data"]["delta"], e["data"]["on_hand"], e["data"]["reason"]) for e in events] == [(-2, 48, "damaged")]


def test_a_warehouse_ships_a_delivery_order_as_a_tracked_parcel(client, world):
    from tests.models.cards.test_redemption import ADDRESS

    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    _, shopper = make_shopper()
    placed = client.post("/api/orders", headers=shopper, json={
        "store_id": world["mine"], "fulfillment": "delivery", "address": ADDRESS,
        "items": [{"sku_id": world["sku"], "qty": 1}]})
    assert placed.status_code == 201, placed.json
    order_no = placed.json["order_no"]
    mark_paid(order_no)
    body = {"carrier": "SF", "tracking_no": "SF5550000001"}
    sent = client.post(f"/api/partner/v1/orders/{order_no}/shipments", headers=h, json=body)
    assert sent.status_code == 201, sent.json
    again = client.post(f"/api/partner/v1/orders/{order_no}/shipments", headers=h, json=body)
    assert again.json["id"] == sent.json["id"]  # the same number again: that parcel
    assert client.get(f"/api/partner/v1/orders/{order_no}", headers=h).json["status"] == "shipped"
    other = _order(client, world["other"], world["sku"])
    assert client.post(f"/api/partner/v1/orders/{other}/shipments", headers=h, json=body).status_code == 404
    assert client.post(f"/api/partner/v1/orders/{order_no}/shipments", headers=h,
                       json={"carrier": "SF"}).status_code in (400, 422)


def test_after_sales_and_reports_are_read_for_the_clients_stores_only(client, world):
    made = make_client(client, world["admin"], [world["mine"]])
    h = partner_headers(client, made)
    assert client.get("/api/partner/v1/aftersales", headers=h).json == {"items": [], "next_cursor": None}
    assert client.get("/api/partner/v1/aftersales/AS000000", headers=h).status_code == 404
    mine = _order(client, world["mine"], world["sku"])
    mark_paid(mine)
    report = client.get("/api/partner/v1/reports/daily", headers=h)
    assert report.status_code == 200, report.json
    assert report.json["totals"]["placed"] == 1 and report.json["totals"]["paid"] == 1
    assert {s["store_id"] for s in report.json["by_store"]} <= {world["mine"]}
    assert client.get(f"/api/partner/v1/reports/daily?store_id={world['other']}", headers=h).status_code == 404
    narrow = make_client(client, world["admin"], [world["mine"]], scopes=["orders:read"], name="WMS")
    assert client.get("/api/partner/v1/reports/daily", headers=partner_headers(client, narrow)).status_code == 403
