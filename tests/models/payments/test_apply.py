"""Money that does not match its order: one case however often WeChat Pay's transaction is
seen, never applied, refunded in full, and the order waits for it — no sweep cancels an
order whose money is still at WeChat Pay — then ends cancelled. Every fen received ends
applied or refunded, and the reconciliation says which."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from app.extensions import db
from models.base import utcnow
from models.orders.tables import Order
from models.outbox.tables import OutboxMessage
from models.payments.tables import Payment, PaymentCase, ReconciliationReport, Refund
from models.stock.check import check_ledger
from tests.models.payments.test_payments import (count, eventually, notifications, order_row, place,  # noqa: F401
                                                 reserved, sb, shop)


def wrong_amount_paid(app, client, sandbox, shop, duplicates=0):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay",  # 0.01 for 128.00, notified (again and again)
       json={"amount": 1, "duplicates": duplicates})
    notifications(sandbox, order_no)
    return order_no


def test_a_wrong_amount_is_one_case_however_often_it_is_seen(app, client, sandbox, shop):
    order_no = wrong_amount_paid(app, client, sandbox, shop, duplicates=3)
    runner = app.test_cli_runner()
    with app.app_context():  # the query job would ask about it every minute
        db.session.execute(update(Payment).values(prepaid_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    for _ in range(3):
        runner.invoke(args=["pay", "query-pending"])
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    runner.invoke(args=["pay", "reconcile", "--date", today])
    assert count(app, PaymentCase) == 1
    assert count(app, OutboxMessage, OutboxMessage.kind == "staff_alert",
                 OutboxMessage.payload["event"].as_string() == "payment_case") == 1
    assert count(app, Refund) == 1  # and one refund of it
    assert order_row(app, order_no).status == "pending_payment"


def test_the_money_goes_back_and_the_order_ends_only_then(app, client, sandbox, shop):
    order_no = wrong_amount_paid(app, client, sandbox, shop)
    refund = eventually(app, lambda: db.session.scalars(select(Refund).where(Refund.status == "processing")).first())
    assert refund.amount_fen == 1 and refund.automatic  # exactly what was taken
    with app.app_context():  # the pay deadline passes while the money is still at WeChat Pay
        db.session.execute(update(Order).values(pay_deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert "'expired': 0" in app.test_cli_runner().invoke(args=["orders", "sweep"]).output
    assert order_row(app, order_no).status == "pending_payment"
    assert reserved(app, shop) == 1
    cancel = client.post(f"/api/orders/{order_no}/cancel", headers=shop[2], json={})
    assert cancel.status_code == 409 and cancel.json["error"]["code"] == "payment_under_review"
    assert client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json["error"]["code"] == "payment_under_review"
    sb(sandbox, "POST", f"/_/pay/refunds/{refund.out_refund_no}/finish", json={"status": "SUCCESS"})
    eventually(app, lambda: db.session.scalars(select(Order).where(Order.status == "cancelled")).first())
    order = order_row(app, order_no)
    assert order.status == "cancelled" and order.cancel_reason == "payment_refunded"
    assert reserved(app, shop) == 0
    with app.app_context():
        assert check_ledger() == []
        payment = db.session.scalars(select(Payment)).one()
        assert (payment.status, payment.paid_fen) == ("held", 1)  # received, never applied
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    result = app.test_cli_runner().invoke(args=["pay", "reconcile", "--date", today])
    assert ": ok, 0 difference(s)" in result.output, result.output
    with app.app_context():
        summary = db.session.scalars(select(ReconciliationReport)).one().summary
    assert (summary["applied_here"], summary["held_and_refunded_here"]) == (0, 1)


def test_cases_are_unique_per_transaction_in_the_database(app):
    from models.payments.apply import open_case

    tx = {"transaction_id": "4200000000000000000000000001", "out_trade_no": "TH_X", "mchid": "someone else"}
    with app.app_context():
        first = open_case("mchid_mismatch", None, tx, "test")
        again = open_case("mchid_mismatch", None, tx, "test")
        other = open_case("appid_mismatch", None, tx, "test")
        db.session.commit()
        assert again.id == first.id and other.id != first.id
        assert db.session.scalar(select(func.count()).select_from(PaymentCase)) == 2
