"""An after-sale's money goes back through the WeChat Pay refund path with the after-sale's
number as out_refund_no; its settlement moves the after-sale, once."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models.payments.tables import PaymentCase, Refund
from models.state_machine import StateChange
from tests.models.aftersales.support import ask, picked_up, refund_of, sale, shop  # noqa: F401
from tests.models.payments.test_payments import eventually, sb


def test_a_refund_only_is_refunded_and_a_duplicate_notify_is_applied_once(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=2)
    no = ask(client, shop, order_no, qty=1)["after_sale_no"]
    resp = client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    assert resp.status_code == 200 and resp.json["status"] == "refunding", resp.json
    eventually(app, lambda: (r := refund_of(app, no)) is not None and r.status == "processing")
    assert refund_of(app, no).amount_fen == 12800
    finish = sb(sandbox, "POST", f"/_/pay/refunds/{no}/finish", json={"status": "SUCCESS", "duplicates": 3})
    assert finish.status_code == 200, finish.text
    log = sb(sandbox, "GET", "/_/pay/notifications", params={"out_refund_no": no, "wait": 5}).json()["notifications"]
    assert [n["status_code"] for n in log if n["variant"] == "duplicate"] == [204, 204, 204]
    assert sale(app, no).status == "refunded" and sale(app, no).refunded_fen == 12800
    with app.app_context():
        moves = db.session.scalar(select(func.count()).select_from(StateChange).where(
            StateChange.machine == "after_sales", StateChange.to_status == "refunded"))
        assert moves == 1
    # The order keeps its status (the goods were handed over); the rest stays refundable.
    detail = client.get(f"/api/staff/orders/{order_no}", headers=shop.manager).json
    assert detail["refundable_fen"] == 12800


def test_a_refused_refund_fails_the_after_sale_with_one_payment_case(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no, qty=1)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={})
    eventually(app, lambda: (r := refund_of(app, no)) is not None and r.status == "processing")
    sb(sandbox, "POST", f"/_/pay/refunds/{no}/finish", json={"status": "CLOSED", "duplicates": 2})
    sb(sandbox, "GET", "/_/pay/notifications", params={"out_refund_no": no, "wait": 5})
    assert sale(app, no).status == "refund_failed"
    with app.app_context():
        cases = db.session.scalars(select(PaymentCase).where(PaymentCase.kind == "aftersale_refund_failed")).all()
        assert len(cases) == 1 and cases[0].transaction_id == no
        assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
