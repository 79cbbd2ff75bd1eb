"""Shipping-info upload when WeChat says no: the managers hear of it, and staff correct the
shipment, which tells WeChat again (against the sandbox, which refuses 顺丰 without the
receiver's masked phone as WeChat does)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.official.alert_render import render
from models.outbox.tables import OutboxMessage
from models.stores import Store
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, make_store, staff_token
from tests.models.payments.test_payments import notifications, paid_delivery, place, sb, shop  # noqa: F401 (fixture)

UPLOAD = "/wxa/sec/order/upload_shipping_info"


@pytest.fixture
def manager(app, client, shop):
    with app.app_context():
        return bearer(staff_token(client, make_staff("manager", [db.session.get(Store, shop[0])])))


def uploads(sandbox) -> list[dict]:
    return [u["payload"] for u in sb(sandbox, "GET", "/_/shipping-uploads").json()["uploads"]]


def rows(app, kind) -> list[OutboxMessage]:
    """The rows of `kind` once none is in flight: the live server's dispatch (after the
    payment notification) may have claimed one this request queued."""
    deadline = time.monotonic() + 10
    with app.app_context():
        while True:
            found = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                       .order_by(OutboxMessage.id)).all()
            if time.monotonic() > deadline or all(r.status not in ("pending", "sending") for r in found):
                return found
            db.session.rollback()
            time.sleep(0.05)


def test_an_sf_shipment_carries_the_receivers_masked_phone(app, client, sandbox, shop, manager):
    order_no = paid_delivery(client, sandbox, shop)
    assert client.post(f"/api/staff/orders/{order_no}/ship", headers=manager,
                       json={"carrier": "SF", "tracking_no": "SF1234567890"}).status_code == 200
    assert [r.status for r in rows(app, "shipping_upload")] == ["sent"]
    [body] = uploads(sandbox)
    assert body["shipping_list"][0]["contact"] == {"receiver_contact": "138****5678"}
    assert "13812345678" not in str(body)  # never the whole number


def test_a_refused_upload_alerts_the_managers_and_a_correction_resends_it(app, client, sandbox, shop, manager):
    order_no = paid_delivery(client, sandbox, shop)
    sb(sandbox, "POST", "/_/fail-next", json={"path": UPLOAD, "errcode": 47003})
    client.post(f"/api/staff/orders/{order_no}/ship", headers=manager,
                json={"carrier": "YTO", "tracking_no": "YT000"})
    [failed] = rows(app, "shipping_upload")
    assert failed.status == "failed" and uploads(sandbox) == []
    [alert] = [r for r in rows(app, "staff_alert") if r.payload["event"] == "shipping_upload_failed"]
    assert alert.payload["store_id"] == shop[0]
    with app.app_context():
        shown = render(alert.payload)
    assert shown.values["order_no"] == order_no and "47003" in shown.values["reason"]

    # The clerk typed the number wrong: corrected, the same row goes again and is accepted.
    resp = client.put(f"/api/staff/orders/{order_no}/shipment", headers=manager,
                      json={"carrier": "YTO", "tracking_no": "YT1234567890"})
    assert resp.status_code == 200 and resp.json["changed"] is True
    assert resp.json["tracking_no"] == "YT1234567890"
    assert [(r.id, r.status) for r in rows(app, "shipping_upload")] == [(failed.id, "sent")]
    assert [b["shipping_list"][0]["tracking_no"] for b in uploads(sandbox)] == ["YT1234567890"]
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "order.correct_shipment")).one()
    assert entry.changes == {"tracking_no": ["YT000", "YT1234567890"]}

    # The same again changes nothing; another number after an accepted upload is a new upload.
    again = client.put(f"/api/staff/orders/{order_no}/shipment", headers=manager,
                       json={"carrier": "YTO", "tracking_no": "YT1234567890"})
    assert again.status_code == 200 and again.json["changed"] is False and len(uploads(sandbox)) == 1
    client.put(f"/api/staff/orders/{order_no}/shipment", headers=manager,
               json={"carrier": "ZTO", "tracking_no": "ZT1234567890"})
    assert [r.status for r in rows(app, "shipping_upload")] == ["sent", "sent"]
    assert [b["shipping_list"][0]["express_company"] for b in uploads(sandbox)] == ["YTO", "ZTO"]


def test_only_a_shipped_delivery_order_of_my_store_is_corrected(app, client, sandbox, shop, manager):
    body = {"carrier": "SF", "tracking_no": "SF1234567890"}
    paid = paid_delivery(client, sandbox, shop)
    err = assert_error(client.put(f"/api/staff/orders/{paid}/shipment", headers=manager, json=body),
                       409, "invalid_transition")
    assert err["details"]["status"] == "paid"
    pickup = place(client, shop)
    assert_error(client.put(f"/api/staff/orders/{pickup}/shipment", headers=manager, json=body),
                 409, "invalid_transition")
    client.post(f"/api/staff/orders/{paid}/ship", headers=manager, json=body)
    with app.app_context():
        elsewhere = bearer(staff_token(client, make_staff("manager", [make_store()])))
    assert client.put(f"/api/staff/orders/{paid}/shipment", headers=elsewhere, json=body).status_code in (403, 404)
    assert_error(client.put(f"/api/staff/orders/{paid}/shipment", headers=manager,
                            json={"carrier": "SF", "tracking_no": "no spaces"}), 400, "invalid_request")
