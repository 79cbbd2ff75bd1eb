"""Placing orders: server-side prices, idempotency, bad input, the stock hold."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.stock.tables import Inventory, StockMovement
from models.orders.tables import IdempotencyKey, Order, OrderEvent, OrderItem
from tests.factories import bearer, make_product, make_store, shopper_token, stock
from tests.app.test_errors import assert_error

ADDRESS = {"name": "张三", "phone": "13812345678", "province": "上海市", "city": "上海市",
           "district": "静安区", "detail": "南京西路1号"}


@pytest.fixture
def shop(ctx):
    store = make_store()
    rice = make_product("大米", skus=[("5kg", 8900), ("10kg", 16800)])
    stock(store, rice.skus[0], 10, baseline=10)
    stock(store, rice.skus[1], 5, baseline=5)
    return store, rice.skus[0], rice.skus[1]


@pytest.fixture
def alice(client, sandbox):
    return bearer(shopper_token(client, sandbox, "alice"))


def order_body(store, *lines, fulfillment="pickup", **extra):
    return {"store_id": store.id, "fulfillment": fulfillment,
            "items": [{"sku_id": s.id, "qty": q} for s, q in lines], **extra}


def inventory(store, sku):
    db.session.expire_all()
    return db.session.scalars(select(Inventory).where(
        Inventory.store_id == store.id, Inventory.sku_id == sku.id)).one()


def test_place_pickup_order(client, shop, alice):
    store, small, big = shop
    resp = client.post("/api/orders", headers=alice,
                       json=order_body(store, (small, 2), (big, 1), remark="不要袋子", price_fen=1))
    assert resp.status_code == 400  # a client price is not even accepted as a field
    resp = client.post("/api/orders", headers=alice,
                       json=order_body(store, (small, 2), (big, 1), remark="不要袋子"))
    assert resp.status_code == 201, resp.json
    order = resp.json
    assert order["status"] == "pending_payment" and order["fulfillment"] == "pickup"
    assert order["total_fen"] == order["payable_fen"] == 2 * 8900 + 16800
    assert [(i["name"], i["spec"], i["qty"], i["price_fen"], i["picked_up_qty"]) for i in order["items"]] == [
        ("大米", "5kg", 2, 8900, 0), ("大米", "10kg", 1, 16800, 0)]
    assert 6 <= len(order["order_no"]) <= 32 and order["order_no"].isalnum()
    assert re.fullmatch(r"TH\d{26}", order["order_no"])  # 16 random digits after the minute
    assert order["events"][0]["to_status"] == "pending_payment"
    assert inventory(store, small).reserved == 2 and inventory(store, big).reserved == 1
    moves = db.session.scalars(select(StockMovement).where(StockMovement.reason == "reserve")).all()
    assert sorted((m.sku_id, m.delta_reserved) for m in moves) == [(small.id, 2), (big.id, 1)]


def test_items_are_snapshots(client, shop, alice):
    store, small, _ = shop
    order_no = client.post("/api/orders", headers=alice, json=order_body(store, (small, 1))).json["order_no"]
    small.price_fen, small.spec = 1, "renamed"
    small.product.name = "改名"
    db.session.commit()
    item = client.get(f"/api/orders/{order_no}", headers=alice).json["items"][0]
    assert (item["name"], item["spec"], item["price_fen"]) == ("大米", "5kg", 8900)


def test_same_sku_twice_is_merged(client, shop, alice):
    store, small, _ = shop
    order = client.post("/api/orders", headers=alice, json=order_body(store, (small, 1), (small, 2))).json
    assert [(i["sku_id"], i["qty"]) for i in order["items"]] == [(small.id, 3)]


def test_delivery_order_keeps_the_address_encrypted(client, shop, alice):
    store, small, _ = shop
    resp = client.post("/api/orders", headers=alice,
                       json=order_body(store, (small, 1), fulfillment="delivery", address=ADDRESS))
    assert resp.status_code == 201
    assert resp.json["address"] == ADDRESS
    row = db.session.scalars(select(Order)).one()
    assert "13812345678" not in row.address_enc and "南京西路" not in row.address_enc


def test_idempotency_key_returns_the_first_order(client, shop, alice):
    store, small, _ = shop
    h = {**alice, "Idempotency-Key": "order-1"}
    first = client.post("/api/orders", headers=h, json=order_body(store, (small, 1)))
    again = client.post("/api/orders", headers=h, json=order_body(store, (small, 1)))
    assert first.status_code == 201 and again.status_code == 201
    assert again.json["order_no"] == first.json["order_no"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert inventory(store, small).reserved == 1
    other = client.post("/api/orders", headers=h, json=order_body(store, (small, 2)))
    assert_error(other, 422, "idempotency_key_reused")
    assert inventory(store, small).reserved == 1


def test_idempotency_keys_are_per_shopper(client, sandbox, shop, alice):
    store, small, _ = shop
    bob = bearer(shopper_token(client, sandbox, "bob"))
    a = client.post("/api/orders", headers={**alice, "Idempotency-Key": "k"}, json=order_body(store, (small, 1)))
    b = client.post("/api/orders", headers={**bob, "Idempotency-Key": "k"}, json=order_body(store, (small, 1)))
    assert a.json["order_no"] != b.json["order_no"]


def test_failed_order_does_not_burn_the_key(client, shop, alice):
    store, small, _ = shop
    h = {**alice, "Idempotency-Key": "retry-me"}
    assert_error(client.post("/api/orders", headers=h, json=order_body(store, (small, 11))), 409, "out_of_stock")
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    assert client.post("/api/orders", headers=h, json=order_body(store, (small, 10))).status_code == 201


def test_bad_idempotency_key(client, shop, alice):
    store, small, _ = shop
    assert_error(client.post("/api/orders", headers={**alice, "Idempotency-Key": "x" * 65},
                             json=order_body(store, (small, 1))), 400, "invalid_request")


@pytest.mark.parametrize("mutate, status, code", [
    (lambda b: b.update(items=[{"sku_id": 99999, "qty": 1}]), 404, "not_found"),
    (lambda b: b.update(store_id=99999), 404, "not_found"),
    (lambda b: b["items"][0].update(qty=0), 400, "invalid_request"),
    (lambda b: b["items"][0].update(qty=-3), 400, "invalid_request"),
    (lambda b: b["items"][0].update(qty=10**9), 400, "invalid_request"),
    (lambda b: b["items"][0].update(qty="2"), 400, "invalid_request"),
    (lambda b: b.update(items=[]), 400, "invalid_request"),
    (lambda b: b.update(fulfillment="teleport"), 400, "invalid_request"),
    (lambda b: b.update(fulfillment="delivery"), 400, "invalid_request"),  # no address
    (lambda b: b.update(address=ADDRESS), 400, "invalid_request"),  # address on a pickup
    (lambda b: b.update(remark="x" * 201), 400, "invalid_request"),
])
def test_bad_orders(client, shop, alice, mutate, status, code):
    store, small, _ = shop
    body = order_body(store, (small, 1))
    mutate(body)
    assert_error(client.post("/api/orders", headers=alice, json=body), status, code)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert inventory(store, small).reserved == 0


def test_out_of_stock_holds_nothing(client, shop, alice):
    store, small, big = shop
    err = assert_error(client.post("/api/orders", headers=alice,
                                   json=order_body(store, (small, 1), (big, 6))), 409, "out_of_stock")
    assert err["details"]["sku_id"] == big.id
    assert inventory(store, small).reserved == 0  # the first line's hold was rolled back too
    assert db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.reason == "reserve")) == 0


def test_sku_not_sold_at_this_store(client, shop, alice):
    store, small, _ = shop
    other = make_store()
    assert_error(client.post("/api/orders", headers=alice, json=order_body(other, (small, 1))),
                 409, "not_for_sale")


def test_closed_store(client, shop, alice):
    store, small, _ = shop
    store.active = False
    db.session.commit()
    assert_error(client.post("/api/orders", headers=alice, json=order_body(store, (small, 1))),
                 409, "store_closed")


def test_off_shelf(client, shop, alice):
    store, small, _ = shop
    small.product.on_shelf = False
    db.session.commit()
    assert_error(client.post("/api/orders", headers=alice, json=order_body(store, (small, 1))),
                 409, "not_for_sale")


def test_purchase_limits(client, sandbox, shop, alice):
    store, small, _ = shop
    small.limit_per_order, small.limit_per_user = 2, 3
    db.session.commit()
    err = assert_error(client.post("/api/orders", headers=alice, json=order_body(store, (small, 3))),
                       409, "purchase_limit")
    assert err["details"]["per_order"] is True
    assert client.post("/api/orders", headers=alice, json=order_body(store, (small, 2))).status_code == 201
    err = assert_error(client.post("/api/orders", headers=alice, json=order_body(store, (small, 2))),
                       409, "purchase_limit")
    assert err["details"]["per_user"] is True
    assert client.post("/api/orders", headers=alice, json=order_body(store, (small, 1))).status_code == 201
    bob = bearer(shopper_token(client, sandbox, "bob"))
    assert client.post("/api/orders", headers=bob, json=order_body(store, (small, 2))).status_code == 201


def test_cancelled_orders_do_not_count_toward_the_limit(client, shop, alice):
    store, small, _ = shop
    small.limit_per_user = 2
    db.session.commit()
    order_no = client.post("/api/orders", headers=alice, json=order_body(store, (small, 2))).json["order_no"]
    client.post(f"/api/orders/{order_no}/cancel", headers=alice, json={})
    assert client.post("/api/orders", headers=alice, json=order_body(store, (small, 2))).status_code == 201


def test_needs_a_shopper(client, shop, ctx):
    store, small, _ = shop
    assert_error(client.post("/api/orders", json=order_body(store, (small, 1))), 401, "unauthorized")
    assert db.session.scalar(select(func.count()).select_from(OrderItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(OrderEvent)) == 0
