"""Races with real threads and real connections (the MariaDB run is the one that counts):
a crowd for a few units, two cancels at once, a cancel racing the deadline sweep; the
lock order of placement (docs/architecture.md, Lock order): baskets in opposite orders,
one Idempotency-Key sent at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from models.base import utcnow
from models.stock.tables import Inventory, StockMovement
from models.orders.tables import Order
from models.stock.check import check_ledger
from tests.factories import make_product, make_shopper, make_store, stock


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def work(i):
        barrier.wait(timeout=30)
        results[i] = target(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture
def hot_sku(app):
    with app.app_context():
        store = make_store()
        sku = make_product("大闸蟹", skus=[("4对", 39800)]).skus[0]
        stock(store, sku, 50, baseline=0)  # no baseline: no automatic closing at low stock
        return store.id, sku.id


def counters(app, store_id, sku_id):
    with app.app_context():
        inv = db.session.scalars(select(Inventory).where(Inventory.store_id == store_id,
                                                         Inventory.sku_id == sku_id)).one()
        return inv.on_hand, inv.reserved


def test_200_buyers_for_50_units(app, hot_sku):
    store_id, sku_id = hot_sku
    with app.app_context():
        buyers = [make_shopper()[1] for _ in range(200)]
    body = {"store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]}

    def buy(i):
        return app.test_client().post("/api/orders", headers=buyers[i], json=body).status_code

    statuses = run_threads(len(buyers), buy)
    assert statuses.count(201) == 50
    assert statuses.count(409) == 150, sorted(set(statuses))
    assert counters(app, store_id, sku_id) == (50, 50)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 50
        assert check_ledger() == []


def test_two_cancels_at_once_release_once(app, hot_sku):
    store_id, sku_id = hot_sku
    with app.app_context():
        _, alice = make_shopper()
    client = app.test_client()
    order_no = client.post("/api/orders", headers=alice, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 3}]}).json["order_no"]

    def cancel(_):
        resp = app.test_client().post(f"/api/orders/{order_no}/cancel", headers=alice, json={})
        return resp.status_code, resp.json.get("changed")

    results = run_threads(2, cancel)
    assert sorted(results, key=str) == [(200, False), (200, True)]
    assert counters(app, store_id, sku_id) == (50, 0)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StockMovement)
                                 .where(StockMovement.reason.in_(["cancel", "pay_timeout"]))) == 1
        assert check_ledger() == []


def test_cancel_racing_the_sweep(app, hot_sku):
    from models.orders.deadlines import sweep

    store_id, sku_id = hot_sku
    with app.app_context():
        _, alice = make_shopper()
    client = app.test_client()
    numbers = [client.post("/api/orders", headers=alice, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]}).json["order_no"]
        for _ in range(10)]
    with app.app_context():
        db.session.execute(update(Order).values(pay_deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    def act(i):
        if i == 0:
            with app.app_context():
                return sweep()["expired"]
        return app.test_client().post(f"/api/orders/{numbers[i - 1]}/cancel", headers=alice,
                                      json={}).status_code

    results = run_threads(11, act)
    assert all(code == 200 for code in results[1:])
    assert counters(app, store_id, sku_id) == (50, 0)
    with app.app_context():
        statuses = set(db.session.scalars(select(Order.status)))
        assert statuses == {"cancelled"}
        releases = db.session.scalar(select(func.count()).select_from(StockMovement)
                                     .where(StockMovement.delta_reserved < 0))
        assert releases == 10
        assert check_ledger() == []


def test_one_shopper_racing_for_a_per_user_limit_gets_exactly_the_limit(app, hot_sku):
    """Each order claims its own Idempotency-Key (an insert that takes a shared lock on the
    shopper's row, its foreign key) and the limit check locks that row: both in one order,
    or concurrent orders of one shopper deadlock (503) instead of queueing."""
    from models.catalog import Sku

    store_id, sku_id = hot_sku
    with app.app_context():
        db.session.get(Sku, sku_id).limit_per_user = 3
        db.session.commit()
        _, alice = make_shopper()
    body = {"store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]}

    def buy(i):
        resp = app.test_client().post("/api/orders", headers={**alice, "Idempotency-Key": f"key-{i}"}, json=body)
        return resp.status_code, (resp.json or {}).get("error", {}).get("code")

    results = run_threads(12, buy)
    assert sorted(results, key=str).count((201, None)) == 3, results
    assert results.count((409, "purchase_limit")) == 9, results
    assert counters(app, store_id, sku_id) == (50, 3)
    with app.app_context():
        assert check_ledger() == []


def test_baskets_in_opposite_orders_at_once_never_deadlock(app):
    """Every order holds its stock rows in SKU order, whatever order its lines came in:
    a crowd asking for [a, b] and [b, a] at once is served in turn, never 503."""
    with app.app_context():
        store = make_store()
        a, b = make_product("大闸蟹", skus=[("4对", 39800), ("6对", 52800)]).skus
        for sku in (a, b):
            stock(store, sku, 100, baseline=0)
        buyers = [make_shopper()[1] for _ in range(16)]
        store_id, ids = store.id, (a.id, b.id)

    def buy(i):
        items = [{"sku_id": sku_id, "qty": 1} for sku_id in (ids if i % 2 else ids[::-1])]
        return app.test_client().post("/api/orders", headers=buyers[i], json={
            "store_id": store_id, "fulfillment": "pickup", "items": items}).status_code

    assert run_threads(16, buy) == [201] * 16
    assert counters(app, store_id, ids[0]) == counters(app, store_id, ids[1]) == (100, 16)
    with app.app_context():
        assert check_ledger() == []


def test_one_idempotency_key_sent_at_once_makes_one_order(app, hot_sku):
    """The key's row first: retries of one request at once wait on its unique index, then
    all answer with the one order (its stock held once)."""
    store_id, sku_id = hot_sku
    with app.app_context():
        _, alice = make_shopper()
    body = {"store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 2}]}

    def buy(_):
        resp = app.test_client().post("/api/orders", headers={**alice, "Idempotency-Key": "tap-twice"}, json=body)
        return resp.status_code, resp.json.get("order_no")

    results = run_threads(8, buy)
    assert {status for status, _ in results} <= {200, 201}, results
    assert len({order_no for _, order_no in results}) == 1  # the same order for every retry
    assert counters(app, store_id, sku_id) == (50, 2)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        assert check_ledger() == []
