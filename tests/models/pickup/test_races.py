"""Verification races with real threads on real connections (the MariaDB run is the one
that counts): clerks scanning one order at once, partial pickups at once, many orders
of one store at once (the ledger must not fork); a verification racing a reissue, an
extension and the sweep (the code, then the order: docs/architecture.md, Lock order)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models.stock.tables import Inventory
from models.orders.tables import OrderItem
from models.pickup.ledger import check
from models.pickup.tables import PickupVerification
from models.stock.check import check_ledger
from tests.factories import bearer, make_staff, staff_token
from tests.models.pickup.support import make_counter, ready_order, shown
from tests.models.orders.test_concurrency import run_threads


def clerks(client, store, n):
    return [bearer(staff_token(client, make_staff("clerk", [store]))) for _ in range(n)]


def post_verify(app, headers, i, **body):
    resp = app.test_client().post("/api/staff/pickups/verify", headers={**headers, "X-Device-Id": f"till-{i}"},
                                  json=body)
    return resp.status_code, resp.get_json()


def test_simultaneous_verifies_of_one_order_one_wins(app):
    client = app.test_client()
    with app.app_context():
        c = make_counter(client)
        order_no = ready_order(client, c, (c.skus[0], 2))
        code = shown(client, c, order_no)["code"]
        tills, sku_id = clerks(client, c.store, 6), c.skus[0].id
    results = run_threads(6, lambda i: post_verify(app, tills[i], i, code=code))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 5, results
    winner = next(body for status, body in results if status == 200)
    assert winner["status"] == "picked_up"
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "already_picked_up"
            assert body["error"]["details"]["picked_up_at"] and body["error"]["details"]["staff_id"]
    with app.app_context():
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku_id)).one()
        assert (inv.on_hand, inv.reserved) == (48, 0)
        assert db.session.scalar(select(func.count()).select_from(PickupVerification)) == 1
        assert check_ledger() == [] and check() == ([], 1)


def test_simultaneous_partial_pickups_never_hand_over_more_than_bought(app):
    client = app.test_client()
    with app.app_context():
        c = make_counter(client)
        order_no = ready_order(client, c, (c.skus[0], 5))
        code = shown(client, c, order_no)["code"]
        sku_id = c.skus[0].id
        tills = clerks(client, c.store, 8)
    results = run_threads(8, lambda i: post_verify(app, tills[i], i, code=code,
                                                   items=[{"sku_id": sku_id, "qty": 1}]))
    ok = [body for status, body in results if status == 200]
    refused = [body["error"]["code"] for status, body in results if status != 200]
    assert len(ok) == 5, results
    assert sorted(refused) == ["already_picked_up"] * 3, results
    assert sorted(body["partial"] for body in ok) == [False] + [True] * 4
    with app.app_context():
        item = db.session.scalars(select(OrderItem)).one()
        assert item.picked_up_qty == 5
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku_id)).one()
        assert (inv.on_hand, inv.reserved) == (45, 0)
        rows = db.session.scalars(select(PickupVerification).order_by(PickupVerification.seq)).all()
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert check_ledger() == [] and check() == ([], 5)


def test_many_orders_of_one_store_at_once_chain_in_line(app):
    client = app.test_client()
    with app.app_context():
        c = make_counter(client)
        codes = [shown(client, c, ready_order(client, c, (c.skus[i % 2], 1)))["code"] for i in range(12)]
        tills = clerks(client, c.store, 4)
    results = run_threads(12, lambda i: post_verify(app, tills[i % 4], i, code=codes[i]))
    assert [status for status, _ in results] == [200] * 12, results
    with app.app_context():
        rows = db.session.scalars(select(PickupVerification).order_by(PickupVerification.seq)).all()
        assert [r.seq for r in rows] == list(range(1, 13))
        assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:]))
        assert check() == ([], 12)
        assert check_ledger() == []


def test_verify_racing_a_reissue_and_the_sweep_never_deadlocks(app):
    """Code before order on every path: a verification, a manager's reissue and the
    deadline sweep on one order at once each end cleanly, in some order."""
    from datetime import timedelta

    from sqlalchemy import update

    from models.base import utcnow
    from models.orders.tables import Order, OrderEvent
    from models.pickup.expiry import sweep

    client = app.test_client()
    for round_ in range(4):
        with app.app_context():
            c = make_counter(client)
            order_no = ready_order(client, c, (c.skus[0], 1))
            code = shown(client, c, order_no)["code"]
            sku_id, manager, clerk = c.skus[0].id, c.manager, c.clerk
            if round_ % 2:  # the deadline has just passed: the sweep and a late scan meet
                db.session.execute(update(Order).where(Order.order_no == order_no)
                                   .values(pickup_deadline=utcnow() - timedelta(seconds=1)))
                db.session.commit()

        def act(i):
            if i == 0:
                return post_verify(app, clerk, i, code=code)[0]
            if i == 1:
                return app.test_client().post(f"/api/staff/pickups/orders/{order_no}/reissue",
                                              headers=manager, json={}).status_code
            with app.app_context():
                return sweep()["expired"]

        verified, reissued, expired = run_threads(3, act)
        with app.app_context():
            order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
            inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku_id)).one()
            expiries = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
                OrderEvent.order_id == order.id, OrderEvent.to_status == "pickup_expired"))
            if round_ % 2:
                assert order.status == "pickup_expired" and expiries == 1, (verified, reissued, expired)
                assert verified in (400, 409) and reissued == 409 and (inv.on_hand, inv.reserved) == (50, 0)
            else:
                assert expiries == 0 and expired == 0
                if verified == 200:  # handed over first: the reissue found it picked up
                    assert order.status == "picked_up" and reissued == 409 and (inv.on_hand, inv.reserved) == (49, 0)
                else:  # reissued first: the old code no longer works
                    assert verified == 400 and reissued == 200 and order.status == "ready_for_pickup"
            assert check_ledger() == [] and check()[0] == []


def test_an_extension_racing_a_verification_and_the_sweep_never_deadlocks(app):
    """Extending a deadline takes the code, then the order, as verifying and expiring do:
    at the deadline all three on one order end cleanly, in some order."""
    from datetime import timedelta

    from sqlalchemy import update

    from models.base import utcnow
    from models.orders.tables import Order, OrderEvent
    from models.pickup.expiry import sweep

    client = app.test_client()
    for round_ in range(4):
        with app.app_context():
            c = make_counter(client)
            order_no = ready_order(client, c, (c.skus[0], 1))
            code = shown(client, c, order_no)["code"]
            manager, clerk = c.manager, c.clerk
            if round_ % 2:  # the deadline has just passed
                db.session.execute(update(Order).where(Order.order_no == order_no)
                                   .values(pickup_deadline=utcnow() - timedelta(seconds=1)))
                db.session.commit()

        def act(i):
            if i == 0:
                return post_verify(app, clerk, i, code=code)[0]
            if i == 1:
                resp = app.test_client().post(f"/api/staff/pickups/orders/{order_no}/extend", headers=manager,
                                              json={"hours": 24})
                return resp.status_code, (resp.json.get("error") or {}).get("code")
            with app.app_context():
                return sweep()["expired"]

        verified, extended, expired = run_threads(3, act)
        with app.app_context():
            order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
            expiries = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
                OrderEvent.order_id == order.id, OrderEvent.to_status == "pickup_expired"))
            if round_ % 2:  # expired by whichever came first; the others are told
                assert (order.status, expiries) == ("pickup_expired", 1), (verified, extended, expired)
                assert verified in (400, 409) and extended == (409, "pickup_expired")
            else:  # handed over; the extension landed first or found it picked up
                assert (order.status, expiries, expired, verified) == ("picked_up", 0, 0, 200), extended
                assert extended in ((200, None), (409, "already_picked_up"))
            assert check_ledger() == [] and check()[0] == []
