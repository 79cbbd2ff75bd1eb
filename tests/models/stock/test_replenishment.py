"""Replenishment requests decided by staff: accept (the store will restock; the request
stays live and is fulfilled when the level recovers) and reject (not needed: cancelled with
a reason; the next turn into red opens a new one). Through the HTTP API, store-scoped,
audited, decided once."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.stock import admin as stock_admin, holds as stock
from models.stock.tables import ReplenishmentRequest
from tests.app.test_errors import assert_error
from tests.factories import (admin_headers, bearer, make_product, make_staff, make_store,
                             staff_token, stock as set_stock)

URL = "/api/admin/replenishment-requests"


def _red(store, sku) -> int:
    """Stock the SKU at 100 of 100, then down to 8 (red): one open request; its id."""
    set_stock(store, sku, 100, baseline=100)
    set_stock(store, sku, 8)
    return _requests(store, sku)[-1].id


def _requests(store, sku) -> list[ReplenishmentRequest]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReplenishmentRequest).filter_by(
        store_id=store.id, sku_id=sku.id).order_by(ReplenishmentRequest.id)))


def _audit(action) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).filter_by(action=action).order_by(AuditLog.id)))


def test_a_manager_accepts_and_the_restock_fulfils_it(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    request_id = _red(store, sku)
    manager = make_staff("manager", [store])
    h = bearer(staff_token(client, manager))
    resp = client.post(f"{URL}/{request_id}/accept", headers=h, json={"qty": 120})
    assert resp.status_code == 200, resp.json
    out = resp.json
    assert (out["status"], out["decided_by"], out["qty_committed"], out["qty_suggested"]) == (
        "accepted", manager.id, 120, 92)
    assert out["decided_at"] and out["closed_at"] is None and out["reason"] is None
    [entry] = _audit("replenishment_request.accept")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (manager.id, "replenishment_requests",
                                                                   str(request_id))
    assert entry.changes["status"] == ["open", "accepted"] and entry.changes["qty_committed"] == 120

    # Decided once: accepting again, or rejecting now, is 409 with the status it has.
    for again, body in (("accept", {}), ("reject", {"reason": "不需要"})):
        err = assert_error(client.post(f"{URL}/{request_id}/{again}", headers=h, json=body),
                           409, "invalid_transition")
        assert err["details"]["status"] == "accepted"
    assert len(_audit("replenishment_request.accept")) == 1

    # Accepted is still live: listed as such, and a dip into closed opens no second one.
    listed = client.get(f"{URL}?status=accepted&store_id={store.id}", headers=h).json["items"]
    assert [r["id"] for r in listed] == [request_id]
    stock.reserve(store.id, [(sku.id, 4)], order_id=None)     # 4 %: closed
    db.session.commit()
    assert [r.status for r in _requests(store, sku)] == ["accepted"]

    # The goods arrive: back above 10 % fulfils the accepted request.
    assert client.post(f"/api/admin/stores/{store.id}/inventory/{sku.id}/restock", headers=h,
                       json={"qty": 120}).status_code == 200
    [done] = _requests(store, sku)
    assert (done.status, done.decided_by, done.qty_committed) == ("fulfilled", manager.id, 120)
    assert done.closed_at is not None
    err = assert_error(client.post(f"{URL}/{request_id}/reject", headers=h, json={"reason": "晚了"}),
                       409, "invalid_transition")
    assert err["details"]["status"] == "fulfilled"


def test_accept_without_a_quantity_keeps_the_suggestion(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    request_id = _red(store, sku)
    h = admin_headers(client)
    out = client.post(f"{URL}/{request_id}/accept", headers=h, json={}).json
    assert (out["status"], out["qty_committed"]) == ("accepted", None)


def test_reject_cancels_with_a_reason_and_the_next_red_opens_another(client, ctx):
    store = make_store()
    sku = make_product().skus[0]
    request_id = _red(store, sku)
    manager = make_staff("manager", [store])
    h = bearer(staff_token(client, manager))
    for bad in ({}, {"reason": ""}, {"reason": "x" * 201}, {"reason": 5}, {"reason": "ok", "qty": 1}):
        assert_error(client.post(f"{URL}/{request_id}/reject", headers=h, json=bad), 400, "invalid_request")
    assert_error(client.post(f"{URL}/{request_id}/reject", headers=h, json={"reason": "   "}),
                 400, "invalid_request")
    resp = client.post(f"{URL}/{request_id}/reject", headers=h, json={"reason": " 该商品已停产 "})
    assert resp.status_code == 200, resp.json
    out = resp.json
    assert (out["status"], out["reason"], out["decided_by"]) == ("cancelled", "该商品已停产", manager.id)
    assert out["decided_at"] and out["closed_at"] == out["decided_at"]
    [entry] = _audit("replenishment_request.reject")
    assert entry.changes["reason"] == "该商品已停产" and entry.actor_id == manager.id
    err = assert_error(client.post(f"{URL}/{request_id}/reject", headers=h, json={"reason": "again"}),
                       409, "invalid_transition")
    assert err["details"]["status"] == "cancelled"
    assert_error(client.post(f"{URL}/{request_id}/accept", headers=h, json={}), 409, "invalid_transition")

    # Still red, dipping to closed and back to red: no new request (it did not *turn* red).
    stock.reserve(store.id, [(sku.id, 4)], order_id=None)
    stock.release(store.id, [(sku.id, 4)], order_id=None, reason="cancel")
    db.session.commit()
    assert [r.status for r in _requests(store, sku)] == ["cancelled"]
    # Back to tight (a rejected request is not fulfilled: it stays cancelled), then red again.
    set_stock(store, sku, 20)
    set_stock(store, sku, 7)
    assert [(r.status, r.qty_suggested) for r in _requests(store, sku)] == [("cancelled", 92), ("open", 93)]


def test_who_may_decide(client, ctx):
    store, other = make_store(), make_store()
    sku = make_product().skus[0]
    request_id = _red(store, sku)
    for member in (make_staff("manager", [other]), make_staff("clerk", [store]), make_staff("analyst")):
        h = bearer(staff_token(client, member))
        for action, body in (("accept", {}), ("reject", {"reason": "no"})):
            assert_error(client.post(f"{URL}/{request_id}/{action}", headers=h, json=body), 403, "forbidden")
    h = admin_headers(client)
    for missing in (999999, 10**12):
        assert_error(client.post(f"{URL}/{missing}/accept", headers=h, json={}), 404, "not_found")
    for bad in ({"qty": 0}, {"qty": -1}, {"qty": "5"}, {"qty": 10**8}, {"qty": 1.5}, {"note": "x"}):
        assert_error(client.post(f"{URL}/{request_id}/accept", headers=h, json=bad), 400, "invalid_request")
    assert [r.status for r in _requests(store, sku)] == ["open"]
    assert _audit("replenishment_request.accept") == [] and _audit("replenishment_request.reject") == []
    # The manager of both stores (and any admin) may.
    both = bearer(staff_token(client, make_staff("manager", [other, store])))
    assert client.post(f"{URL}/{request_id}/accept", headers=both, json={}).status_code == 200


def test_the_list_filters_by_the_new_status(client, ctx):
    store = make_store()
    a, b = make_product("大米").skus[0], make_product("面粉").skus[0]
    first, second = _red(store, a), _red(store, b)
    h = admin_headers(client)
    client.post(f"{URL}/{first}/accept", headers=h, json={})
    client.post(f"{URL}/{second}/reject", headers=h, json={"reason": "不再销售"})

    def ids(status):
        return [r["id"] for r in client.get(f"{URL}?status={status}", headers=h).json["items"]]

    assert (ids("accepted"), ids("cancelled"), ids("open")) == ([first], [second], [])


def test_accept_and_reject_at_once_decide_once(app):
    """Two managers decide the same request at once: one guarded update applies, the
    other is told it was decided (MariaDB: real row locks)."""
    from tests.models.orders.test_concurrency import run_threads

    with app.app_context():
        store = make_store()
        sku = make_product().skus[0]
        request_id = _red(store, sku)
        heads = [bearer(staff_token(app.test_client(), make_staff("manager", [store]))) for _ in range(4)]

    def decide(i):
        action, body = ("accept", {}) if i % 2 else ("reject", {"reason": "不需要"})
        return app.test_client().post(f"{URL}/{request_id}/{action}", headers=heads[i], json=body).status_code

    assert sorted(run_threads(4, decide)) == [200, 409, 409, 409]
    with app.app_context():
        [request] = db.session.scalars(select(ReplenishmentRequest)).all()
        assert request.status in ("accepted", "cancelled")
        decided = db.session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("replenishment_request.%"))).all()
        assert decided == [f"replenishment_request.{'accept' if request.status == 'accepted' else 'reject'}"]
        db.session.remove()


def test_the_model_refuses_a_bad_quantity_or_reason(ctx):
    store = make_store()
    sku = make_product().skus[0]
    request_id = _red(store, sku)
    for call in (lambda: stock_admin.accept_replenishment(None, request_id, 0),
                 lambda: stock_admin.reject_replenishment(None, request_id, "")):
        try:
            call()
        except stock_admin.InvalidRequest:
            db.session.rollback()
        else:
            raise AssertionError("accepted bad input")
    assert [r.status for r in _requests(store, sku)] == ["open"]
