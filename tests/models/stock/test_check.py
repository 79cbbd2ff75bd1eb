"""The incremental stock check: the saved sums plus the movements since agree with the
counters; a counter changed behind the ledger's back is caught; the checkpoint moves only
over settled movements."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from models.base import utcnow
from models.stock import admin
from models.stock.check import SETTLE_S, check_incremental
from models.stock.tables import Inventory, StockCheckMark, StockCheckSum, StockMovement
from tests.factories import make_product, make_staff, make_store, stock


def test_incremental_check(ctx):
    store = make_store()
    sku = make_product("油", skus=[("5L", 9900)]).skus[0]
    stock(store, sku, 10)
    assert check_incremental() == ([], 1)
    db.session.commit()
    # The movement is newer than SETTLE_S: not yet in the sums, read again next time.
    assert db.session.get(StockCheckMark, "stock") is None
    later = utcnow() + timedelta(seconds=SETTLE_S + 1)
    assert check_incremental(now=later) == ([], 1)
    db.session.commit()
    mark = db.session.get(StockCheckMark, "stock")
    assert mark.through_id == db.session.scalar(select(StockMovement.id))
    assert db.session.get(StockCheckSum, (store.id, sku.id)).on_hand == 10
    # A restock since: read on top of the sums.
    admin.restock(make_staff("admin"), store.id, sku.id, 5, note=None)
    db.session.commit()
    assert check_incremental() == ([], 1)
    # A counter changed without a movement is caught.
    db.session.execute(update(Inventory).where(Inventory.store_id == store.id).values(on_hand=99))
    db.session.commit()
    problems, _ = check_incremental()
    assert problems == [{"store_id": store.id, "sku_id": sku.id, "field": "on_hand", "counter": 99, "ledger": 15}]
