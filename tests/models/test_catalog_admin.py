"""Merchant catalog management: stores, products, SKUs, stock — role-checked and audited."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models.audit import AuditLog
from models.catalog import Product, Sku
from models.stock.tables import Inventory, StockMovement
from tests.factories import bearer, make_product, make_staff, make_store, staff_token
from tests.app.test_errors import assert_error

STORE = {"name": "徐汇店", "address": "上海市徐汇区漕溪北路1号", "lat": 31.19, "lng": 121.44,
         "pickup_radius_m": 800, "opening_hours": {"mon": [["09:00", "21:00"]]}}


def admin_headers(client):
    return bearer(staff_token(client, make_staff("admin")))


def test_store_crud_and_audit(client, ctx):
    h = admin_headers(client)
    resp = client.post("/api/admin/stores", json=STORE, headers=h, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 201
    store = resp.json
    assert store["name"] == "徐汇店" and store["timezone"] == "Asia/Shanghai" and store["active"]
    patched = client.patch(f"/api/admin/stores/{store['id']}", headers=h,
                           environ_base={"REMOTE_ADDR": "10.1.2.3"}, json={"active": False, "opening_hours": {"sun": [["22:00", "02:00"]]}})
    assert patched.status_code == 200
    assert patched.json["active"] is False and patched.json["opening_hours"] == {"sun": [["22:00", "02:00"]]}
    assert client.get(f"/api/admin/stores/{store['id']}", headers=h).json["active"] is False
    entries = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [e.action for e in entries if e.target_type == "stores"] == ["store.create", "store.update"]
    update = entries[-1]
    assert update.changes["active"] == [True, False]
    assert update.ip == "10.1.2.3" and update.request_id
    audit_api = client.get("/api/admin/audit", headers=h).json["items"]
    assert audit_api[0]["action"] == "store.update"


def test_store_validation(client, ctx):
    h = admin_headers(client)
    for bad in ({**STORE, "lat": 91}, {**STORE, "opening_hours": {"mon": [["9:00", "21:00"]]}},
                {**STORE, "opening_hours": {"someday": []}}, {**STORE, "timezone": "Mars/Base"},
                {**STORE, "name": ""}, {k: v for k, v in STORE.items() if k != "address"}):
        assert_error(client.post("/api/admin/stores", json=bad, headers=h), 400, "invalid_request")
    assert_error(client.patch("/api/admin/stores/999", json={"name": "x"}, headers=h), 404, "not_found")


def test_product_with_skus(client, ctx):
    h = admin_headers(client)
    resp = client.post("/api/admin/products", headers=h, json={
        "name": "大闸蟹", "category": "生鲜", "skus": [
            {"spec": "4对", "price_fen": 39800, "barcode": "6901234567890"},
            {"spec": "8对", "price_fen": 69800}]})
    assert resp.status_code == 201
    product = resp.json
    assert [s["spec"] for s in product["skus"]] == ["4对", "8对"]
    sku_id = product["skus"][0]["id"]
    assert client.patch(f"/api/admin/skus/{sku_id}", headers=h,
                        json={"price_fen": 35800, "on_shelf": False}).json["price_fen"] == 35800
    added = client.post(f"/api/admin/products/{product['id']}/skus", headers=h,
                        json={"spec": "12对", "price_fen": 99800})
    assert added.status_code == 201
    listed = client.get("/api/admin/products", headers=h).json
    assert len(listed["items"][0]["skus"]) == 3 and listed["next_cursor"] is None


def test_sku_validation_and_conflicts(client, ctx):
    h = admin_headers(client)
    product = make_product(skus=[("5kg", 8900)])
    assert_error(client.post(f"/api/admin/products/{product.id}/skus", headers=h,
                             json={"spec": "5kg", "price_fen": 100}), 409, "conflict")
    for price in (0, -1, 1.5, "100", 10**12):
        assert_error(client.post(f"/api/admin/products/{product.id}/skus", headers=h,
                                 json={"spec": "x", "price_fen": price}), 400, "invalid_request")
    make_product("其他", skus=[("1", 100)])
    client.post(f"/api/admin/products/{product.id}/skus", headers=h,
                json={"spec": "10kg", "price_fen": 100, "barcode": "1234567"})
    assert_error(client.post(f"/api/admin/products/{product.id}/skus", headers=h,
                             json={"spec": "20kg", "price_fen": 100, "barcode": "1234567"}),
                 409, "conflict")
    assert_error(client.post("/api/admin/products/999/skus", headers=h,
                             json={"spec": "x", "price_fen": 100}), 404, "not_found")
    assert db.session.scalar(select(func.count()).select_from(Sku)) == 3


def test_product_pagination(client, ctx):
    h = admin_headers(client)
    for i in range(5):
        make_product(f"p{i}")
    first = client.get("/api/admin/products?limit=2", headers=h).json
    second = client.get(f"/api/admin/products?limit=2&cursor={first['next_cursor']}", headers=h).json
    third = client.get(f"/api/admin/products?limit=2&cursor={second['next_cursor']}", headers=h).json
    names = [p["name"] for page in (first, second, third) for p in page["items"]]
    assert names == [f"p{i}" for i in range(5)] and third["next_cursor"] is None


def test_roles_on_catalog(client, ctx):
    store = make_store()
    for role in ("manager", "clerk", "analyst"):
        h = bearer(staff_token(client, make_staff(role, [store])))
        assert client.get("/api/admin/products", headers=h).status_code == 200
        assert_error(client.post("/api/admin/products", headers=h, json={"name": "x"}), 403, "forbidden")
        assert_error(client.post("/api/admin/stores", headers=h, json=STORE), 403, "forbidden")
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_stock_set_by_manager_of_that_store_only(client, ctx):
    mine, other = make_store(), make_store()
    sku = make_product().skus[0]
    h = bearer(staff_token(client, make_staff("manager", [mine])))
    resp = client.put(f"/api/admin/stores/{mine.id}/inventory/{sku.id}", headers=h,
                      json={"on_hand": 30, "baseline": 50, "note": "盘点"})
    assert resp.status_code == 200
    assert resp.json | {} == {**resp.json, "on_hand": 30, "reserved": 0, "available": 30, "baseline": 50}
    assert_error(client.put(f"/api/admin/stores/{other.id}/inventory/{sku.id}", headers=h,
                            json={"on_hand": 30}), 403, "forbidden")
    assert_error(client.get(f"/api/admin/stores/{other.id}/inventory", headers=h), 403, "forbidden")
    client.put(f"/api/admin/stores/{mine.id}/inventory/{sku.id}", headers=h, json={"on_hand": 25})
    moves = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    assert [m.delta_on_hand for m in moves] == [30, -5]
    inv = db.session.scalars(select(Inventory)).one()
    assert sum(m.delta_on_hand for m in moves) == inv.on_hand == 25


def test_clerk_cannot_set_stock(client, ctx):
    store, other = make_store(), make_store()
    sku = make_product().skus[0]
    h = bearer(staff_token(client, make_staff("clerk", [store])))
    assert_error(client.put(f"/api/admin/stores/{store.id}/inventory/{sku.id}", headers=h,
                            json={"on_hand": 1}), 403, "forbidden")
    assert client.get(f"/api/admin/stores/{store.id}/inventory", headers=h).status_code == 200
    assert_error(client.get(f"/api/admin/stores/{other.id}/inventory", headers=h), 403, "forbidden")


def test_stock_validation(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    h = admin_headers(client)
    for bad in ({"on_hand": -1}, {"on_hand": "5"}, {"baseline": 1.5}, {"on_hand": 1, "x": 1}):
        assert_error(client.put(f"/api/admin/stores/{store.id}/inventory/{sku.id}", headers=h,
                                json=bad), 400, "invalid_request")
    assert_error(client.put(f"/api/admin/stores/{store.id}/inventory/999", headers=h,
                            json={"on_hand": 1}), 404, "not_found")
    assert db.session.scalar(select(func.count()).select_from(Inventory)) == 0
