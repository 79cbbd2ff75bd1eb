"""SKUs: units and GMV split exactly over the lines (to the fen of the day's GMV), refunds
shared the same way, rankings; hours closed for online ordering replayed from the level
events with the levels' hysteresis."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from models.analytics import calendar, reports, rollup, stockouts
from models.analytics.products import split_exactly
from models.analytics.tables import SkuDay, StoreDay
from models.stock.tables import Inventory, StockLevelEvent
from tests.factories import make_product, make_store, stock
from tests.models.analytics.test_rollups import history  # noqa: F401
from tests.models.payments.test_payments import shop  # noqa: F401


def test_split_exactly_adds_up():
    assert split_exactly(100, [1, 1, 1]) == [33, 33, 34]
    assert split_exactly(0, [5, 5]) == [0, 0]
    assert split_exactly(7, [0, 0]) == [0, 7]
    assert split_exactly(12345, [300, 700, 1]) == [3699, 8632, 14]  # 3699.6, 8632.9: rounded down
    assert sum(split_exactly(99991, [13, 29, 31, 37])) == 99991


def test_sku_days_add_up_to_the_store_days_and_rank(app, client, history):
    with app.app_context():
        today = calendar.today()
        first, last = today - timedelta(days=5), today - timedelta(days=1)
        rollup.build(first, last)
        db.session.commit()
        store_days = list(db.session.scalars(select(StoreDay)))
        sku_days = list(db.session.scalars(select(SkuDay)))
        for name, sku_name in (("paid_fen", "gmv_fen"), ("refunded_fen", "refunded_fen")):
            assert sum(getattr(r, name) for r in store_days) == sum(getattr(r, sku_name) for r in sku_days)
        assert sum(r.units for r in sku_days) == 2 + 2 + 1  # the three paid orders' units
        ranked = reports.products(None, first, today)
        (row,) = ranked["items"]
        assert (row["units"], row["gmv_fen"], row["refunded_fen"]) == (5, 5 * 12800, 5000)
        assert row["refund_rate"] == 5000 * 1000 // (5 * 12800)
        assert row["name"] == "月饼" and row["spec"] == "6枚"
        assert rollup.differences(first, last) == []


def event(store, sku, at, before, after):
    db.session.add(StockLevelEvent(store_id=store.id, sku_id=sku.id, at=at, from_level=before, to_level=after,
                                   available=0, baseline=10))


@pytest.fixture
def pair(ctx):
    store = make_store()
    sku = make_product("盐", skus=[("500g", 300)]).skus[0]
    stock(store, sku, 10)
    return store, sku


def test_closed_hours_follow_the_levels_hysteresis(pair):
    store, sku = pair
    day = calendar.today() - timedelta(days=2)
    start, _ = calendar.bounds(day)
    event(store, sku, start + timedelta(hours=1), "tight", "red")       # alert, still open
    event(store, sku, start + timedelta(hours=2), "red", "closed")      # alert, closes
    event(store, sku, start + timedelta(hours=5), "closed", "red")      # better: stays closed
    event(store, sku, start + timedelta(hours=6), "red", "tight")       # reopens: 4 h closed
    event(store, sku, start + timedelta(hours=20), "tight", "critical")  # closes until the day ends
    db.session.commit()
    found = stockouts.closures(day, day, None)
    assert found == {(store.id, sku.id): {"closed_s": 4 * 3600 + 4 * 3600, "alerts": 3}}
    # A day later it is still closed (inventory says so, no event since): closed all day.
    db.session.execute(Inventory.__table__.update().where(Inventory.store_id == store.id).values(online=False))
    db.session.commit()
    assert stockouts.closures(day + timedelta(days=1), day + timedelta(days=1), None) == {
        (store.id, sku.id): {"closed_s": 24 * 3600, "alerts": 0}}
    # A range starting while red after a closure: the last decisive event before says closed.
    mid = start + timedelta(hours=5, minutes=30)
    later = stockouts.closures(day, day, None, now=datetime.max.replace(tzinfo=timezone.utc))
    assert later[(store.id, sku.id)]["closed_s"] == 8 * 3600
    assert stockouts._offline_before(store.id, sku.id, mid) is True
    ranked = reports.products(None, day, day, sort="closed_s")
    assert ranked["items"][0]["closed_s"] == 8 * 3600 and ranked["items"][0]["alerts"] == 3
