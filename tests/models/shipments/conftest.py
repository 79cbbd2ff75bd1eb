"""Parcels against the sandbox: orders paid through WeChat Pay's imitation, shipped by
staff, subscribed at 快递100's imitation, which pushes back to the live app."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from models.outbox.tables import OutboxMessage
from models.shipments.tables import Parcel
from models.stores import Store
from tests.factories import bearer, make_product, make_shopper, make_staff, make_store, staff_token, stock
from tests.models.orders.test_placement import ADDRESS
from tests.models.payments.test_payments import notifications, sb


@pytest.fixture
def shop2(app, live):
    """A store with two SKUs (so an order can have two lines) and a shopper."""
    with app.app_context():
        store = make_store()
        product = make_product("月饼", skus=[("6枚", 12800), ("12枚", 22800)])
        for sku in product.skus:
            stock(store, sku, 50)
        user, headers = make_shopper()
        return store.id, [s.id for s in product.skus], headers


@pytest.fixture
def clerk(app, client, shop2):
    with app.app_context():
        return bearer(staff_token(client, make_staff("clerk", [db.session.get(Store, shop2[0])])))


def paid_order(client, sandbox, shop2, lines=((0, 1),)) -> dict:
    """A delivery order paid through the sandbox: the order as its shopper sees it."""
    store_id, skus, headers = shop2
    placed = client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "delivery", "address": ADDRESS,
        "items": [{"sku_id": skus[i], "qty": qty} for i, qty in lines]})
    assert placed.status_code == 201, placed.json
    order_no = placed.json["order_no"]
    sb(sandbox, "POST", "/_/pay/request-payment", json=client.post(f"/api/orders/{order_no}/pay", headers=headers).json)
    notifications(sandbox, order_no)
    return client.get(f"/api/orders/{order_no}", headers=headers).json


def settled(app, kind=None, seconds=10.0) -> list[OutboxMessage]:
    """Outbox rows (of `kind`) once none is in flight: the live server dispatches after its
    own responses, so a push's effects land just after the sandbox hears our answer."""
    deadline = time.monotonic() + seconds
    with app.app_context():
        while True:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind:
                query = query.where(OutboxMessage.kind == kind)
            found = db.session.scalars(query).all()
            if time.monotonic() > deadline or all(r.status not in ("pending", "sending") for r in found):
                for row in found:
                    db.session.expunge(row)
                return found
            db.session.rollback()
            time.sleep(0.05)


def parcel_of(app, tracking_no) -> Parcel:
    with app.app_context():
        parcel = db.session.scalars(select(Parcel).where(Parcel.tracking_no == tracking_no)).one()
        db.session.expunge(parcel)
        return parcel


def push(sandbox, number, **kw) -> dict:
    resp = sb(sandbox, "POST", "/_/kuaidi100/push", json={"number": number, **kw})
    assert resp.status_code == 200, resp.text
    return resp.json()
