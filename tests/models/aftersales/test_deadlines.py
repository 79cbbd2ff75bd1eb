"""Time travel over the after-sale deadlines: each automatic action fires once, each
reminder goes out once, and the breach report lists what passed its deadline."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from models.aftersales import deadlines
from models.base import utcnow
from models.outbox.tables import OutboxMessage
from tests.factories import mark_ready
from tests.models.aftersales.support import ask, picked_up, refund_of, sale, shop  # noqa: F401


def outbox_events(app, kind):
    with app.app_context():
        return [m.payload.get("event") for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))]


def sweep(app, at):
    with app.app_context():
        return deadlines.sweep(now=at)


def test_no_answer_in_48h_approves_small_refunds_and_escalates_the_rest(app, client, sandbox, shop):
    app.config["AFTERSALE_AUTO_APPROVE_MAX_FEN"] = 12800
    try:
        order_no = picked_up(app, client, sandbox, shop, qty=3)
        small = ask(client, shop, order_no, qty=1)["after_sale_no"]
        large = ask(client, shop, order_no, qty=2)["after_sale_no"]
        now = utcnow()
        assert sweep(app, now + timedelta(hours=30))["acted"] == 0
        assert sweep(app, now + timedelta(hours=37))["reminded"] == 2  # 12 h before the deadline
        assert sweep(app, now + timedelta(hours=38))["reminded"] == 0  # once
        assert outbox_events(app, "staff_alert").count("aftersale_due") == 2
        assert sweep(app, now + timedelta(hours=49))["acted"] == 2
        assert sweep(app, now + timedelta(hours=50))["acted"] == 0  # once
        assert (sale(app, small).status, sale(app, small).auto_action) == ("refunding", "auto_approved")
        assert refund_of(app, small).amount_fen == 12800
        assert (sale(app, large).status, sale(app, large).auto_action) == ("escalated", "escalated")
        assert refund_of(app, large) is None
        assert outbox_events(app, "staff_alert").count("aftersale_escalated") == 1
        # The admin decides an escalation; a manager may not.
        assert client.post(f"/api/staff/aftersales/{large}/approve", headers=shop.manager, json={}).status_code == 403
        assert client.post(f"/api/staff/aftersales/{large}/approve", headers=shop.admin,
                           json={}).json["status"] == "refunding"
        report = client.get("/api/staff/aftersales/breaches", headers=shop.manager).json["items"]
        assert {r["after_sale_no"]: r["auto_action"] for r in report} == {small: "auto_approved", large: "escalated"}
    finally:
        app.config["AFTERSALE_AUTO_APPROVE_MAX_FEN"] = 5000


def test_a_return_never_shipped_is_closed_after_seven_days_once(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no, kind="return_refund", qty=1)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    now = utcnow()
    assert sweep(app, now + timedelta(days=6, hours=13))["reminded"] == 1
    assert "aftersale_due" in outbox_events(app, "subscribe_message")
    assert sweep(app, now + timedelta(days=7, minutes=1))["acted"] == 1
    assert sweep(app, now + timedelta(days=8))["acted"] == 0
    assert (sale(app, no).status, sale(app, no).auto_action) == ("closed", "closed")
    # Its unit is free again.
    assert ask(client, shop, order_no, qty=1)["refund_fen"] == 12800


def test_an_exchange_ends_when_its_replacement_is_picked_up(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no, kind="exchange", qty=1)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    client.post(f"/api/aftersales/{no}/return-shipment", headers=shop.shopper,
                json={"carrier": "YTO", "tracking_no": "YT99887766"})
    line = client.get(f"/api/staff/aftersales/{no}", headers=shop.manager).json["items"][0]["order_item_id"]
    new_no = client.post(f"/api/staff/aftersales/{no}/receive", headers=shop.manager, json={
        "items": [{"order_item_id": line, "received_qty": 1, "resellable_qty": 1}]}).json["replacement_order_no"]
    with app.app_context():
        mark_ready(new_no)
    code = client.get(f"/api/orders/{new_no}/pickup", headers=shop.shopper).json["code"]
    assert client.post("/api/staff/pickups/verify", headers={**shop.clerk, "X-Device-Id": "c1"},
                       json={"code": code}).status_code == 200
    assert sweep(app, utcnow())["exchanged"] == 1
    assert sale(app, no).status == "exchanged"
    assert sweep(app, utcnow())["exchanged"] == 0
