"""Alert levels: the pure boundary rule, what each level change does (events, replenishment
requests, online ordering closed and reopened, transfer proposals from the nearest store
with surplus) and what it costs when nothing changes."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

from app.extensions import db
from models.stock import admin as stock_admin, holds as stock, levels as stock_levels
from models.stock.tables import Inventory, ReplenishmentRequest, StockLevelEvent, TransferProposal
from models.stock.levels import level_for, safe_floor
from tests.factories import make_product, make_store, stock as set_stock

# Target store and neighbours along one meridian: ~111 m per 0.001° of latitude.
HERE = {"lat": 31.2300, "lng": 121.4700}


@pytest.mark.parametrize("available, baseline, level", [
    (300, 1000, "normal"), (1000, 1000, "normal"), (5000, 1000, "normal"),  # ≥ 30 %
    (299, 1000, "tight"), (101, 1000, "tight"),                              # 10 % < r < 30 %
    (100, 1000, "red"), (51, 1000, "red"),                                   # 5 % < r ≤ 10 %
    (50, 1000, "closed"), (11, 1000, "closed"),                              # 1 % < r ≤ 5 %
    (10, 1000, "critical"), (0, 1000, "critical"), (-3, 1000, "critical"),   # ≤ 1 %
    (30, 100, "normal"), (29, 100, "tight"), (10, 100, "red"), (5, 100, "closed"),
    (1, 100, "critical"),
    (3, 7, "normal"), (2, 7, "tight"),     # 3/7 = 42.9 %, 2/7 = 28.6 %: no float rounding
    (0, 0, "normal"), (50, 0, "normal"),   # no baseline, no alerting
])
def test_level_boundaries(available, baseline, level):
    assert level_for(available, baseline) == level


def test_safe_floor_rounds_up():
    assert [safe_floor(b) for b in (0, 1, 7, 10, 100, 101)] == [0, 1, 3, 3, 30, 31]
    for b in range(0, 300):  # the floor is the smallest available that counts as normal
        assert level_for(safe_floor(b), b) == "normal"
        assert b == 0 or safe_floor(b) == 0 or level_for(safe_floor(b) - 1, b) != "normal"


def _row(store, sku) -> Inventory:
    db.session.expire_all()
    return db.session.scalars(select(Inventory).filter_by(store_id=store.id, sku_id=sku.id)).one()


def _events(store, sku) -> list[tuple[str, str]]:
    return [(e.from_level, e.to_level) for e in db.session.scalars(
        select(StockLevelEvent).filter_by(store_id=store.id, sku_id=sku.id).order_by(StockLevelEvent.id))]


def _requests(store, sku) -> list[ReplenishmentRequest]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReplenishmentRequest).filter_by(
        store_id=store.id, sku_id=sku.id).order_by(ReplenishmentRequest.id)))


def _reserve(store, sku, qty):
    stock.reserve(store.id, [(sku.id, qty)], order_id=None)
    db.session.commit()


def _release(store, sku, qty):
    stock.release(store.id, [(sku.id, qty)], order_id=None, reason="cancel")
    db.session.commit()


def test_unchanged_level_costs_one_select(ctx):
    store = make_store()
    skus = make_product(skus=[("1kg", 100), ("2kg", 200), ("5kg", 500)]).skus
    for sku in skus:
        set_stock(store, sku, 100, baseline=100)
    store_id, sku_ids = store.id, [s.id for s in skus]  # read now: attribute loads are not ours
    statements = []

    def seen(conn, cursor, sql, params, context, executemany):
        statements.append(sql)

    db.session.execute(text("SELECT 1"))  # the transaction is already open, as in an order
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        stock_levels.after_change(store_id, sku_ids)
        assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
        statements.clear()
        db.session.execute(text("UPDATE inventory SET reserved = 95 WHERE sku_id = :s"),
                           {"s": sku_ids[0]})
        statements.clear()
        stock_levels.after_change(store_id, sku_ids)
        assert len(statements) > 1  # a level changed: now it writes (the counter works)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.rollback()


def test_tight_to_red_opens_one_request(ctx):
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 100, baseline=100)
    _reserve(store, sku, 75)                    # 25 %: tight
    assert _row(store, sku).level == "tight" and _requests(store, sku) == []
    _reserve(store, sku, 17)                    # 8 %: red
    requests = _requests(store, sku)
    assert [(r.status, r.qty_suggested) for r in requests] == [("open", 92)]
    _reserve(store, sku, 1)                     # 7 %: still red, nothing new
    _reserve(store, sku, 3)                     # 4 %: closed, the request stays the one
    _release(store, sku, 4)                     # 8 %: red again, from closed
    assert len(_requests(store, sku)) == 1
    assert _events(store, sku) == [("normal", "tight"), ("tight", "red"), ("red", "closed"),
                                   ("closed", "red")]
    event_ = db.session.scalars(select(StockLevelEvent).order_by(StockLevelEvent.id.desc())).first()
    assert (event_.available, event_.baseline) == (8, 100)


def test_entering_red_keeps_an_already_open_request(ctx):
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 100, baseline=100)
    db.session.add(ReplenishmentRequest(store_id=store.id, sku_id=sku.id, qty_suggested=50))
    db.session.commit()                         # opened by hand while stock was fine
    _reserve(store, sku, 95)                    # normal -> closed: still that one request
    assert [(r.qty_suggested, r.status) for r in _requests(store, sku)] == [(50, "open")]


def _listed_available(client, store, sku) -> int:
    resp = client.get(f"/api/products?store_id={store.id}")
    assert resp.status_code == 200
    return {s["id"]: s["available"] for p in resp.json["items"] for s in p["skus"]}[sku.id]


def test_closed_stops_online_ordering_and_restock_reopens(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 100, baseline=100)
    _reserve(store, sku, 95)                    # 5 %: closed
    inv = _row(store, sku)
    assert (inv.level, inv.online, inv.available) == ("closed", False, 5)
    assert _listed_available(client, store, sku) == 0
    with pytest.raises(stock.OutOfStock):       # the guarded reservation honours the flag
        stock.reserve(store.id, [(sku.id, 1)], order_id=None)
    db.session.rollback()
    _release(store, sku, 3)                     # 8 %: red, but stays closed until > 10 %
    assert (_row(store, sku).level, _row(store, sku).online) == ("red", False)
    assert _listed_available(client, store, sku) == 0
    stock_admin.restock(None, store.id, sku.id, 20)  # 28 %: tight, open again
    db.session.commit()
    inv = _row(store, sku)
    assert (inv.level, inv.online) == ("tight", True)
    assert _listed_available(client, store, sku) == 28
    [request] = _requests(store, sku)
    assert request.status == "fulfilled" and request.closed_at is not None
    _reserve(store, sku, 1)                     # ordering works again


def test_baseline_zero_never_alerts(ctx):
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 0, baseline=0)
    set_stock(store, sku, 1, baseline=0)
    inv = _row(store, sku)
    assert (inv.level, inv.online) == ("normal", True)
    assert _events(store, sku) == [] and _requests(store, sku) == []


def _neighbour(km: float, on_hand: int, baseline: int, sku, **over):
    store = make_store(lat=HERE["lat"] + km * 0.009, lng=HERE["lng"], **over)
    set_stock(store, sku, on_hand, baseline=baseline)
    return store


def test_critical_proposes_from_the_nearest_store_with_surplus(ctx):
    sku = make_product().skus[0]
    target = make_store(**HERE)
    _neighbour(0.5, 500, 100, sku, active=False)   # nearest, plenty, but closed for good
    _neighbour(1, 30, 100, sku)                    # near, exactly at 30 %: nothing to spare
    near = _neighbour(3, 50, 100, sku)             # surplus 20
    _neighbour(20, 900, 100, sku)                  # far, plenty
    set_stock(target, sku, 0, baseline=100)        # critical
    [proposal] = db.session.scalars(select(TransferProposal)).all()
    assert (proposal.from_store_id, proposal.to_store_id, proposal.sku_id) == (near.id, target.id, sku.id)
    assert proposal.qty == 20                      # wants 30, capped by the donor's surplus
    assert proposal.status == "proposed" and 2900 < proposal.distance_m < 3100
    assert _row(target, sku).online is False
    assert [r.qty_suggested for r in _requests(target, sku)] == [100]
    # Out of critical and back in while the first is still proposed: no second proposal.
    set_stock(target, sku, 40)
    set_stock(target, sku, 1)
    assert db.session.scalar(select(func.count()).select_from(TransferProposal)) == 1
    assert _events(target, sku)[-2:] == [("critical", "normal"), ("normal", "critical")]


def test_critical_proposal_qty_brings_store_back_to_30_percent(ctx):
    sku = make_product().skus[0]
    target = make_store(**HERE)
    donor = _neighbour(5, 400, 100, sku)
    set_stock(target, sku, 200, baseline=200)
    _reserve(target, sku, 198)                     # 2 of 200 = 1 %: critical
    [proposal] = db.session.scalars(select(TransferProposal)).all()
    assert (proposal.from_store_id, proposal.qty) == (donor.id, 60 - 2)


def test_no_proposal_when_nobody_has_surplus(ctx):
    sku = make_product().skus[0]
    target = make_store(**HERE)
    _neighbour(1, 30, 100, sku)
    _neighbour(2, 10, 0, sku)          # no baseline: 30 % of 0 is 0, so its 10 are spare...
    set_stock(target, sku, 0, baseline=100)
    [proposal] = db.session.scalars(select(TransferProposal)).all()
    assert proposal.qty == 10          # ...and it is the only possible donor
    db.session.execute(text("DELETE FROM transfer_proposals"))
    db.session.commit()
    other_sku = make_product("面粉").skus[0]
    _neighbour(1, 29, 100, other_sku)  # below its own 30 %: cannot give
    set_stock(target, other_sku, 1, baseline=100)
    assert _row(target, other_sku).level == "critical"
    assert db.session.scalar(select(func.count()).select_from(TransferProposal)) == 0
    assert len(_requests(target, other_sku)) == 1


def test_holds_keep_the_level_exact_at_every_boundary(ctx):
    """The level test that rides on the hold (keeps_level, in SQL) must agree with
    level_for at every step, boundaries included (30 %, 10 %, 5 %, 1 %)."""
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 200, baseline=200)
    for available in range(199, 0, -1):
        stock.reserve(store.id, [(sku.id, 1)], order_id=None)
        db.session.commit()
        inv = _row(store, sku)
        assert inv.level == stock_levels.level_for(available, 200), available
        if not inv.online:
            break  # closed at 5 %: online holds stop here, as they should
    assert available == 10  # 5 % of 200
    assert _events(store, sku) == [("normal", "tight"), ("tight", "red"), ("red", "closed")]


def test_a_hold_within_its_level_is_one_update(ctx):
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 100, baseline=100)
    store_id, sku_id = store.id, sku.id
    trips, statements = [], []

    def seen(conn, cursor, sql, params, context, executemany):
        trips.append(sql)
        statements.extend(part.lstrip().split()[0].upper() for part in sql.split(";\n"))

    db.session.execute(text("SELECT 1"))
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        stock.reserve(store_id, [(sku_id, 1)], order_id=None)      # 99 %: still normal
        assert statements == ["INSERT", "UPDATE"]                  # ledger row, guarded hold
        # One round trip where the database takes several statements at once (MariaDB).
        assert len(trips) == (1 if db.engine.dialect.name == "mysql" else 2)
        statements.clear()
        stock.reserve(store_id, [(sku_id, 70)], order_id=None)     # 29 %: crosses into tight
        assert statements[:3] == ["INSERT", "UPDATE", "UPDATE"] and "SELECT" in statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.commit()
    assert _row(store, sku).level == "tight"
