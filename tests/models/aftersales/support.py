"""Shared set-up for the after-sales tests: a store with its staff, orders paid through the
WeChat Pay sandbox and handed over at the counter, and the calls shoppers and staff make."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from models.aftersales.tables import AfterSale
from models.orders.tables import Order
from models.payments.tables import Refund
from models.stock.tables import Inventory
from tests.factories import (bearer, make_product, make_shopper, make_staff, make_store, mark_ready, staff_token,
                             stock)
from tests.models.payments.test_payments import eventually, notifications, sb


@dataclass
class Shop:
    store_id: int
    sku_id: int
    shopper: dict
    clerk: dict
    manager: dict
    admin: dict
    other_clerk: dict  # a clerk of another store


@pytest.fixture
def shop(app, client, live):
    with app.app_context():
        store, elsewhere = make_store(), make_store()
        sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
        stock(store, sku, 20)
        _, shopper = make_shopper()
        return Shop(store.id, sku.id, shopper, bearer(staff_token(client, make_staff("clerk", [store]))),
                    bearer(staff_token(client, make_staff("manager", [store]))),
                    bearer(staff_token(client, make_staff("admin"))),
                    bearer(staff_token(client, make_staff("clerk", [elsewhere]))))


def paid(client, sandbox, shop: Shop, qty: int = 3) -> str:
    resp = client.post("/api/orders", headers=shop.shopper, json={
        "store_id": shop.store_id, "fulfillment": "pickup", "items": [{"sku_id": shop.sku_id, "qty": qty}]})
    assert resp.status_code == 201, resp.json
    order_no = resp.json["order_no"]
    sb(sandbox, "POST", "/_/pay/request-payment", json=client.post(f"/api/orders/{order_no}/pay",
                                                                    headers=shop.shopper).json)
    notifications(sandbox, order_no)
    return order_no


def picked_up(app, client, sandbox, shop: Shop, qty: int = 3) -> str:
    """Paid through WeChat Pay, made ready, and handed over at the counter."""
    order_no = paid(client, sandbox, shop, qty)
    with app.app_context():
        eventually(app, lambda: order(order_no).status == "paid")
        mark_ready(order_no)
    code = client.get(f"/api/orders/{order_no}/pickup", headers=shop.shopper).json["code"]
    resp = client.post("/api/staff/pickups/verify", headers={**shop.clerk, "X-Device-Id": "c1"}, json={"code": code})
    assert resp.status_code == 200, resp.json
    return order_no


def ask(client, shop: Shop, order_no: str, kind="refund_only", qty=1, expect=201, headers=None):
    resp = client.post("/api/aftersales", headers=headers or shop.shopper, json={
        "order_no": order_no, "kind": kind, "reason": "破损", "items": [{"sku_id": shop.sku_id, "qty": qty}]})
    assert resp.status_code == expect, resp.json
    return resp.json


def order(order_no: str) -> Order:
    db.session.expire_all()
    return db.session.scalars(select(Order).where(Order.order_no == order_no)).one()


def sale(app, no: str) -> AfterSale:
    with app.app_context():
        return db.session.scalars(select(AfterSale).where(AfterSale.after_sale_no == no)).one()


def refund_of(app, no: str) -> Refund | None:
    with app.app_context():
        return db.session.scalars(select(Refund).where(Refund.out_refund_no == no)).first()


def on_hand(app, shop: Shop) -> tuple[int, int]:
    with app.app_context():
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == shop.sku_id,
                                                         Inventory.store_id == shop.store_id)).one()
        return inv.on_hand, inv.reserved
