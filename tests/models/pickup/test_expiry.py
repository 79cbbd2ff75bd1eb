"""48-hour protection end to end against the sandbox: a code not collected by its deadline
expires, the stock returns, the shopper is refunded through the payments refund path
(the order ends refunded when WeChat Pay confirms); reminders once per deadline; a
manager may extend before the deadline; auto-ready on payment."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from models.base import utcnow
from models.stock.tables import Inventory
from models.orders.tables import Order, OrderEvent
from models.outbox.tables import OutboxMessage
from models.payments.tables import Refund
from models.stores import Store
from tests.factories import bearer, make_staff, mark_ready, staff_token
from tests.app.test_errors import assert_error
from tests.models.payments.test_payments import eventually, notifications, order_row, paid_order, place, sb, shop  # noqa: F401


def ready(app, client, sandbox, shop, qty=2):
    order_no = paid_order(app, client, sandbox, shop, qty=qty)
    with app.app_context():
        mark_ready(order_no)
    return order_no


def clerk_of(app, client, shop, role="clerk"):
    with app.app_context():
        return bearer(staff_token(client, make_staff(role, [db.session.get(Store, shop[0])])))


def overdue(app, order_no, by=timedelta(seconds=1)):
    with app.app_context():
        db.session.execute(update(Order).where(Order.order_no == order_no)
                           .values(pickup_deadline=utcnow() - by))
        db.session.commit()


def held(app, shop):
    with app.app_context():
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == shop[1])).one()
        return inv.on_hand, inv.reserved


def refunds_of(app, order_no):
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        return db.session.scalars(select(Refund).where(Refund.order_id == order.id)).all()


def test_expiry_refunds_in_full_end_to_end(app, client, sandbox, shop):
    order_no = ready(app, client, sandbox, shop, qty=2)
    assert held(app, shop) == (20, 2)
    overdue(app, order_no)
    result = app.test_cli_runner().invoke(args=["pickups", "sweep"])
    assert "'expired': 1" in result.output, result.output
    order = order_row(app, order_no)
    assert order.status == "pickup_expired"
    assert held(app, shop) == (20, 0)
    (refund,) = refunds_of(app, order_no)
    assert refund.automatic and refund.amount_fen == 2 * 12800 and not refund.release_stock
    assert refund.status == "processing"  # submitted to WeChat Pay after the sweep's commit
    there = sb(sandbox, "GET", f"/_/pay/refunds/{refund.out_refund_no}").json()["refund"]
    assert there["amount"]["refund"] == 2 * 12800
    sb(sandbox, "POST", f"/_/pay/refunds/{refund.out_refund_no}/finish", json={"status": "SUCCESS"})
    notifications(sandbox, order_no)
    eventually(app, lambda: db.session.scalars(select(Order.status).where(Order.order_no == order_no)).one()
               == "refunded")
    assert held(app, shop) == (20, 0)  # released once, at expiry
    again = app.test_cli_runner().invoke(args=["pickups", "sweep"])
    assert "'expired': 0" in again.output and len(refunds_of(app, order_no)) == 1
    with app.app_context():
        events = db.session.scalars(select(OrderEvent.to_status).where(OrderEvent.order_id == order.id)
                                    .order_by(OrderEvent.id)).all()
        assert events[-2:] == ["pickup_expired", "refunded"]
        kinds = {m.payload["event"] for m in db.session.scalars(select(OutboxMessage))
                 if m.kind == "subscribe_message"}
        assert {"pickup_expired_refunded", "refund_succeeded"} <= kinds


def test_an_expired_code_is_refused_at_the_counter(app, client, sandbox, shop):
    order_no = ready(app, client, sandbox, shop)
    clerk = clerk_of(app, client, shop)
    code = client.get(f"/api/orders/{order_no}/pickup", headers=shop[2]).json["code"]
    overdue(app, order_no)
    for _ in range(2):  # the lazy check expires it; the second scan finds it expired
        assert_error(client.post("/api/staff/pickups/verify", headers=clerk, json={"code": code}),
                     409, "pickup_expired")
    assert order_row(app, order_no).status == "pickup_expired"
    assert held(app, shop) == (20, 0)
    assert len(refunds_of(app, order_no)) == 1
    assert_error(client.get(f"/api/orders/{order_no}/pickup", headers=shop[2]), 409, "pickup_expired")


def test_expiry_on_read(app, client, sandbox, shop):
    order_no = ready(app, client, sandbox, shop)
    overdue(app, order_no)
    assert client.get(f"/api/orders/{order_no}", headers=shop[2]).json["status"] == "pickup_expired"
    assert len(refunds_of(app, order_no)) == 1
    listed = client.get("/api/orders", headers=shop[2]).json["items"]
    assert [o["status"] for o in listed] == ["pickup_expired"]


def test_after_a_partial_pickup_only_the_rest_is_refunded(app, client, sandbox, shop):
    order_no = ready(app, client, sandbox, shop, qty=4)
    clerk = clerk_of(app, client, shop)
    code = client.get(f"/api/orders/{order_no}/pickup", headers=shop[2]).json["code"]
    resp = client.post("/api/staff/pickups/verify", headers=clerk,
                       json={"code": code, "items": [{"sku_id": shop[1], "qty": 1}]})
    assert resp.status_code == 200 and resp.json["partial"] is True
    overdue(app, order_no)
    with app.app_context():
        from app.tasks import run_deferred
        from models.pickup.expiry import sweep

        assert sweep() == {"expired": 1, "reminded": 0}
        run_deferred()
    assert held(app, shop) == (19, 0)  # one unit left with the shopper, three back on the shelf
    (refund,) = refunds_of(app, order_no)
    assert refund.amount_fen == 3 * 12800


def test_the_reminder_is_queued_once_per_deadline(app, client, sandbox, shop):
    from models.pickup.expiry import sweep

    order_no = ready(app, client, sandbox, shop)
    later = ready(app, client, sandbox, shop)
    with app.app_context():
        db.session.execute(update(Order).where(Order.order_no == order_no)
                           .values(pickup_deadline=utcnow() + timedelta(hours=2)))
        db.session.commit()
        assert sweep() == {"expired": 0, "reminded": 1}
        assert sweep() == {"expired": 0, "reminded": 0}
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "subscribe_message")).all()
        reminders = [r for r in rows if r.payload["event"] == "pickup_expiring"]
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        assert [r.payload for r in reminders] == [{"event": "pickup_expiring", "order_id": order.id}]
    manager = clerk_of(app, client, shop, role="manager")
    resp = client.post(f"/api/staff/pickups/orders/{order_no}/extend", headers=manager, json={"hours": 24})
    assert resp.status_code == 200, resp.json
    with app.app_context():
        assert sweep()["reminded"] == 0  # the new deadline is a day away
        db.session.execute(update(Order).where(Order.order_no == order_no)
                           .values(pickup_deadline=utcnow() + timedelta(hours=1)))
        db.session.commit()
        assert sweep()["reminded"] == 1  # a reminder for the extended deadline
        assert sweep()["reminded"] == 0
    assert order_row(app, later).pickup_reminded_at is None


def test_manager_extends_before_the_deadline_only(app, client, sandbox, shop):
    order_no = ready(app, client, sandbox, shop)
    manager, clerk = clerk_of(app, client, shop, "manager"), clerk_of(app, client, shop)
    url = f"/api/staff/pickups/orders/{order_no}/extend"
    before = order_row(app, order_no).pickup_deadline
    assert_error(client.post(url, headers=clerk, json={"hours": 24}), 403, "forbidden")
    resp = client.post(url, headers=manager, json={"hours": 24, "reason": "顾客出差"})
    assert resp.status_code == 200, resp.json
    assert order_row(app, order_no).pickup_deadline == before + timedelta(hours=24)
    err = assert_error(client.post(url, headers=manager, json={"hours": 24 * 14}), 400, "pickup_deadline_invalid")
    assert err["details"]["latest"]
    with app.app_context():
        from models.audit import AuditLog

        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "pickup.extend_deadline")).one()
        assert audit.changes["reason"] == "顾客出差" and audit.actor_type == "staff"
    overdue(app, order_no)
    assert_error(client.post(url, headers=manager, json={"hours": 1}), 409, "pickup_expired")
    assert order_row(app, order_no).status == "pickup_expired"  # the refusal kept the expiry


def test_a_zero_payable_order_expires_without_a_refund(app, client, sandbox, shop):
    from models.orders.status import SYSTEM, transition
    from models.pickup import expiry

    order_no = place(client, shop, 2)
    with app.app_context():  # as an order made from a pickup card: nothing to pay
        db.session.execute(update(Order).where(Order.order_no == order_no)
                           .values(payable_fen=0, source="card:C0001"))
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        transition(order, "pay", SYSTEM, reason="card")
        db.session.commit()
        mark_ready(order_no)
    overdue(app, order_no)
    called = []
    original = expiry.expired_without_payment
    expiry.expired_without_payment = lambda order: called.append(order.order_no) or original(order)
    try:
        result = app.test_cli_runner().invoke(args=["pickups", "sweep"])
    finally:
        expiry.expired_without_payment = original
    assert "'expired': 1" in result.output, result.output
    assert called == [order_no]
    assert order_row(app, order_no).status == "pickup_expired"
    assert held(app, shop) == (20, 0) and refunds_of(app, order_no) == []


@pytest.mark.parametrize("auto_ready", [True, False])
def test_auto_ready_on_payment(app, client, sandbox, shop, auto_ready):
    with app.app_context():
        db.session.execute(update(Store).where(Store.id == shop[0]).values(auto_ready=auto_ready))
        db.session.commit()
    order_no = place(client, shop)
    sb(sandbox, "POST", "/_/pay/request-payment", json=client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json)
    notifications(sandbox, order_no)  # the notify applies the payment, then lifecycle.on_paid
    order = order_row(app, order_no)
    assert order.status == ("ready_for_pickup" if auto_ready else "paid")
    if auto_ready:
        assert order.pickup_deadline and order.ready_at
        code = client.get(f"/api/orders/{order_no}/pickup", headers=shop[2]).json["code"]
        assert len(code) == 12
        with app.app_context():
            actor = db.session.scalars(select(OrderEvent.actor_type).where(
                OrderEvent.to_status == "ready_for_pickup")).one()
            assert actor == "system"


def test_on_paid_waits_when_the_stock_is_not_on_hand(app, client, sandbox, shop):
    from models.orders import lifecycle

    order_no = place(client, shop)
    with app.app_context():
        from tests.factories import mark_paid

        db.session.execute(update(Store).where(Store.id == shop[0]).values(auto_ready=True))
        db.session.commit()
        order = mark_paid(order_no)
        # A shelf count that no longer covers the order (counters bypassed on purpose).
        db.session.execute(update(Inventory).where(Inventory.sku_id == shop[1]).values(on_hand=0, reserved=0))
        lifecycle.on_paid(order)
        assert order.status == "paid"
        db.session.rollback()
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        lifecycle.on_paid(order)
        db.session.commit()
    assert order_row(app, order_no).status == "ready_for_pickup"
