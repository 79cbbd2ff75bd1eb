"""What shoppers read: stores by distance with open_now, products with availability."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from models.stores import haversine_m, is_open
from tests.factories import make_product, make_store, stock
from tests.app.test_errors import assert_error

SH = ZoneInfo("Asia/Shanghai")


def at(day, hhmm):
    """A UTC instant that is `hhmm` on weekday `day` (0=Mon) in Shanghai (week of 2026-11-23)."""
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 23 + day, h, m, tzinfo=SH).astimezone(timezone.utc)


def test_opening_hours_rules():
    hours = {"mon": [["09:00", "12:00"], ["13:00", "21:00"]], "sat": [["22:00", "02:00"]]}
    assert is_open(hours, SH, at(0, "09:00"))
    assert not is_open(hours, SH, at(0, "12:30"))
    assert not is_open(hours, SH, at(0, "21:00"))
    assert not is_open(hours, SH, at(1, "10:00"))  # Tuesday: not listed, closed
    assert is_open(hours, SH, at(5, "23:00"))
    assert is_open(hours, SH, at(6, "01:59"))      # Saturday's late range runs into Sunday
    assert not is_open(hours, SH, at(6, "02:00"))


def test_haversine_is_plausible():
    # People's Square to Lujiazui: about 2.7 km as the crow flies.
    assert 2600 < haversine_m(31.2304, 121.4737, 31.2397, 121.4998) < 2800
    assert haversine_m(31.0, 121.0, 31.0, 121.0) == 0


def test_stores_sorted_by_distance(client, ctx):
    far = make_store(name="far", lat=31.30, lng=121.60)
    near = make_store(name="near", lat=31.231, lng=121.474)
    make_store(name="closed-down", lat=31.2305, lng=121.4738, active=False)
    items = client.get("/api/stores?lat=31.2304&lng=121.4737").json["items"]
    assert [s["name"] for s in items] == ["near", "far"]
    assert items[0]["distance_m"] < items[1]["distance_m"]
    assert items[0]["open_now"] is True  # factory stores are open 00:00–23:59 every day
    assert set(items[0]) >= {"id", "name", "address", "lat", "lng", "distance_m", "open_now"}
    plain = client.get("/api/stores").json["items"]
    assert [s["id"] for s in plain] == [far.id, near.id] and plain[0]["distance_m"] is None


def test_closed_store_is_not_open_now(client, ctx):
    make_store(opening_hours={})
    assert client.get("/api/stores").json["items"][0]["open_now"] is False


def test_products_at_a_store(client, ctx):
    store, other = make_store(), make_store()
    rice = make_product("大米", skus=[("5kg", 8900), ("10kg", 16800)])
    crab = make_product("大闸蟹", skus=[("4对", 39800)])
    hidden = make_product("下架", skus=[("1", 100)], on_shelf=False)
    stock(store, rice.skus[0], 10)
    stock(store, rice.skus[1], 0)
    stock(other, crab.skus[0], 5)  # sold only at the other store
    stock(store, hidden.skus[0], 5)
    items = client.get(f"/api/products?store_id={store.id}").json["items"]
    assert [p["name"] for p in items] == ["大米"]
    assert items[0]["skus"] == [
        {"id": rice.skus[0].id, "spec": "5kg", "price_fen": 8900, "available": 10, "barcode": None},
        {"id": rice.skus[1].id, "spec": "10kg", "price_fen": 16800, "available": 0, "barcode": None},
    ]


def test_off_shelf_sku_is_hidden(client, ctx):
    from app.extensions import db

    store = make_store()
    rice = make_product("大米", skus=[("5kg", 8900), ("10kg", 16800)])
    stock(store, rice.skus[0], 3)
    stock(store, rice.skus[1], 3)
    rice.skus[1].on_shelf = False
    db.session.commit()
    skus = client.get(f"/api/products?store_id={store.id}").json["items"][0]["skus"]
    assert [s["spec"] for s in skus] == ["5kg"]


def test_products_paginate(client, ctx):
    store = make_store()
    for i in range(3):
        stock(store, make_product(f"p{i}").skus[0], 1)
    first = client.get(f"/api/products?store_id={store.id}&limit=2").json
    rest = client.get(f"/api/products?store_id={store.id}&limit=2&cursor={first['next_cursor']}").json
    assert [p["name"] for p in first["items"] + rest["items"]] == ["p0", "p1", "p2"]
    assert rest["next_cursor"] is None


def test_products_bad_input(client, ctx):
    assert_error(client.get("/api/products"), 400, "invalid_request")
    assert_error(client.get("/api/products?store_id=abc"), 400, "invalid_request")
    assert_error(client.get("/api/products?store_id=999"), 404, "not_found")
    inactive = make_store(active=False)
    assert_error(client.get(f"/api/products?store_id={inactive.id}"), 404, "not_found")

