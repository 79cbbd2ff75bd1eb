"""Bundles (组合提货): a main item plus accessories sold as one SKU. Availability comes from
the components; ordering one holds each component; cancelling gives each back."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from models.stock.tables import Inventory
from tests.factories import bearer, make_product, make_shopper, make_staff, make_store, staff_token, stock
from tests.app.test_errors import assert_error


@pytest.fixture
def setup(client, ctx):
    store = make_store()
    crab = make_product("大闸蟹", skus=[("公蟹", 5000)]).skus[0]
    vinegar = make_product("镇江香醋", skus=[("250ml", 800)]).skus[0]
    stock(store, crab, 9)
    stock(store, vinegar, 2)
    admin = bearer(staff_token(client, make_staff("admin")))
    resp = client.post("/api/admin/products", headers=admin, json={"name": "蟹礼盒", "skus": [
        {"spec": "4蟹1醋", "price_fen": 19800,
         "components": [{"sku_id": crab.id, "qty": 4}, {"sku_id": vinegar.id, "qty": 1}]}]})
    assert resp.status_code == 201, resp.json
    box = resp.json["skus"][0]
    assert box["is_bundle"] is True
    assert box["components"] == [{"sku_id": crab.id, "qty": 4}, {"sku_id": vinegar.id, "qty": 1}]
    return store, crab, vinegar, box["id"], admin


def reserved(store, sku):
    db.session.expire_all()
    return db.session.scalars(select(Inventory.reserved).where(
        Inventory.store_id == store.id, Inventory.sku_id == sku.id)).one()


def listed(client, store, sku_id):
    for product in client.get(f"/api/products?store_id={store.id}").json["items"]:
        for sku in product["skus"]:
            if sku["id"] == sku_id:
                return sku["available"]
    return None


def test_availability_is_the_scarcest_component(client, setup):
    store, crab, vinegar, box_id, _ = setup
    assert listed(client, store, box_id) == 2  # 9 crabs → 2 boxes; 2 vinegars → 2 boxes
    stock(store, vinegar, 1)
    assert listed(client, store, box_id) == 1


def test_not_listed_where_a_component_is_not_sold(client, setup):
    _, crab, _, box_id, _ = setup
    elsewhere = make_store()
    stock(elsewhere, crab, 50)
    assert listed(client, elsewhere, box_id) is None


def test_ordering_holds_each_component_and_cancel_releases(client, setup):
    store, crab, vinegar, box_id, _ = setup
    _, alice = make_shopper()
    resp = client.post("/api/orders", headers=alice, json={
        "store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": box_id, "qty": 2}]})
    assert resp.status_code == 201, resp.json
    assert resp.json["total_fen"] == 2 * 19800
    assert (reserved(store, crab), reserved(store, vinegar)) == (8, 2)
    assert listed(client, store, box_id) == 0
    client.post(f"/api/orders/{resp.json['order_no']}/cancel", headers=alice, json={})
    assert (reserved(store, crab), reserved(store, vinegar)) == (0, 0)


def test_a_short_component_refuses_the_whole_bundle(client, setup):
    store, crab, vinegar, box_id, _ = setup
    _, alice = make_shopper()
    assert_error(client.post("/api/orders", headers=alice, json={
        "store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": box_id, "qty": 3}]}),
        409, "out_of_stock")
    assert (reserved(store, crab), reserved(store, vinegar)) == (0, 0)


def test_bundle_and_its_component_in_one_order(client, setup):
    store, crab, vinegar, box_id, _ = setup
    _, alice = make_shopper()
    resp = client.post("/api/orders", headers=alice, json={
        "store_id": store.id, "fulfillment": "pickup",
        "items": [{"sku_id": box_id, "qty": 1}, {"sku_id": crab.id, "qty": 5}]})
    assert resp.status_code == 201
    assert reserved(store, crab) == 9
    assert_error(client.post("/api/orders", headers=alice, json={
        "store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": crab.id, "qty": 1}]}),
        409, "out_of_stock")


def test_bad_bundles(client, setup):
    store, crab, _, box_id, admin = setup
    product_id = client.get("/api/admin/products", headers=admin).json["items"][0]["id"]

    def add(components):
        return client.post(f"/api/admin/products/{product_id}/skus", headers=admin,
                           json={"spec": "x", "price_fen": 100, "components": components})

    assert_error(add([{"sku_id": 999, "qty": 1}]), 404, "not_found")
    assert_error(add([{"sku_id": box_id, "qty": 1}]), 400, "invalid_request")  # bundle of bundles
    assert_error(add([{"sku_id": crab.id, "qty": 1}, {"sku_id": crab.id, "qty": 2}]), 400, "invalid_request")
    assert_error(add([{"sku_id": crab.id, "qty": 0}]), 400, "invalid_request")
    assert_error(add([]), 400, "invalid_request")
