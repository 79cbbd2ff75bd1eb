"""Flash-sale mode end to end: the admin switch, the gate in front of placement, units
returning on cancel, and a crowd of 1000 for 100 units costing the database only the
successful orders."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, insert, select

from app.sessions import issue_token
from app.extensions import db
from models.stock.flash_sale import gate
from models.stock.tables import Inventory
from models.orders.tables import Order
from models.stock.check import check_ledger
from models.users import User
from tests.factories import bearer, make_product, make_shopper, make_staff, make_store, staff_token, stock
from tests.app.test_errors import assert_error


@pytest.fixture
def sale(app, client):
    with app.app_context():
        store = make_store()
        sku = make_product("茅台", skus=[("500ml", 149900)]).skus[0]
        stock(store, sku, 100)
        admin = bearer(staff_token(client, make_staff("admin")))
        return store.id, sku.id, admin


def _store(store_id):
    from models.stores import Store

    return db.session.get(Store, store_id)


def enable(client, admin, store_id, sku_id, on=True):
    resp = client.put(f"/api/admin/stores/{store_id}/inventory/{sku_id}/flash-sale",
                      headers=admin, json={"enabled": on})
    assert resp.status_code == 200, resp.json
    return resp.json


def body(store_id, sku_id, qty=1):
    return {"store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": qty}]}


def test_switch_loads_the_gate(app, client, sale):
    store_id, sku_id, admin = sale
    assert enable(client, admin, store_id, sku_id)["flash_sale"] is True
    with app.app_context():
        assert gate().tokens(store_id, sku_id) == 100
    enable(client, admin, store_id, sku_id, on=False)
    with app.app_context():
        assert gate().tokens(store_id, sku_id) is None


def test_clerk_cannot_switch(client, sale, app):
    store_id, sku_id, _ = sale
    with app.app_context():
        clerk = bearer(staff_token(client, make_staff("clerk")))
    assert_error(client.put(f"/api/admin/stores/{store_id}/inventory/{sku_id}/flash-sale",
                            headers=clerk, json={"enabled": True}), 403, "forbidden")


def test_orders_take_units_and_cancel_returns_them(app, client, sale):
    store_id, sku_id, admin = sale
    enable(client, admin, store_id, sku_id)
    with app.app_context():
        _, alice = make_shopper()
    order = client.post("/api/orders", headers=alice, json=body(store_id, sku_id, 3)).json
    with app.app_context():
        assert gate().tokens(store_id, sku_id) == 97
        assert db.session.scalar(select(Order.flash_sale)) is True
    client.post(f"/api/orders/{order['order_no']}/cancel", headers=alice, json={})
    with app.app_context():
        assert gate().tokens(store_id, sku_id) == 100


def test_failed_placement_gives_units_back(app, client, sale):
    store_id, sku_id, admin = sale
    enable(client, admin, store_id, sku_id)
    with app.app_context():
        _, alice = make_shopper()
        db.session.execute(Inventory.__table__.update().values(online=False))  # DB refuses
        db.session.commit()
    assert_error(client.post("/api/orders", headers=alice, json=body(store_id, sku_id, 2)), 409, "out_of_stock")
    with app.app_context():
        assert gate().tokens(store_id, sku_id) == 100


def test_placement_rolled_back_after_it_succeeded_gives_units_back(app, client, sale):
    # What a write conflict at COMMIT does (the request then runs again with a ticket of
    # its own): the first try's units must not stay taken until the next resync.
    from models.orders.placement import place_order

    store_id, sku_id, admin = sale
    enable(client, admin, store_id, sku_id)
    with app.app_context():
        user, _ = make_shopper()
        order, created = place_order(user.id, body(store_id, sku_id, 3), None)
        assert created and gate().tokens(store_id, sku_id) == 97
        db.session.rollback()
        assert gate().tokens(store_id, sku_id) == 100
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
        order, created = place_order(user.id, body(store_id, sku_id, 3), None)  # the next try
        db.session.commit()
        assert gate().tokens(store_id, sku_id) == 97
        assert not gate().redis.hgetall(gate()._key(store_id, sku_id, "pending"))  # settled


def test_sold_out_at_the_gate(app, client, sale):
    store_id, sku_id, admin = sale
    enable(client, admin, store_id, sku_id)
    with app.app_context():
        _, alice = make_shopper()
    err = assert_error(client.post("/api/orders", headers=alice, json=body(store_id, sku_id, 101)),
                       409, "out_of_stock")
    assert err["details"]["flash_sale"] is True


def test_crowd_of_1000_for_100_units(app, sale):
    store_id, sku_id, admin = sale
    enable(app.test_client(), admin, store_id, sku_id)
    with app.app_context():
        db.session.execute(insert(User), [{"openid": f"o-crowd-{i}"} for i in range(1000)])
        db.session.commit()
        ids = db.session.scalars(select(User.id).where(User.openid.like("o-crowd-%"))).all()
        buyers = [bearer(issue_token("user", uid, 600)[0]) for uid in ids]

    statements = []
    lock = threading.Lock()

    def count(*_args, **_kw):
        with lock:
            statements.append(1)

    with app.app_context():
        engine = db.engine
        other = make_product("对照", skus=[("1", 100)]).skus[0]
        stock(_store(store_id), other, 5)
        other_id = other.id
    # A warm process's plain order (the first may also refresh a cached check, e.g. whether
    # any member level gives a member price): measured on the second.
    app.test_client().post("/api/orders", headers=buyers[1], json=body(store_id, other_id))
    event.listen(engine, "before_cursor_execute", count)
    app.test_client().post("/api/orders", headers=buyers[0], json=body(store_id, other_id))
    one_order = len(statements)
    statements.clear()
    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(
                lambda h: app.test_client().post("/api/orders", headers=h, json=body(store_id, sku_id)).status_code,
                buyers))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert statuses.count(201) == 100 and statuses.count(409) == 900, sorted(set(statuses))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order).where(Order.flash_sale)) == 100
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku_id)).one()
        assert (inv.on_hand, inv.reserved) == (100, 100)
        assert gate().tokens(store_id, sku_id) == 0
        assert check_ledger() == []
    # The 900 who were turned away cost the database nothing: the crowd issued exactly
    # the statements of 100 single orders.
    assert one_order > 0 and len(statements) == 100 * one_order, (one_order, len(statements))


def test_resync_recounts(app, client, sale):
    store_id, sku_id, admin = sale
    enable(client, admin, store_id, sku_id)
    with app.app_context():
        gate().redis.set(f"flash:{{{store_id}}}:{sku_id}:tokens", 3)  # drifted
    result = app.test_cli_runner().invoke(args=["flash", "resync"])
    assert result.exit_code == 0 and "1" in result.output
    with app.app_context():
        assert gate().tokens(store_id, sku_id) == 100


def test_ungated_orders_skip_the_gate_round_trip(app, client, sale, monkeypatch):
    store_id, sku_id, admin = sale
    other = make_product_at(app, store_id)
    calls = []
    with app.app_context():
        the_gate = gate()
        real_take = the_gate._take
        monkeypatch.setattr(the_gate, "_take", lambda **kw: calls.append(kw) or real_take(**kw))
    with app.app_context():
        shopper = make_shopper()[1]
    assert client.post("/api/orders", headers=shopper, json=body(store_id, other)).status_code == 201
    assert calls == []  # no gate on anywhere: no script call
    enable(client, admin, store_id, sku_id)  # this process sees the switch at once
    assert client.post("/api/orders", headers=shopper, json=body(store_id, sku_id)).status_code == 201
    assert client.post("/api/orders", headers=shopper, json=body(store_id, other)).status_code == 201
    assert len(calls) == 1
    with app.app_context():
        assert gate().tokens(store_id, sku_id) == 99
    enable(client, admin, store_id, sku_id, on=False)
    assert client.post("/api/orders", headers=shopper, json=body(store_id, sku_id)).status_code == 201
    assert len(calls) == 1


def make_product_at(app, store_id):
    with app.app_context():
        sku = make_product("五粮液", skus=[("500ml", 99900)]).skus[0]
        stock(_store(store_id), sku, 10)
        return sku.id
