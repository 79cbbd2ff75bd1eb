"""Staff stock operations through the HTTP API: restock, adjust, transfers, proposals,
the alert views, and the ledger check (`flask stock check`)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from models.stock import admin as stock_admin, holds as stock
from models.audit import AuditLog
from models.stock.tables import Inventory, StockMovement, StockTransfer, TransferProposal
from models.stock.check import check_ledger
from tests.factories import (admin_headers, bearer, make_bundle, make_product, make_staff,
                             make_store, staff_token, stock as set_stock)
from tests.app.test_errors import assert_error


def _inv(store, sku) -> Inventory | None:
    db.session.expire_all()
    return db.session.scalars(select(Inventory).filter_by(store_id=store.id, sku_id=sku.id)).first()


def _moves(**where) -> list[StockMovement]:
    return list(db.session.scalars(select(StockMovement).filter_by(**where).order_by(StockMovement.id)))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _url(store_id, sku_id, op):
    return f"/api/admin/stores/{store_id}/inventory/{sku_id}/{op}"


# --- restock ------------------------------------------------------------------------------

def test_restock_creates_row_writes_ledger_and_audits(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    manager = make_staff("manager", [store])
    h = bearer(staff_token(client, manager))
    resp = client.post(_url(store.id, sku.id, "restock"), headers=h, json={"qty": 10, "note": "到货"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["on_hand"], resp.json["available"], resp.json["level"]) == (10, 10, "normal")
    assert client.post(_url(store.id, sku.id, "restock"), headers=h, json={"qty": 15}).json["on_hand"] == 25
    moves = _moves(store_id=store.id)
    assert [(m.delta_on_hand, m.reason, m.staff_id, m.note) for m in moves] == [
        (10, "restock", manager.id, "到货"), (15, "restock", manager.id, None)]
    audit = db.session.scalars(select(AuditLog).filter_by(action="inventory.restock")
                               .order_by(AuditLog.id)).all()
    assert [a.changes["on_hand"] for a in audit] == [[0, 10], [10, 25]] and audit[0].actor_id == manager.id
    # The answer shows the level the change led to: 25 of 500 closes online ordering,
    # restocking to 225 (45 %) reopens it.
    closed = client.put(f"/api/admin/stores/{store.id}/inventory/{sku.id}", headers=h, json={"baseline": 500})
    assert (closed.json["level"], closed.json["online"]) == ("closed", False)
    reopened = client.post(_url(store.id, sku.id, "restock"), headers=h, json={"qty": 200})
    assert (reopened.json["level"], reopened.json["online"], reopened.json["on_hand"]) == ("normal", True, 225)


def test_restock_bad_input_and_roles(client, ctx):
    store, other = make_store(), make_store()
    sku = make_product().skus[0]
    bundle = make_bundle()
    h = admin_headers(client)
    for bad in ({"qty": 0}, {"qty": -1}, {"qty": "5"}, {"qty": 1.5}, {"qty": None}, {"qty": 10**8},
                {"qty": 10**30}, {}, {"qty": 1, "extra": 1}, {"qty": 1, "note": "x" * 256}):
        assert_error(client.post(_url(store.id, sku.id, "restock"), headers=h, json=bad),
                     400, "invalid_request")
    assert_error(client.post(_url(999999, sku.id, "restock"), headers=h, json={"qty": 1}), 404, "not_found")
    assert_error(client.post(_url(store.id, 999999, "restock"), headers=h, json={"qty": 1}), 404, "not_found")
    assert_error(client.post(_url(10**20, sku.id, "restock"), headers=h, json={"qty": 1}), 404, "not_found")
    assert_error(client.post(_url(store.id, bundle.id, "restock"), headers=h, json={"qty": 1}),
                 400, "bundle_has_no_stock")
    for role in ("clerk", "analyst"):
        hr = bearer(staff_token(client, make_staff(role, [store])))
        assert_error(client.post(_url(store.id, sku.id, "restock"), headers=hr, json={"qty": 1}),
                     403, "forbidden")
    hm = bearer(staff_token(client, make_staff("manager", [other])))
    assert_error(client.post(_url(store.id, sku.id, "restock"), headers=hm, json={"qty": 1}), 403, "forbidden")
    assert _count(Inventory) == 0 and _count(StockMovement) == 0


def test_restock_refuses_a_counter_beyond_the_ceiling(ctx):
    store = make_store()
    sku = make_product().skus[0]
    stock_admin.restock(None, store.id, sku.id, stock_admin.MAX_ON_HAND)
    db.session.commit()
    with pytest.raises(stock_admin.InvalidRequest):
        stock_admin.restock(None, store.id, sku.id, 1)
    db.session.rollback()
    assert _inv(store, sku).on_hand == stock_admin.MAX_ON_HAND


def test_set_stock_refuses_a_bundle(client, ctx):
    store = make_store()
    bundle = make_bundle()
    assert_error(client.put(f"/api/admin/stores/{store.id}/inventory/{bundle.id}",
                            headers=admin_headers(client), json={"on_hand": 5}), 400, "bundle_has_no_stock")
    assert _count(Inventory) == 0


# --- adjust -------------------------------------------------------------------------------

def test_adjust_down_and_up_never_below_reserved(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 10)
    stock.reserve(store.id, [(sku.id, 4)], order_id=None)
    db.session.commit()
    h = admin_headers(client)
    resp = client.post(_url(store.id, sku.id, "adjust"), headers=h,
                       json={"delta": -3, "reason": "damaged", "note": "破损"})
    assert resp.status_code == 200 and (resp.json["on_hand"], resp.json["available"]) == (7, 3)
    err = assert_error(client.post(_url(store.id, sku.id, "adjust"), headers=h,
                                   json={"delta": -4, "reason": "lost"}), 409, "stock_below_reserved")
    assert err["details"]["reserved"] == 4
    assert client.post(_url(store.id, sku.id, "adjust"), headers=h,
                       json={"delta": -3, "reason": "lost"}).json["on_hand"] == 4
    assert client.post(_url(store.id, sku.id, "adjust"), headers=h,
                       json={"delta": 6, "reason": "found"}).json["on_hand"] == 10
    assert [(m.delta_on_hand, m.reason) for m in _moves(store_id=store.id, delta_reserved=0)] == [
        (10, "count"), (-3, "adjust:damaged"), (-3, "adjust:lost"), (6, "adjust:found")]
    # On a SKU the store never stocked, a negative adjustment is refused the same way.
    other = make_product("面粉").skus[0]
    assert_error(client.post(_url(store.id, other.id, "adjust"), headers=h,
                             json={"delta": -1, "reason": "count_correction"}), 409, "stock_below_reserved")
    assert _inv(store, other) is None


def test_adjust_bad_input_and_roles(client, ctx):
    store, other = make_store(), make_store()
    sku = make_product().skus[0]
    set_stock(store, sku, 10)
    h = admin_headers(client)
    for bad in ({"delta": 0, "reason": "other"}, {"delta": 1}, {"delta": 1, "reason": "stolen"},
                {"delta": "1", "reason": "other"}, {"delta": 1.5, "reason": "other"},
                {"delta": -10**8, "reason": "lost"}, {"reason": "lost"},
                {"delta": 1, "reason": "other", "staff_id": 1}):
        assert_error(client.post(_url(store.id, sku.id, "adjust"), headers=h, json=bad),
                     400, "invalid_request")
    assert_error(client.post(_url(store.id, make_bundle().id, "adjust"), headers=h,
                             json={"delta": 1, "reason": "found"}), 400, "bundle_has_no_stock")
    assert_error(client.post(_url(999999, sku.id, "adjust"), headers=h,
                             json={"delta": 1, "reason": "found"}), 404, "not_found")
    for member in (make_staff("clerk", [store]), make_staff("manager", [other])):
        assert_error(client.post(_url(store.id, sku.id, "adjust"), headers=bearer(staff_token(client, member)),
                                 json={"delta": 1, "reason": "found"}), 403, "forbidden")
    assert _inv(store, sku).on_hand == 10 and len(_moves()) == 1


# --- transfers ----------------------------------------------------------------------------

def test_transfer_moves_stock_in_one_ledgered_step(client, ctx):
    a, b = make_store(), make_store()
    sku = make_product().skus[0]
    set_stock(a, sku, 50)
    manager = make_staff("manager", [a, b])
    resp = client.post("/api/admin/transfers", headers=bearer(staff_token(client, manager)),
                       json={"from_store_id": a.id, "to_store_id": b.id, "sku_id": sku.id, "qty": 20,
                             "note": "调拨"})
    assert resp.status_code == 201, resp.json
    t = resp.json
    assert (t["from_store_id"], t["to_store_id"], t["qty"], t["staff_id"]) == (a.id, b.id, 20, manager.id)
    assert _inv(a, sku).on_hand == 30 and _inv(b, sku).on_hand == 20  # b's row was created
    legs = _moves(ref=f"transfer:{t['id']}")
    assert [(m.store_id, m.delta_on_hand, m.reason, m.staff_id, m.note) for m in legs] == [
        (a.id, -20, "transfer_out", manager.id, "调拨"), (b.id, 20, "transfer_in", manager.id, "调拨")]
    assert db.session.get(StockTransfer, t["id"]).qty == 20
    assert db.session.scalars(select(AuditLog.action).filter_by(target_type="stock_transfers")).all() == [
        "stock.transfer"]


def test_transfer_refusals(client, ctx):
    a, b, c = make_store(), make_store(), make_store()
    sku = make_product().skus[0]
    set_stock(a, sku, 10)
    stock.reserve(a.id, [(sku.id, 8)], order_id=None)
    db.session.commit()
    h = admin_headers(client)

    def post(headers=h, **over):
        body = {"from_store_id": a.id, "to_store_id": b.id, "sku_id": sku.id, "qty": 1, **over}
        return client.post("/api/admin/transfers", headers=headers, json=body)

    err = assert_error(post(qty=3), 409, "out_of_stock")     # 10 on hand, only 2 available
    assert err["details"]["available"] == 2
    assert_error(post(from_store_id=c.id), 409, "out_of_stock")  # c never stocked it
    assert_error(post(to_store_id=a.id), 400, "invalid_request")
    for bad in ({"qty": 0}, {"qty": -2}, {"qty": "1"}, {"qty": 10**9}, {"sku_id": "x"},
                {"from_store_id": None}, {"to_store_id": 10**12}, {"nope": 1}):
        assert_error(post(**bad), 400, "invalid_request")
    assert_error(post(to_store_id=999999), 404, "not_found")
    assert_error(post(sku_id=999999), 404, "not_found")
    assert_error(post(sku_id=make_bundle().id), 400, "bundle_has_no_stock")
    one_side = bearer(staff_token(client, make_staff("manager", [a])))
    assert_error(post(headers=one_side), 403, "forbidden")
    assert_error(post(headers=bearer(staff_token(client, make_staff("clerk", [a, b])))), 403, "forbidden")
    assert _count(StockTransfer) == 0 and _inv(b, sku) is None and _inv(a, sku).on_hand == 10
    assert post(qty=2).status_code == 201                       # exactly what is available
    assert (_inv(a, sku).available, _inv(b, sku).available) == (0, 2)


# --- proposals ----------------------------------------------------------------------------

def _critical_with_donor(sku):
    target, donor = make_store(lat=31.23, lng=121.47), make_store(lat=31.24, lng=121.47)
    set_stock(donor, sku, 100, baseline=100)
    set_stock(target, sku, 0, baseline=100)
    return target, donor


def test_accept_proposal_runs_the_transfer_once(client, ctx):
    sku = make_product().skus[0]
    target, donor = _critical_with_donor(sku)
    only_target = bearer(staff_token(client, make_staff("manager", [target])))
    listed = client.get("/api/admin/transfer-proposals?status=proposed", headers=only_target).json
    [p] = listed["items"]
    assert (p["from_store_id"], p["to_store_id"], p["qty"], p["status"]) == (donor.id, target.id, 30, "proposed")
    assert_error(client.post(f"/api/admin/transfer-proposals/{p['id']}/accept", headers=only_target),
                 403, "forbidden")                             # would take another store's stock
    stranger = bearer(staff_token(client, make_staff("manager", [make_store()])))
    assert client.get("/api/admin/transfer-proposals", headers=stranger).json["items"] == []
    admin = make_staff("admin")
    h = bearer(staff_token(client, admin))
    resp = client.post(f"/api/admin/transfer-proposals/{p['id']}/accept", headers=h)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "accepted" and resp.json["decided_by"] == admin.id
    assert resp.json["transfer_id"] and resp.json["decided_at"]
    assert (_inv(target, sku).on_hand, _inv(donor, sku).on_hand) == (30, 70)
    assert (_inv(target, sku).level, _inv(target, sku).online) == ("normal", True)
    assert len(_moves(ref=f"transfer:{resp.json['transfer_id']}")) == 2
    for again in ("accept", "reject"):
        assert_error(client.post(f"/api/admin/transfer-proposals/{p['id']}/{again}", headers=h),
                     409, "invalid_transition")
    assert _count(StockTransfer) == 1 and _inv(donor, sku).on_hand == 70
    assert client.get("/api/admin/transfer-proposals?status=proposed", headers=h).json["items"] == []
    assert_error(client.post("/api/admin/transfer-proposals/999999/accept", headers=h), 404, "not_found")


def test_reject_proposal_moves_nothing(client, ctx):
    sku = make_product().skus[0]
    target, donor = _critical_with_donor(sku)
    [proposal_id] = db.session.scalars(select(TransferProposal.id)).all()
    clerk = bearer(staff_token(client, make_staff("clerk", [target])))
    assert_error(client.post(f"/api/admin/transfer-proposals/{proposal_id}/reject", headers=clerk),
                 403, "forbidden")
    assert_error(client.get("/api/admin/transfer-proposals", headers=clerk), 403, "forbidden")
    donor_manager = bearer(staff_token(client, make_staff("manager", [donor])))
    resp = client.post(f"/api/admin/transfer-proposals/{proposal_id}/reject", headers=donor_manager)
    assert resp.status_code == 200 and resp.json["status"] == "rejected" and resp.json["transfer_id"] is None
    assert (_inv(target, sku).on_hand, _inv(donor, sku).on_hand) == (0, 100)
    assert _count(StockTransfer) == 0
    listed = client.get("/api/admin/transfer-proposals?status=rejected", headers=donor_manager).json
    assert [p["id"] for p in listed["items"]] == [proposal_id]
    assert_error(client.get("/api/admin/transfer-proposals?status=maybe", headers=donor_manager),
                 400, "invalid_request")


# --- alert views --------------------------------------------------------------------------

def test_replenishment_requests_and_level_events_by_visibility(client, ctx):
    mine, theirs = make_store(), make_store()
    sku = make_product().skus[0]
    for store in (mine, theirs):
        set_stock(store, sku, 100, baseline=100)
        set_stock(store, sku, 8)            # red: one request each
    set_stock(mine, sku, 20)                # tight: mine's request fulfilled
    admin, analyst = admin_headers(client), bearer(staff_token(client, make_staff("analyst")))
    manager = bearer(staff_token(client, make_staff("manager", [mine])))
    clerk = bearer(staff_token(client, make_staff("clerk", [theirs])))

    def stores_of(headers, query=""):
        resp = client.get(f"/api/admin/replenishment-requests{query}", headers=headers)
        assert resp.status_code == 200, resp.json
        return sorted((r["store_id"], r["status"]) for r in resp.json["items"])

    both = [(mine.id, "fulfilled"), (theirs.id, "open")]
    assert stores_of(admin) == stores_of(analyst) == both
    assert stores_of(admin, "?status=open") == [(theirs.id, "open")]
    assert stores_of(admin, f"?store_id={mine.id}") == [(mine.id, "fulfilled")]
    assert stores_of(manager) == [(mine.id, "fulfilled")]
    assert stores_of(clerk, "?status=open") == [(theirs.id, "open")]
    assert_error(client.get(f"/api/admin/replenishment-requests?store_id={mine.id}", headers=clerk),
                 403, "forbidden")
    assert_error(client.get("/api/admin/replenishment-requests?status=lost", headers=admin),
                 400, "invalid_request")

    first = client.get(f"/api/admin/stock-level-events?store_id={mine.id}&limit=1", headers=manager).json
    second = client.get(f"/api/admin/stock-level-events?store_id={mine.id}&limit=1&cursor={first['next_cursor']}",
                        headers=manager).json
    assert [(e["from_level"], e["to_level"]) for e in first["items"] + second["items"]] == [
        ("red", "tight"), ("normal", "red")]                  # newest first
    assert second["next_cursor"] is None and first["items"][0]["available"] == 20
    assert {e["store_id"] for e in client.get("/api/admin/stock-level-events", headers=clerk).json["items"]} == {
        theirs.id}
    assert_error(client.get(f"/api/admin/stock-level-events?store_id={mine.id}", headers=clerk),
                 403, "forbidden")


# --- ledger check -------------------------------------------------------------------------

def test_stock_check_agrees_after_a_mix_then_finds_a_tampered_counter(app, client, ctx):
    a, b = make_store(), make_store()
    rice, flour = make_product().skus[0], make_product("面粉").skus[0]
    set_stock(a, rice, 40, baseline=50)
    h = admin_headers(client)
    assert client.post(_url(a.id, flour.id, "restock"), headers=h, json={"qty": 9}).status_code == 200
    assert client.post(_url(a.id, rice.id, "adjust"), headers=h,
                       json={"delta": -2, "reason": "damaged"}).status_code == 200
    assert client.post("/api/admin/transfers", headers=h, json={
        "from_store_id": a.id, "to_store_id": b.id, "sku_id": rice.id, "qty": 5}).status_code == 201
    stock.reserve(a.id, [(rice.id, 3), (flour.id, 2)], order_id=None)
    stock.release(a.id, [(flour.id, 2)], order_id=None, reason="cancel")
    stock.deduct(a.id, [(rice.id, 3)], order_id=None, reason="picked_up")
    db.session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["stock", "check"])
    assert ok.exit_code == 0 and "ledger and counters agree (3 rows)" in ok.output
    assert check_ledger() == []

    db.session.execute(text("UPDATE inventory SET on_hand = on_hand + 1 WHERE store_id = :s AND sku_id = :k"),
                       {"s": b.id, "k": rice.id})
    db.session.execute(text(  # ledger entries for a (store, SKU) that has no inventory row
        "INSERT INTO stock_movements (at, store_id, sku_id, delta_on_hand, delta_reserved, reason) "
        "VALUES (CURRENT_TIMESTAMP, :s, :k, 4, 0, 'restock')"), {"s": b.id, "k": flour.id})
    db.session.commit()
    assert check_ledger() == [
        {"store_id": b.id, "sku_id": rice.id, "field": "on_hand", "counter": 6, "ledger": 5},
        {"store_id": b.id, "sku_id": flour.id, "field": "inventory_row", "counter": None, "ledger": 4}]
    bad = runner.invoke(args=["stock", "check"])
    assert bad.exit_code == 1
    assert f"store={b.id} sku={rice.id} on_hand: counter=6 ledger=5" in bad.output
    assert f"store={b.id} sku={flour.id} inventory_row" in bad.output


# --- concurrency (the MariaDB run is the one that counts: InnoDB row locks) --------------

def test_opposite_transfers_in_parallel_never_deadlock(app):
    with app.app_context():
        a, b = make_store(), make_store()
        sku = make_product().skus[0]
        for store in (a, b):
            set_stock(store, sku, 100, baseline=300)
        ids = (a.id, b.id, sku.id)
    threads_per_side, rounds, qty = 4, 10, 2
    barrier = threading.Barrier(threads_per_side * 2)
    errors, done = [], []

    def worker(src, dst, sku_id):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                for _ in range(rounds):
                    stock_admin.transfer(None, src, dst, sku_id, qty)
                    db.session.commit()
                    done.append(src)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    a_id, b_id, sku_id = ids
    threads = [threading.Thread(target=worker, args=(s, d, sku_id))
               for s, d in [(a_id, b_id), (b_id, a_id)] * threads_per_side]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(done) == threads_per_side * 2 * rounds
    with app.app_context():
        rows = {i.store_id: i for i in db.session.scalars(select(Inventory))}
        assert rows[a_id].on_hand + rows[b_id].on_hand == 200
        assert rows[a_id].on_hand == 100 - qty * done.count(a_id) + qty * done.count(b_id) == 100
        assert _count(StockTransfer) == len(done) and _count(StockMovement) == 2 + 2 * len(done)
        assert check_ledger() == []
        db.session.remove()


def test_one_proposal_accepted_at_once_moves_the_stock_once(app):
    """Accepting locks the proposal (its guarded move), then the two stores' stock rows in
    (store, SKU) order: of several accepts at once one moves the stock, the others are
    refused, none waits in a circle."""
    from tests.models.orders.test_concurrency import run_threads

    with app.app_context():
        sku = make_product().skus[0]
        target, donor = _critical_with_donor(sku)
        [proposal_id] = db.session.scalars(select(TransferProposal.id)).all()
        admins = [admin_headers(app.test_client()) for _ in range(4)]
        ids = target.id, donor.id, sku.id

    def accept(i):
        return app.test_client().post(f"/api/admin/transfer-proposals/{proposal_id}/accept",
                                      headers=admins[i]).status_code

    assert sorted(run_threads(4, accept)) == [200, 409, 409, 409]
    with app.app_context():
        target_id, donor_id, sku_id = ids
        rows = {i.store_id: i.on_hand for i in db.session.scalars(select(Inventory).where(Inventory.sku_id == sku_id))}
        assert (rows[target_id], rows[donor_id]) == (30, 70)
        assert _count(StockTransfer) == 1 and check_ledger() == []
