"""Payment races with real threads on real connections (the MariaDB run is the one that
counts): a storm of duplicate notifies, a notify racing the deadline sweep, staff refunds
of one order at once."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from app.extensions import db
from tests.conftest import backend_is_mysql
from models.base import utcnow
from models.orders.tables import Order, OrderEvent
from models.payments.tables import Payment, Refund
from tests.models.payments.test_payments import notifications, order_row, place, sb, shop  # noqa: F401 (fixture)


def captured_notification(sandbox, order_no, **options):
    """The signed, encrypted notification the sandbox would send, without sending it."""
    got = []
    sandbox.state.pay.notify_sender = lambda url, headers, body, timeout: got.append((headers, body)) or 503
    try:
        sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json=options)
        notifications(sandbox, order_no)
    finally:
        sandbox.state.pay.notify_sender = None
    return got[0]


def test_twenty_duplicate_notifies_at_once_apply_once(app, client, live, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    headers, body = captured_notification(sandbox, order_no)
    barrier = threading.Barrier(20)

    def send(_):
        barrier.wait(timeout=10)
        return requests.post(f"{live}/wechat/pay/notify", data=body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert statuses == [204] * 20
    assert order_row(app, order_no).status == "paid"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderEvent)
                                 .where(OrderEvent.to_status == "paid")) == 1
        assert db.session.scalar(select(func.count()).select_from(Payment)
                                 .where(Payment.transaction_id.is_not(None))) == 1


def test_notify_racing_the_sweep_never_ends_cancelled_and_paid(app, client, live, sandbox, shop):
    from app.tasks import run_deferred
    from models.orders.deadlines import sweep

    for _ in range(3):  # a few rounds: the race can fall either way
        order_no = place(client, shop)
        client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
        headers, body = captured_notification(sandbox, order_no)
        with app.app_context():
            db.session.execute(update(Order).where(Order.order_no == order_no)
                               .values(pay_deadline=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        barrier = threading.Barrier(2)

        def notify():
            barrier.wait(timeout=10)
            return requests.post(f"{live}/wechat/pay/notify", data=body, headers=headers, timeout=10).status_code

        def sweeper():
            barrier.wait(timeout=10)
            with app.app_context():
                result = sweep()
                run_deferred()
                return result

        with ThreadPoolExecutor(2) as pool:
            status = pool.submit(notify)
            pool.submit(sweeper).result(timeout=30)
            assert status.result(timeout=30) == 204
        order = order_row(app, order_no)
        with app.app_context():
            refunds = db.session.scalars(select(Refund).where(Refund.order_id == order.id)).all()
        # Paid and kept, or cancelled with the money on its way back — never cancelled
        # while holding the shopper's money.
        assert ((order.status == "paid" and not refunds)
                or (order.status == "cancelled" and len(refunds) == 1 and refunds[0].automatic)), (
            order.status, [(r.status, r.automatic) for r in refunds])


def test_pay_racing_cancel_never_charges_a_cancelled_order(app, client, live, sandbox, shop):
    """50 times: the shopper taps "pay" and "cancel" at once, then pays with whatever "pay"
    answered. Each race ends paid and kept, or cancelled with nothing payable at WeChat Pay —
    never a charge for a cancelled order (refunded later or not)."""
    outcomes = []
    for _ in range(50):
        order_no = place(client, shop)
        barrier = threading.Barrier(2)

        def pay():
            barrier.wait(timeout=10)
            return app.test_client().post(f"/api/orders/{order_no}/pay", headers=shop[2])

        def cancel():
            barrier.wait(timeout=10)
            return app.test_client().post(f"/api/orders/{order_no}/cancel", headers=shop[2], json={})

        with ThreadPoolExecutor(2) as pool:
            paid, cancelled = [f.result() for f in [pool.submit(pay), pool.submit(cancel)]]
        assert paid.status_code < 500 and cancelled.status_code < 500, (paid.json, cancelled.json)
        charged = False
        if paid.status_code == 200:  # the phone pays with what it was given
            charged = sb(sandbox, "POST", "/_/pay/request-payment", json=paid.json).status_code == 200
            notifications(sandbox, order_no)
        status = order_row(app, order_no).status
        outcomes.append((paid.status_code, cancelled.status_code, charged, status))
        assert not (charged and status != "paid"), outcomes[-1]  # charged: the order is paid and kept
        assert status in ("paid", "cancelled", "pending_payment"), outcomes[-1]
        if status == "cancelled":
            there = sb(sandbox, "GET", f"/_/pay/transactions/{order_no}")
            assert there.status_code == 404 or there.json()["transaction"]["trade_state"] != "SUCCESS", outcomes[-1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Refund)) == 0  # nothing to give back
    from collections import Counter
    print("\npay/cancel races (pay, cancel, charged, status):", dict(Counter(outcomes)))


def test_refunds_of_one_order_at_once_never_exceed_what_was_paid(app, client, sandbox, shop):
    """Each staff refund locks the order, then its payment: simultaneous refunds are
    weighed one after the other against what is left, never 503, never over the payment."""
    from tests.factories import admin_headers
    from tests.models.orders.test_concurrency import run_threads
    from tests.models.payments.test_payments import paid_order

    order_no = paid_order(app, client, sandbox, shop, qty=2)  # 2 × 12800 paid
    with app.app_context():
        admin = admin_headers(client)

    def refund(i):
        resp = app.test_client().post(f"/api/staff/orders/{order_no}/refunds", json={"amount_fen": 5600},
                                      headers={**admin, "Idempotency-Key": f"part-{i}"})
        return resp.status_code, (resp.json.get("error") or {}).get("code")

    answers = sorted(run_threads(6, refund), key=str)
    assert answers == [(201, None)] * 4 + [(409, "refund_exceeds_paid")] * 2, answers
    with app.app_context():
        refunds = db.session.scalars(select(Refund)).all()
        assert sum(r.amount_fen for r in refunds) == 4 * 5600 <= 2 * 12800
        assert len({r.out_refund_no for r in refunds}) == 4
    assert order_row(app, order_no).status == "paid"


def test_a_refund_settled_while_more_refunds_are_asked_for(app, client, live, sandbox, shop):
    """WeChat Pay's refund notify locks the refund, then its order; a staff refund locks
    the order, then the payment (and makes a new refund): at once, both go through."""
    from tests.factories import admin_headers
    from tests.models.orders.test_concurrency import run_threads
    from tests.models.payments.test_payments import eventually, paid_order

    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        admin = admin_headers(client)
    url = f"/api/staff/orders/{order_no}/refunds"
    first = client.post(url, json={"amount_fen": 5600}, headers={**admin, "Idempotency-Key": "first"}).json
    eventually(app, lambda: db.session.scalar(select(Refund.status)) == "processing")
    got = []
    sandbox.state.pay.notify_sender = lambda url, headers, body, timeout: got.append((headers, body)) or 503
    try:
        sb(sandbox, "POST", f"/_/pay/refunds/{first['out_refund_no']}/finish", json={"status": "SUCCESS"})
        notifications(sandbox, order_no)
    finally:
        sandbox.state.pay.notify_sender = None
    headers, body = got[0]

    def act(i):
        if i == 0:
            return requests.post(f"{live}/wechat/pay/refund-notify", data=body, headers=headers,
                                 timeout=10).status_code
        return app.test_client().post(url, json={"amount_fen": 5600},
                                      headers={**admin, "Idempotency-Key": f"more-{i}"}).status_code

    notified, *asked = run_threads(4, act)
    assert notified in (200, 204) and asked == [201] * 3, (notified, asked)
    with app.app_context():
        refunds = {r.out_refund_no: r for r in db.session.scalars(select(Refund))}
        assert refunds[first["out_refund_no"]].status == "success" and len(refunds) == 4
        assert sum(r.amount_fen for r in refunds.values()) == 4 * 5600
    assert order_row(app, order_no).status == "paid"


@pytest.mark.skipif(not backend_is_mysql(), reason="row locks held across connections (MariaDB run)")
def test_a_cancel_takes_the_order_before_its_payment_as_a_notify_does(app, client, sandbox, shop):
    """The interleaving of the deadlock, made on purpose: a notify holds the order (the
    test's connection) while the shopper cancels; WeChat Pay closes the order, and the
    cancel waits for the order. The notify then takes the payment: a cancel that had
    written its payment's close first held it, and the two deadlocked."""
    from sqlalchemy import text

    from tests.models.cards.test_races import lock_waits, wait_until

    order_no = place(client, shop)
    assert client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).status_code == 200
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.order_no == order_no))
        notify = db.engine.connect()
    answers = {}

    def cancel():
        resp = app.test_client().post(f"/api/orders/{order_no}/cancel", headers=shop[2], json={"reason": "不要了"})
        answers["cancel"] = resp.status_code, (resp.json.get("error") or {}).get("code")

    try:
        notify.begin()
        notify.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id})
        thread = threading.Thread(target=cancel)
        thread.start()
        wait_until("the cancel waits for the order",
                   lambda: "cancel" in answers or any("orders" in q for q in lock_waits(app)))
        # The notify goes on to the payment (apply takes the order, then its payment).
        notify.execute(text("SELECT id FROM payments WHERE order_id = :id FOR UPDATE"), {"id": order_id})
        notify.rollback()
        thread.join(60)
    finally:
        notify.close()
    assert answers == {"cancel": (200, None)}, answers
    assert order_row(app, order_no).status == "cancelled"
    with app.app_context():
        assert db.session.scalar(select(Payment.status).where(Payment.order_id == order_id)) == "closed"
