"""Verification at the counter: preview changes nothing; verify hands over once, in parts,
bundles by their components; only the order's store; tampered and stale payloads; every
bad input a 4xx with a stable code; every attempt audited."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.audit import AuditLog
from models.catalog import create_product
from models.stock.tables import StockMovement
from models.orders.tables import OrderEvent, OrderItem
from models.outbox.tables import OutboxMessage
from models.pickup import payloads
from models.pickup.tables import PickupVerification
from models.stock.check import check_ledger
from models.users import User
from tests.factories import admin_headers, bearer, make_staff, make_store, staff_token
from tests.models.pickup.support import (counter, counters, make_counter, order_row, preview, ready_order,  # noqa: F401
                                  shown, verify)
from tests.app.test_errors import assert_error


def outbox(kind):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.id)).all()


def test_preview_changes_nothing(client, counter):
    user = db.session.get(User, counter.user.id)
    from models.users import bind_phone

    bind_phone(user, {"purePhoneNumber": "13812345678", "countryCode": "86", "phoneNumber": "13812345678"})
    db.session.commit()
    order_no = ready_order(client, counter, (counter.skus[0], 2), (counter.skus[1], 1))
    code = shown(client, counter, order_no)["code"]
    before = counters(counter.store, counter.skus[0])
    resp = preview(client, counter.clerk, code=code)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["order_no"] == order_no and body["status"] == "ready_for_pickup"
    assert body["buyer_masked"] == "138****5678" and body["level"] == 1
    assert [(i["sku_id"], i["qty"], i["picked_up_qty"], i["remaining"]) for i in body["items"]] == [
        (counter.skus[0].id, 2, 0, 2), (counter.skus[1].id, 1, 0, 1)]
    assert [(i["sku_id"], i["qty"]) for i in body["remaining"]] == [(counter.skus[0].id, 2), (counter.skus[1].id, 1)]
    assert preview(client, counter.clerk, code=f"{code[:4]} {code[4:8]}-{code[8:]}").status_code == 200
    assert counters(counter.store, counter.skus[0]) == before
    assert order_row(order_no).status == "ready_for_pickup"
    assert db.session.scalar(select(func.count()).select_from(PickupVerification)) == 0
    audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "pickup.preview")).all()
    assert len(audits) == 2 and all(a.changes["result"] == "ok" and a.changes["device"] == "dev:counter-1"
                                    for a in audits)


def test_verify_hands_over_once(client, counter):
    order_no = ready_order(client, counter, (counter.skus[0], 3))
    code = shown(client, counter, order_no)["code"]
    resp = verify(client, counter.clerk, code=code)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "picked_up" and resp.json["partial"] is False
    assert resp.json["picked_up"] == [{"sku_id": counter.skus[0].id, "name": "月饼", "spec": "双黄 6枚", "qty": 3}]
    assert resp.json["remaining"] == [] and resp.json["verified_at"]
    assert counters(counter.store, counter.skus[0]) == (47, 0)
    order = order_row(order_no)
    assert order.picked_up_at and order.completed_at is None
    events = db.session.scalars(select(OrderEvent.to_status).where(OrderEvent.order_id == order.id)
                                .order_by(OrderEvent.id)).all()
    assert events[-2:] == ["ready_for_pickup", "picked_up"]
    assert [m.payload for m in outbox("shipping_upload")] == [{"order_id": order.id, "logistics_type": 4}]
    picked = [m.payload for m in outbox("subscribe_message") if m.payload["event"] == "order_picked_up"]
    assert picked == [{"event": "order_picked_up", "order_id": order.id, "partial": False}]
    again = assert_error(verify(client, counter.clerk, code=code), 409, "already_picked_up")
    assert again["details"]["staff_id"] == counter.clerk_id and again["details"]["picked_up_at"]
    assert again["details"]["staff_name"]
    assert_error(preview(client, counter.clerk, code=code), 409, "already_picked_up")
    assert_error(client.get(f"/api/orders/{order_no}/pickup", headers=counter.shopper), 409, "already_picked_up")
    assert counters(counter.store, counter.skus[0]) == (47, 0)
    assert db.session.scalar(select(func.count()).select_from(PickupVerification)) == 1
    assert check_ledger() == []


def test_picked_up_orders_complete_after_the_after_sales_window(app, client, counter):
    from datetime import timedelta

    from sqlalchemy import update

    from models.base import utcnow
    from models.orders.tables import Order

    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    assert verify(client, counter.clerk, code=code).status_code == 200
    runner = app.test_cli_runner()
    assert "'auto_completed': 0" in runner.invoke(args=["orders", "sweep"]).output
    db.session.execute(update(Order).where(Order.order_no == order_no)
                       .values(picked_up_at=utcnow() - timedelta(days=7, seconds=1)))
    db.session.commit()
    assert "'auto_completed': 1" in runner.invoke(args=["orders", "sweep"]).output
    order = order_row(order_no)
    assert order.status == "completed" and order.completed_at
    assert_error(verify(client, counter.clerk, code=code), 409, "already_picked_up")


def test_partial_pickups_sum_up(client, counter):
    a, b = counter.skus
    order_no = ready_order(client, counter, (a, 3), (b, 2))
    code = shown(client, counter, order_no)["code"]
    first = verify(client, counter.clerk, code=code, items=[{"sku_id": a.id, "qty": 1}])
    assert first.status_code == 200, first.json
    assert first.json["status"] == "ready_for_pickup" and first.json["partial"] is True
    assert [(i["sku_id"], i["qty"]) for i in first.json["remaining"]] == [(a.id, 2), (b.id, 2)]
    assert shown(client, counter, order_no)["code"] == code  # the same code for the next visit
    second = verify(client, counter.clerk, code=code, items=[{"sku_id": b.id, "qty": 1}, {"sku_id": a.id, "qty": 2}])
    assert second.json["partial"] is True and [(i["sku_id"], i["qty"]) for i in second.json["remaining"]] == [(b.id, 1)]
    err = assert_error(verify(client, counter.clerk, code=code, items=[{"sku_id": b.id, "qty": 2}]),
                       409, "pickup_qty_exceeded")
    assert err["details"] == {"sku_id": b.id, "requested": 2, "remaining": 1}
    last = verify(client, counter.clerk, code=code)  # no items: whatever is left
    assert last.json["status"] == "picked_up" and last.json["picked_up"][0]["qty"] == 1
    db.session.expire_all()
    assert [(i.qty, i.picked_up_qty) for i in db.session.scalars(select(OrderItem).order_by(OrderItem.id))] == (
        [(3, 3), (2, 2)])
    assert counters(counter.store, a) == (47, 0) and counters(counter.store, b) == (48, 0)
    rows = db.session.scalars(select(PickupVerification).order_by(PickupVerification.seq)).all()
    assert [(r.seq, r.items, r.partial) for r in rows] == [
        (1, [[a.id, 1]], True), (2, sorted([[a.id, 2], [b.id, 1]]), True), (3, [[b.id, 1]], False)]
    picked = [m.payload["partial"] for m in outbox("subscribe_message") if m.payload["event"] == "order_picked_up"]
    assert picked == [True, True, False]
    assert len(outbox("shipping_upload")) == 1
    deducted = db.session.scalar(select(func.sum(StockMovement.delta_on_hand)).where(StockMovement.reason == "pick_up"))
    assert deducted == -5
    assert check_ledger() == []


def test_bundles_hand_over_their_components(client, counter):
    part = counter.skus[1]
    bundle = create_product(None, {"name": "礼盒"}, [
        {"spec": "套装", "price_fen": 30000, "components": [{"sku_id": part.id, "qty": 2}]}]).skus[0]
    db.session.commit()
    order_no = ready_order(client, counter, (bundle, 3))
    assert counters(counter.store, part) == (50, 6)
    code = shown(client, counter, order_no)["code"]
    assert verify(client, counter.clerk, code=code, items=[{"sku_id": bundle.id, "qty": 1}]).status_code == 200
    assert counters(counter.store, part) == (48, 4)
    assert verify(client, counter.clerk, code=code).json["status"] == "picked_up"
    assert counters(counter.store, part) == (44, 0)
    assert_error(verify(client, counter.clerk, code=code, items=[{"sku_id": part.id, "qty": 1}]),
                 409, "already_picked_up")
    assert check_ledger() == []


def test_other_stores_get_the_same_answer_as_an_unknown_code(client, ctx):
    c = make_counter(client, store_level=1)
    v2 = make_counter(client, store_level=2)
    code = shown(client, c, ready_order(client, c))["code"]
    payload = shown(client, v2, ready_order(client, v2))["qr_payload"]
    elsewhere = bearer(staff_token(client, make_staff("clerk", [make_store()])))
    manager_elsewhere = bearer(staff_token(client, make_staff("manager", [make_store()])))
    unknown = next(f"{n:012d}" for n in range(10**11, 10**12) if f"{n:012d}" != code)
    answers = [
        verify(client, elsewhere, code=unknown), verify(client, elsewhere, code=code),
        preview(client, elsewhere, code=code), verify(client, manager_elsewhere, qr_payload=payload),
        preview(client, manager_elsewhere, qr_payload=payload), verify(client, c.clerk, code=unknown),
    ]
    bodies = [(r.status_code, r.get_json()) for r in answers]
    assert all(b == bodies[0] for b in bodies), bodies
    assert bodies[0][0] == 400 and bodies[0][1]["error"]["code"] == "pickup_code_invalid"
    assert bodies[0][1]["error"]["details"] == {}
    # Nothing was counted against those orders, and they still hand over at their store.
    assert verify(client, c.clerk, code=code).status_code == 200
    assert verify(client, v2.clerk, qr_payload=payload).status_code == 200
    reasons = [a.changes.get("reason") for a in db.session.scalars(select(AuditLog).where(
        AuditLog.action.in_(["pickup.verify", "pickup.preview"])).order_by(AuditLog.id))]
    assert reasons[:6] == ["unknown", "other_store", "other_store", "other_store", "other_store", "unknown"]


def test_roles_and_admins(client, counter):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    analyst = bearer(staff_token(client, make_staff("analyst")))
    assert_error(verify(client, analyst, code=code), 403, "forbidden")
    assert_error(verify(client, counter.shopper, code=code), 401, "unauthorized")
    assert_error(client.post("/api/staff/pickups/verify", json={"code": code}), 401, "unauthorized")
    assert verify(client, admin_headers(client), code=code).status_code == 200  # admins: every store


def test_signed_payloads_tampered_and_stale(client, ctx):
    v2 = make_counter(client, store_level=2)
    order_no = ready_order(client, v2)
    code, payload = (lambda b: (b["code"], b["qr_payload"]))(shown(client, v2, order_no))
    assert_error(verify(client, v2.clerk, code=code), 400, "pickup_scan_required")  # typed in: not enough
    assert_error(verify(client, v2.clerk, qr_payload=code), 400, "pickup_scan_required")
    flipped = payload[:-1] + ("0" if payload[-1] != "0" else "1")
    other_version = payload.replace(f"{order_no}:1:", f"{order_no}:2:")
    for bad in (flipped, other_version, payload.lower(), payload + "0", "TH2:" + payload[4:].replace("TH", "XX", 1)):
        assert_error(verify(client, v2.clerk, qr_payload=bad), 400, "pickup_code_invalid")
    # Two of those named the order (an altered signature, a version never issued): one more
    # wrong code against it, typed with the order open, locks it.
    assert_error(verify(client, v2.clerk, order_no=order_no, code="000000000000"), 400, "pickup_code_invalid")
    assert_error(verify(client, v2.clerk, qr_payload=payload), 423, "pickup_locked")

    v3 = make_counter(client, store_level=3)
    order_no = ready_order(client, v3)
    now = time.time()
    stale = payloads.signed_payload(3, order_no, 1, now=now - 2 * payloads.WINDOW_S)
    previous = payloads.signed_payload(3, order_no, 1, now=now - payloads.WINDOW_S)
    static = payloads.signed_payload(2, order_no, 1)
    assert_error(verify(client, v3.clerk, qr_payload=stale), 400, "pickup_qr_stale")
    assert_error(verify(client, v3.clerk, qr_payload=static), 400, "pickup_scan_required")
    window = int(stale.split(":")[3])
    moved = stale.replace(f":{window}:", f":{window + 2}:")  # a stale one with its window moved on
    assert_error(verify(client, v3.clerk, qr_payload=moved), 400, "pickup_code_invalid")
    resp = verify(client, v3.clerk, qr_payload=previous)  # one window of tolerance
    assert resp.status_code == 200, resp.json


@pytest.mark.parametrize("body", [
    {}, {"code": "12345678901"}, {"code": "1234567890123"}, {"code": "12345678901a"}, {"code": 123456789012},
    {"code": "123456789012", "qr_payload": "123456789012"}, {"qr_payload": ""}, {"qr_payload": "x" * 129},
    {"code": "123456789012", "extra": 1}, {"code": "123456789012", "items": []},
    {"code": "123456789012", "items": [{"sku_id": 1, "qty": 0}]},
    {"code": "123456789012", "items": [{"sku_id": 1}]},
    {"code": "123456789012", "items": [{"sku_id": 1, "qty": 1}, {"sku_id": 1, "qty": 2}]},
    {"code": "123456789012", "items": [{"sku_id": "1", "qty": 1}]},
    {"code": "123456789012", "order_no": "x"}, {"code": None},
])
def test_bad_input_is_400(client, counter, body):
    assert_error(client.post("/api/staff/pickups/verify", headers=counter.clerk, json=body), 400, "invalid_request")


def test_bad_requests_with_stable_codes(client, counter):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    for form in ("not a code", "TH2:x", "TH3:TH1234567890:1:ABC", "pk=short", "https://evil.example/?c=1"):
        assert_error(verify(client, counter.clerk, qr_payload=form), 400, "pickup_code_invalid")
    assert_error(verify(client, counter.clerk, device="bad device!", code=code), 400, "invalid_request")
    assert_error(verify(client, counter.clerk, code=code, items=[{"sku_id": 999999, "qty": 1}]),
                 400, "pickup_items_invalid")
    assert_error(client.post("/api/staff/pickups/verify", headers=counter.clerk, data="code=1",
                             content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")
    assert_error(client.get("/api/staff/pickups/reviews?limit=0", headers=counter.manager), 400, "invalid_request")
    assert_error(client.get("/api/staff/pickups/reviews?cursor=abc", headers=counter.manager), 400, "invalid_request")
    assert_error(client.post(f"/api/staff/pickups/orders/{order_no}/extend", headers=counter.manager,
                             json={"hours": 0}), 400, "invalid_request")
    assert_error(client.post("/api/staff/pickups/orders/TH000/unlock", headers=counter.manager, json={}),
                 404, "not_found")
    assert_error(client.get(f"/api/orders/{order_no}/pickup?lat=abc&lng=1", headers=counter.shopper),
                 400, "invalid_request")
    assert verify(client, counter.clerk, code=code).status_code == 200  # none of it counted against the order


def test_not_ready_orders(client, counter):
    from models.orders.status import SYSTEM, transition

    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    transition(order_row(order_no), "start_refund", SYSTEM)  # a staff refund under way
    db.session.commit()
    err = assert_error(verify(client, counter.clerk, code=code), 409, "pickup_not_ready")
    assert err["details"]["status"] == "refunding"
    assert_error(preview(client, counter.clerk, code=code), 409, "pickup_not_ready")
