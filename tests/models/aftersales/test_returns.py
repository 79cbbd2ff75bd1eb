"""Goods coming back: at the store by a store-scoped return code (resellable units
restocked on the ledger, instant refund), or by carrier (signed → the receive deadline),
and an exchange's zero-pay replacement order."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from models.aftersales import returns
from models.base import utcnow
from models.orders.tables import Order
from models.stock.check import check_ledger
from models.stock.tables import StockMovement
from tests.app.test_errors import assert_error
from tests.models.aftersales.support import ask, on_hand, picked_up, refund_of, sale, shop  # noqa: F401


def test_a_return_at_the_store_restocks_only_resellable_units_and_refunds_at_once(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=3)
    no = ask(client, shop, order_no, kind="return_at_store", qty=2)["after_sale_no"]
    approved = client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    assert approved.json["status"] == "awaiting_return" and approved.json["return_code"] is None  # staff never see it
    code = client.get(f"/api/aftersales/{no}", headers=shop.shopper).json["return_code"]
    assert code and len(code) == 12
    # Another store's clerk: exactly the answer for an unknown code.
    assert_error(client.post("/api/staff/aftersales/returns/preview", headers=shop.other_clerk, json={"code": code}),
                 404, "return_code_invalid")
    assert_error(client.post("/api/staff/aftersales/returns/preview", headers=shop.clerk,
                             json={"code": "000000000000"}), 404, "return_code_invalid")
    preview = client.post("/api/staff/aftersales/returns/preview", headers=shop.clerk, json={"code": code})
    assert preview.status_code == 200 and preview.json["after_sale_no"] == no
    line = preview.json["items"][0]["order_item_id"]
    before = on_hand(app, shop)
    done = client.post("/api/staff/aftersales/returns/receive", headers=shop.clerk, json={
        "code": code, "items": [{"order_item_id": line, "received_qty": 2, "resellable_qty": 1}]})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "refunding"
    assert on_hand(app, shop) == (before[0] + 1, before[1])  # one unit back on the shelf
    with app.app_context():
        moves = db.session.scalars(select(StockMovement).where(StockMovement.reason == "aftersale_return")).all()
        assert [(m.delta_on_hand, m.delta_reserved) for m in moves] == [(1, 0)]
        assert check_ledger() == []
    assert refund_of(app, no).amount_fen == 2 * 12800
    # The code is spent: a second scan finds nothing waiting.
    assert_error(client.post("/api/staff/aftersales/returns/preview", headers=shop.clerk, json={"code": code}),
                 404, "return_code_invalid")


def test_a_refund_only_never_restocks(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=2)
    before = on_hand(app, shop)
    no = ask(client, shop, order_no, qty=2)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    assert on_hand(app, shop) == before
    assert_error(client.post(f"/api/staff/aftersales/{no}/receive", headers=shop.manager, json={
        "items": [{"order_item_id": 1, "received_qty": 1}]}), 422, "aftersale_receipt_invalid")


def test_a_return_by_carrier_is_received_by_the_timer_seven_days_after_signed(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no, kind="return_refund", qty=1)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    shipped = client.post(f"/api/aftersales/{no}/return-shipment", headers=shop.shopper,
                          json={"carrier": "SF", "tracking_no": "SF1234567890"})
    assert shipped.json["status"] == "return_shipped" and shipped.json["tracking_no"] == "SF1234567890"
    signed = utcnow().replace(microsecond=0)
    with app.app_context():
        assert returns.mark_return_signed(no, signed) is True
        db.session.commit()
        assert returns.mark_return_signed(no, signed + timedelta(hours=1)) is False  # once
        db.session.commit()
    assert sale(app, no).deadline_at == signed + timedelta(days=7)
    from models.aftersales import deadlines

    with app.app_context():
        assert deadlines.sweep(now=signed + timedelta(days=6))["acted"] == 0
        assert deadlines.sweep(now=signed + timedelta(days=7, minutes=1))["acted"] == 1
        assert deadlines.sweep(now=signed + timedelta(days=7, minutes=2))["acted"] == 0
    got = sale(app, no)
    assert got.status == "refunding" and got.auto_action == "auto_received"
    assert refund_of(app, no).amount_fen == 12800


def test_an_exchange_makes_a_zero_pay_replacement_that_holds_stock(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=2)
    no = ask(client, shop, order_no, kind="exchange", qty=1)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    client.post(f"/api/aftersales/{no}/return-shipment", headers=shop.shopper,
                json={"carrier": "YTO", "tracking_no": "YT99887766"})
    line = client.get(f"/api/staff/aftersales/{no}", headers=shop.manager).json["items"][0]["order_item_id"]
    before = on_hand(app, shop)
    done = client.post(f"/api/staff/aftersales/{no}/receive", headers=shop.manager, json={
        "items": [{"order_item_id": line, "received_qty": 1, "resellable_qty": 0}]})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "replacing" and done.json["replacement_order_no"]
    assert on_hand(app, shop) == (before[0], before[1] + 1)  # the replacement holds one unit
    with app.app_context():
        new = db.session.scalars(select(Order).where(Order.order_no == done.json["replacement_order_no"])).one()
        assert new.status == "paid" and new.payable_fen == 0 and new.source == f"as:{no}"
    assert refund_of(app, no) is None


def test_a_return_shipment_is_a_tracked_parcel_whose_signing_starts_the_receive_deadline(app, client, sandbox, shop):
    """The after-sale and the parcel tracking together: the shopper's carrier and number
    become a return parcel subscribed at 快递100; its "signed" push (twice) starts the
    merchant's 7 days once, through shipments.events.return_signed."""
    from models.shipments.tables import Parcel
    from tests.models.shipments.conftest import push, settled
    from tests.models.shipments.test_tracking import settled_subscription

    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no, kind="return_refund", qty=1)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    assert client.post(f"/api/aftersales/{no}/return-shipment", headers=shop.shopper,
                       json={"carrier": "YTO", "tracking_no": "YT3000000001"}).status_code == 200
    with app.app_context():
        parcel = db.session.scalars(select(Parcel).where(Parcel.tracking_no == "YT3000000001")).one()
        assert (parcel.direction, parcel.after_sale_no) == ("return", no)
    from app.tasks import run_deferred
    with app.app_context():
        run_deferred()  # the subscription queued by the request, sent (the test client defers it)
    settled(app)
    settled_subscription(sandbox, "YT3000000001")
    at = utcnow().replace(microsecond=0)
    push(sandbox, "YT3000000001", state=3, at=at.timestamp(), duplicates=1)
    settled(app)
    assert sale(app, no).signed_at == at and sale(app, no).deadline_at == at + timedelta(days=7)
