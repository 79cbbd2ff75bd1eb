"""The history generator (scripts/gen_history.py) writes data the project's own checks
accept — the stock ledger, the verification ledger, the rollups — with the mix of states
a real history has, on both backends."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.analytics import calendar
from models.analytics.rollup import build, differences
from models.base import utcnow
from models.orders.tables import Order, OrderEvent, OrderItem
from models.outbox.tables import OutboxMessage
from models.payments.tables import Payment, Refund
from models.pickup import ledger
from models.pickup.tables import PickupCode, PickupVerification
from models.stock.check import check_ledger
from models.stock.tables import StockMovement
from scripts import gen_history

DAYS = 12


@pytest.fixture
def generated(app, ctx):
    result = gen_history.generate(orders=300, days=DAYS, stores=3, skus=20, seed=7, batch=70, overdue_unpaid=4)
    db.session.commit()
    return result


def count(*where, of=Order):
    return db.session.scalar(select(func.count()).select_from(of).where(*where))


def test_the_checks_pass_on_what_it_writes(generated):
    assert generated["orders"] == 304
    assert check_ledger() == []                  # flask stock check
    assert ledger.check()[0] == []               # flask pickups verify-ledger
    yesterday = calendar.today() - timedelta(days=1)
    first = calendar.today() - timedelta(days=DAYS - 1)
    assert str(first) == generated["first_day"]
    assert build(first, yesterday)["days"] == DAYS - 1
    db.session.commit()
    assert differences(first, yesterday) == []   # flask analytics check


def test_orders_have_the_mix_of_a_real_history(generated):
    statuses = dict(db.session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
    assert statuses == generated["statuses"]
    for status in ("completed", "cancelled", "refunded", "picked_up", "pending_payment"):
        assert statuses.get(status, 0) > 0, (status, statuses)
    assert count(Order.fulfillment == "delivery") > 0
    assert count(Order.store_id.in_(generated["stores"])) == 304 and len(generated["stores"]) == 3
    # The last store is a pickup point: no deliveries there.
    assert count(Order.store_id == generated["stores"][-1], Order.fulfillment == "delivery") == 0
    # The overdue unpaid ones wait for the sweep.
    assert count(Order.status == "pending_payment", Order.pay_deadline < utcnow()) >= 4
    # Who cancelled: shoppers and the system at the pay deadline.
    actors = set(db.session.scalars(select(OrderEvent.actor_type).where(OrderEvent.to_status == "cancelled")))
    assert {"user", "system"} <= actors


def test_every_status_change_is_an_event_in_time_order(generated):
    orders = db.session.scalars(select(Order)).all()
    for order in orders:
        events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                    .order_by(OrderEvent.id)).all()
        assert events[0].to_status == "pending_payment" and events[0].from_status is None
        assert events[0].at == order.created_at
        assert events[-1].to_status == order.status, order.order_no
        assert [e.from_status for e in events[1:]] == [e.to_status for e in events[:-1]]
        assert [e.at for e in events] == sorted(e.at for e in events)
        if order.paid_at:
            assert order.created_at < order.paid_at < order.pay_deadline
    assert count(OrderItem.order_id.isnot(None), of=OrderItem) >= len(orders)


def test_money_and_pickups_are_consistent(generated):
    assert count(Payment.status == "paid", of=Payment) == count(OrderEvent.to_status == "paid", of=OrderEvent)
    refunds = db.session.scalars(select(Refund)).all()
    assert refunds and all((r.status == "success") == (r.succeeded_at is not None) for r in refunds)
    assert {r.automatic for r in refunds} == {True, False}   # expired pickups and staff refunds
    # Every hand-over is in the ledger once, with the code used.
    picked = set(db.session.scalars(select(Order.id).where(Order.picked_up_at.isnot(None))))
    assert set(db.session.scalars(select(PickupVerification.order_id))) == picked
    assert count(PickupCode.status == "used", of=PickupCode) == len(picked)
    assert count(PickupCode.live_hash.isnot(None), of=PickupCode) == count(Order.status == "ready_for_pickup")
    # The stock ledger has the order's holds and their ends.
    assert count(StockMovement.reason == "reserve", of=StockMovement) == count(of=OrderItem)
    kinds = set(db.session.scalars(select(OutboxMessage.status).distinct()))
    assert {"sent", "skipped"} <= kinds


def test_generated_text_needs_no_escaping():
    """MariaDB's INSERTs carry the script's text as it is: none may hold a quote or a backslash."""
    texts = [name for items in gen_history.CATEGORIES.values() for name in items] + list(gen_history.CATEGORIES)
    texts += gen_history.SPECS + [gen_history.REFUND_EXPIRED] + [x for s in gen_history.EXTRA_STORES for x in s[:2]]
    assert not [t for t in texts if "'" in t or "\\" in t]
    literals = gen_history.MysqlLiterals()
    row = (1, "TH1", 2, 3, "pickup", "paid", 100, 100, None, "shop", False, 1_700_000_000, 1_700_000_900,
           1_700_000_100, None, None, None, None, None, None, None, None, None, None)
    [sql] = literals.statements("orders", [row])
    assert "FROM_UNIXTIME(1700000000),FROM_UNIXTIME(1700000900),FROM_UNIXTIME(1700000100),NULL" in sql
    with pytest.raises(ValueError):
        list(literals.statements("users", [(1, "a\\b", 1, None)]))


def test_demo_history_uses_the_demo_shop_and_keeps_its_shelves(app, ctx):
    """--demo (scripts/dev's first start): the demo's stores, SKUs and staff, nothing added;
    each shelf's available stock stays as seeded; the reports are built."""
    from app.demo import seed
    from models import catalog, stores
    from models.analytics.tables import Customer, StoreDay
    from models.staff.tables import Staff
    from models.stock.tables import Inventory

    seed()
    db.session.commit()
    available = {(i.store_id, i.sku_id): i.on_hand - i.reserved for i in db.session.scalars(select(Inventory))}
    before = {"stores": count(of=stores.Store), "skus": count(of=catalog.Sku), "staff": count(of=Staff)}
    result = gen_history.generate(orders=200, days=DAYS, seed=3, demo=True)
    db.session.expire_all()
    assert result["orders"] == 200
    assert {"stores": count(of=stores.Store), "skus": count(of=catalog.Sku), "staff": count(of=Staff)} == before
    assert {(i.store_id, i.sku_id): i.on_hand - i.reserved for i in db.session.scalars(select(Inventory))} == available
    assert count(Inventory.reserved > 0, of=Inventory) > 0  # open orders hold stock
    assert check_ledger() == [] and ledger.check()[0] == []
    yesterday = calendar.today() - timedelta(days=1)
    assert differences(calendar.today() - timedelta(days=DAYS - 1), yesterday) == []
    assert count(of=StoreDay) > 0 and count(of=Customer) > 0
