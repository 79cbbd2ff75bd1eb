"""The benchmark's order floor (scripts/bench_floor.py) writes what placement writes, against
today's schema: its SQL is hand-written, so a migration that breaks it fails here, not in
a benchmark run."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.stock.tables import Inventory
from models.official.order_lookup import ORDER_NO_RE
from models.orders.tables import Order, OrderEvent, OrderItem
from models.stock.check import check_ledger
from scripts.bench_floor import floor_app
from tests.conftest import backend_is_mysql
from tests.factories import make_product, make_shopper, make_store, stock

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="the floor speaks MySQL (MariaDB run)")


def test_floor_places_orders_as_placement_does_and_refuses_past_the_stock(app, ctx):
    store = make_store()
    sku = make_product("大米", skus=[("5kg", 8900)]).skus[0]
    stock(store, sku, 2, baseline=2)
    make_shopper()
    floor = floor_app(app.config["SQLALCHEMY_DATABASE_URI"], 900).test_client()
    body = {"store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": sku.id, "qty": 1}]}

    placed = [floor.post("/orders", json=body) for _ in range(3)]

    assert [r.status_code for r in placed] == [201, 201, 409]
    db.session.expire_all()
    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    assert [o.order_no for o in orders] == [r.get_json()["order_no"] for r in placed[:2]]
    assert all(ORDER_NO_RE.match(o.order_no) and o.status == "pending_payment" for o in orders)
    assert [(o.total_fen, (o.pay_deadline - o.created_at).total_seconds()) for o in orders] == [(8900, 900.0)] * 2
    assert db.session.scalar(select(func.count()).select_from(OrderItem)) == 2
    assert db.session.scalar(select(func.count()).select_from(OrderEvent)) == 2
    assert db.session.scalar(select(Inventory.reserved).where(Inventory.sku_id == sku.id)) == 2
    assert check_ledger() == []  # the refused third order left nothing behind
