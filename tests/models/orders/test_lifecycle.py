"""The order lifecycle: cancel, time out, ready, ship, receive — each applied once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from models.base import utcnow
from models.stock.tables import Inventory, StockMovement
from models.orders.tables import Order, OrderEvent
from tests.factories import (bearer, make_product, make_shopper, make_staff, make_store, mark_paid,
                             staff_token, stock)
from tests.app.test_errors import assert_error
from tests.models.orders.test_placement import ADDRESS, order_body


@pytest.fixture
def shop(ctx):
    store = make_store()
    sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
    stock(store, sku, 20, baseline=20)
    return store, sku


def place(client, headers, store, sku, qty=2, **kw):
    resp = client.post("/api/orders", headers=headers, json=order_body(store, (sku, qty), **kw))
    assert resp.status_code == 201, resp.json
    return resp.json["order_no"]


def held(store, sku):
    db.session.expire_all()
    inv = db.session.scalars(select(Inventory).where(Inventory.store_id == store.id,
                                                     Inventory.sku_id == sku.id)).one()
    return inv.on_hand, inv.reserved


def overdue(order_no):
    db.session.execute(update(Order).where(Order.order_no == order_no)
                       .values(pay_deadline=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_cancel_releases_once(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    assert held(store, sku) == (20, 2)
    first = client.post(f"/api/orders/{order_no}/cancel", headers=alice, json={"reason": "买错了"})
    assert first.status_code == 200
    assert first.json["status"] == "cancelled" and first.json["changed"] is True
    assert first.json["cancel_reason"] == "买错了"
    again = client.post(f"/api/orders/{order_no}/cancel", headers=alice, json={})
    assert again.status_code == 200 and again.json["changed"] is False
    assert held(store, sku) == (20, 0)
    releases = db.session.scalar(select(func.count()).select_from(StockMovement)
                                 .where(StockMovement.reason == "cancel"))
    assert releases == 1
    assert [e["to_status"] for e in again.json["events"]] == ["pending_payment", "cancelled"]


def test_someone_elses_order_is_not_found(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    _, bob = make_shopper()
    order_no = place(client, alice, store, sku)
    assert_error(client.get(f"/api/orders/{order_no}", headers=bob), 404, "not_found")
    assert_error(client.post(f"/api/orders/{order_no}/cancel", headers=bob, json={}), 404, "not_found")
    assert_error(client.get("/api/orders/TH000", headers=bob), 404, "not_found")
    assert held(store, sku) == (20, 2)


def test_paid_order_cannot_be_cancelled_by_the_shopper(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    mark_paid(order_no)
    err = assert_error(client.post(f"/api/orders/{order_no}/cancel", headers=alice, json={}),
                       409, "invalid_transition")
    assert err["details"]["status"] == "paid"


def test_overdue_order_expires_when_read(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    overdue(order_no)
    order = client.get(f"/api/orders/{order_no}", headers=alice).json
    assert order["status"] == "cancelled" and order["cancel_reason"] == "pay_timeout"
    assert order["events"][-1]["actor_type"] == "system"
    assert held(store, sku) == (20, 0)
    listed = client.get("/api/orders", headers=alice).json["items"]
    assert listed[0]["status"] == "cancelled"


def test_list_sees_expired_orders_too(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    overdue(order_no)
    assert client.get("/api/orders?status=pending_payment", headers=alice).json["items"] == []
    assert held(store, sku) == (20, 0)


def test_sweep_cancels_overdue_and_cli_reports(app, client, shop):
    store, sku = shop
    _, alice = make_shopper()
    late, fresh = place(client, alice, store, sku), place(client, alice, store, sku)
    overdue(late)
    result = app.test_cli_runner().invoke(args=["orders", "sweep"])
    assert result.exit_code == 0 and "'expired': 1" in result.output
    statuses = dict(db.session.execute(select(Order.order_no, Order.status)).all())
    assert statuses == {late: "cancelled", fresh: "pending_payment"}
    assert held(store, sku) == (20, 2)


def test_cancel_after_sweep_is_ignored_not_double_released(client, shop):
    from models.orders.deadlines import sweep

    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    overdue(order_no)
    assert sweep()["expired"] == 1
    resp = client.post(f"/api/orders/{order_no}/cancel", headers=alice, json={})
    assert resp.json["changed"] is False and resp.json["cancel_reason"] == "pay_timeout"
    assert held(store, sku) == (20, 0)


def test_pagination_and_status_filter(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    numbers = [place(client, alice, store, sku, qty=1) for _ in range(5)]
    client.post(f"/api/orders/{numbers[0]}/cancel", headers=alice, json={})
    first = client.get("/api/orders?limit=2", headers=alice).json
    assert [o["order_no"] for o in first["items"]] == numbers[::-1][:2]
    seen, cursor = [], None
    while True:
        url = "/api/orders?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=alice).json
        seen += [o["order_no"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == numbers[::-1]
    cancelled = client.get("/api/orders?status=cancelled", headers=alice).json["items"]
    assert [o["order_no"] for o in cancelled] == [numbers[0]]
    assert_error(client.get("/api/orders?status=lost", headers=alice), 400, "invalid_request")


def test_staff_ready_for_pickup(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    assert_error(client.post(f"/api/staff/orders/{order_no}/ready", headers=clerk), 409, "invalid_transition")
    mark_paid(order_no)
    ready = client.post(f"/api/staff/orders/{order_no}/ready", headers=clerk)
    assert ready.json["status"] == "ready_for_pickup" and ready.json["changed"] is True
    assert ready.json["ready_at"]
    again = client.post(f"/api/staff/orders/{order_no}/ready", headers=clerk)
    assert again.status_code == 200 and again.json["changed"] is False
    events = db.session.scalars(select(OrderEvent).order_by(OrderEvent.id)).all()
    assert [(e.to_status, e.actor_type) for e in events][-1] == ("ready_for_pickup", "staff")


def test_clerk_of_another_store(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    mark_paid(order_no)
    stranger = bearer(staff_token(client, make_staff("clerk", [make_store()])))
    assert_error(client.post(f"/api/staff/orders/{order_no}/ready", headers=stranger), 403, "forbidden")
    assert_error(client.get(f"/api/staff/orders?store_id={store.id}", headers=stranger), 403, "forbidden")
    assert client.get("/api/staff/orders", headers=stranger).json["items"] == []


def test_staff_lists_their_stores(client, shop):
    store, sku = shop
    other = make_store()
    stock(other, sku, 5)
    _, alice = make_shopper()
    mine = place(client, alice, store, sku, qty=1)
    place(client, alice, other, sku, qty=1)
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    assert [o["order_no"] for o in client.get("/api/staff/orders", headers=clerk).json["items"]] == [mine]
    admin = bearer(staff_token(client, make_staff("admin")))
    assert len(client.get("/api/staff/orders", headers=admin).json["items"]) == 2


def test_delivery_ship_and_confirm(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku, fulfillment="delivery", address=ADDRESS)
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    mark_paid(order_no)
    assert_error(client.post(f"/api/staff/orders/{order_no}/ready", headers=clerk), 409, "invalid_transition")
    assert_error(client.post(f"/api/staff/orders/{order_no}/ship", headers=clerk,
                             json={"carrier": "SF"}), 400, "invalid_request")
    shipped = client.post(f"/api/staff/orders/{order_no}/ship", headers=clerk,
                          json={"carrier": "SF", "tracking_no": "SF1234567890"})
    assert shipped.json["status"] == "shipped" and shipped.json["tracking_no"] == "SF1234567890"
    assert held(store, sku) == (18, 0)  # the hold became a deduction
    client.post(f"/api/staff/orders/{order_no}/ship", headers=clerk,
                json={"carrier": "SF", "tracking_no": "SF1234567890"})
    assert held(store, sku) == (18, 0)  # shipping twice deducts once
    done = client.post(f"/api/orders/{order_no}/confirm-receipt", headers=alice)
    assert done.json["status"] == "completed" and done.json["completed_at"]
    assert client.post(f"/api/orders/{order_no}/confirm-receipt", headers=alice).json["changed"] is False


def test_pickup_order_cannot_be_shipped_or_received(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    mark_paid(order_no)
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    assert_error(client.post(f"/api/staff/orders/{order_no}/ship", headers=clerk,
                             json={"carrier": "SF", "tracking_no": "SF1234"}), 409, "invalid_transition")
    assert_error(client.post(f"/api/orders/{order_no}/confirm-receipt", headers=alice), 409,
                 "invalid_transition")


def test_deliveries_confirm_themselves_after_n_days(app, client, shop):
    from models.orders.deadlines import sweep

    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku, fulfillment="delivery", address=ADDRESS)
    mark_paid(order_no)
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    client.post(f"/api/staff/orders/{order_no}/ship", headers=clerk,
                json={"carrier": "SF", "tracking_no": "SF1234567890"})
    assert sweep()["auto_confirmed"] == 0
    days = max(app.config["SHIPPED_AUTO_CONFIRM_DAYS"], app.config["DELIVERY_AUTO_CONFIRM_DAYS"])
    db.session.execute(update(Order).values(shipped_at=utcnow() - timedelta(days=days, minutes=1)))
    db.session.commit()
    assert sweep()["auto_confirmed"] == 1
    assert client.get(f"/api/orders/{order_no}", headers=alice).json["status"] == "completed"


def test_staff_cancel_unpaid(client, shop):
    store, sku = shop
    _, alice = make_shopper()
    order_no = place(client, alice, store, sku)
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    manager = bearer(staff_token(client, make_staff("manager", [store])))
    assert_error(client.post(f"/api/staff/orders/{order_no}/cancel", headers=clerk, json={}), 403, "forbidden")
    resp = client.post(f"/api/staff/orders/{order_no}/cancel", headers=manager, json={"reason": "缺货"})
    assert resp.json["status"] == "cancelled" and resp.json["events"][-1]["actor_type"] == "staff"
    assert held(store, sku) == (20, 0)
