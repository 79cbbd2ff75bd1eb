"""Shared set-up for the pickup tests: a store with its counter staff, orders made ready
through the domain operations, and the HTTP calls a shopper and a clerk make."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from models.stock.tables import Inventory
from models.orders.tables import Order
from tests.factories import (bearer, make_product, make_shopper, make_staff, make_store, mark_paid, mark_ready,
                             staff_token, stock)
from tests.models.orders.test_placement import order_body


@dataclass
class Counter:
    store: object
    skus: list
    clerk: dict        # headers of a clerk of this store
    manager: dict      # headers of a manager of this store
    shopper: dict      # headers of the shopper who orders
    user: object
    clerk_id: int = 0


def make_counter(client, *, store_level=1, product_level=1, radius=None, expiry_hours=None, on_hand=50,
                 **store_fields) -> Counter:
    store = make_store(pickup_level=store_level, pickup_radius_m=radius, pickup_expiry_hours=expiry_hours,
                       **store_fields)
    product = make_product("月饼", skus=[("双黄 6枚", 12800), ("五仁 6枚", 9800)], pickup_level=product_level)
    for sku in product.skus:
        stock(store, sku, on_hand)
    clerk = make_staff("clerk", [store])
    user, shopper = make_shopper()
    return Counter(store=store, skus=list(product.skus), clerk=bearer(staff_token(client, clerk)),
                   manager=bearer(staff_token(client, make_staff("manager", [store]))),
                   shopper=shopper, user=user, clerk_id=clerk.id)


@pytest.fixture
def counter(ctx, client):
    return make_counter(client)


def place(client, c: Counter, *lines, headers=None) -> str:
    lines = lines or ((c.skus[0], 2),)
    resp = client.post("/api/orders", headers=headers or c.shopper, json=order_body(c.store, *lines))
    assert resp.status_code == 201, resp.json
    return resp.json["order_no"]


def ready_order(client, c: Counter, *lines, headers=None) -> str:
    """Placed, paid and ready: its pickup code is issued."""
    order_no = place(client, c, *lines, headers=headers)
    mark_paid(order_no)
    mark_ready(order_no)
    return order_no


def shown(client, c: Counter, order_no: str, **query) -> dict:
    resp = client.get(f"/api/orders/{order_no}/pickup", headers=c.shopper, query_string=query)
    assert resp.status_code == 200, resp.json
    return resp.json


def verify(client, headers, device="counter-1", **body):
    return client.post("/api/staff/pickups/verify", headers={**headers, "X-Device-Id": device}, json=body)


def preview(client, headers, device="counter-1", **body):
    return client.post("/api/staff/pickups/preview", headers={**headers, "X-Device-Id": device}, json=body)


def order_row(order_no: str) -> Order:
    db.session.expire_all()
    return db.session.scalars(select(Order).where(Order.order_no == order_no)).one()


def counters(store, sku) -> tuple[int, int]:
    db.session.expire_all()
    inv = db.session.scalars(select(Inventory).where(Inventory.store_id == store.id,
                                                     Inventory.sku_id == sku.id)).one()
    return inv.on_hand, inv.reserved
