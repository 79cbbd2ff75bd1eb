"""WeChat Pay end to end against the sandbox (real signatures, real AES-GCM, real HTTP
notifications to the app on a live port): pay, notify applied once, probes refused,
lost notifications found, late payments refunded, deadlines asking WeChat first."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from app.extensions import db
from models.base import utcnow
from models.stock.tables import Inventory
from models.orders.tables import Order, OrderEvent
from models.outbox.tables import OutboxMessage
from models.payments.tables import Payment, PaymentCase, Refund
from tests.factories import make_product, make_shopper, make_store, stock
from tests.app.test_errors import assert_error


@pytest.fixture
def shop(app, live):
    with app.app_context():
        store = make_store()
        sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
        stock(store, sku, 20)
        user, headers = make_shopper()
        return store.id, sku.id, headers


def place(client, shop, qty=1):
    store_id, sku_id, headers = shop
    resp = client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": qty}]})
    assert resp.status_code == 201, resp.json
    return resp.json["order_no"]


def sb(sandbox, method, path, **kw):
    resp = requests.request(method, f"{sandbox.base_url}{path}", timeout=10, **kw)
    return resp


def notifications(sandbox, order_no, wait=5.0):
    return sb(sandbox, "GET", "/_/pay/notifications",
              params={"out_trade_no": order_no, "wait": wait}).json()["notifications"]


def eventually(app, probe, seconds=5.0):
    """Work deferred past the response (a refund submitted to WeChat) lands shortly after."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        with app.app_context():
            found = probe()
        if found or time.monotonic() > deadline:
            assert found, "not within the time"
            return found
        time.sleep(0.05)


def order_row(app, order_no):
    with app.app_context():
        return db.session.scalars(select(Order).where(Order.order_no == order_no)).one()


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_pay_params_pass_wx_request_payment_and_the_notify_pays_the_order(app, client, sandbox, shop):
    order_no = place(client, shop)
    params = client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    assert params.status_code == 200, params.json
    assert set(params.json) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    # The sandbox checks what wx.requestPayment checks (paySign with our merchant key,
    # same appid as the prepay, timeStamp a string), then pays and notifies us.
    paid = sb(sandbox, "POST", "/_/pay/request-payment", json=params.json)
    assert paid.status_code == 200, paid.text
    log = notifications(sandbox, order_no)
    assert [n["status_code"] for n in log if n["variant"] == "normal"] == [204]
    order = order_row(app, order_no)
    assert order.status == "paid" and order.paid_at is not None
    with app.app_context():
        payment = db.session.scalars(select(Payment)).one()
        assert payment.transaction_id and payment.paid_fen == 12800 and payment.confirmed_by == "notify"
        kinds = set(db.session.scalars(select(OutboxMessage.kind)))
        assert {"subscribe_message", "staff_alert"} <= kinds


def test_prepay_is_reused(client, sandbox, shop):
    order_no = place(client, shop)
    first = client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json
    again = client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json
    assert first["package"] == again["package"] and first["paySign"] != ""
    calls = sb(sandbox, "GET", "/_/pay/calls").json()
    assert sum(1 for c in calls["calls"] if c["path"].endswith("/jsapi")) == 1


def test_pay_refused_for_cancelled_paid_and_foreign_orders(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/cancel", headers=shop[2], json={})
    assert_error(client.post(f"/api/orders/{order_no}/pay", headers=shop[2]), 409, "invalid_transition")
    paid_no = place(client, shop)
    sb(sandbox, "POST", "/_/pay/request-payment",
       json=client.post(f"/api/orders/{paid_no}/pay", headers=shop[2]).json)
    notifications(sandbox, paid_no)
    assert_error(client.post(f"/api/orders/{paid_no}/pay", headers=shop[2]), 409, "invalid_transition")
    with app.app_context():
        _, stranger = make_shopper()
    assert_error(client.post(f"/api/orders/{paid_no}/pay", headers=stranger), 404, "not_found")


def test_duplicates_and_probes_change_nothing(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay",
       json={"duplicates": 3, "signtest": True, "stale": True})
    log = notifications(sandbox, order_no)
    by_variant = {}
    for n in log:
        by_variant.setdefault(n["variant"], []).append(n["status_code"])
    assert by_variant["signtest"][0] == 401 and by_variant["stale"][0] == 401
    assert by_variant["normal"][-1] == 204 and by_variant["duplicate"] == [204, 204, 204]
    assert order_row(app, order_no).status == "paid"
    assert count(app, OrderEvent, OrderEvent.to_status == "paid") == 1


def test_tampered_notification_is_refused(app, client, live, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    captured = []
    sandbox.state.pay.notify_sender = lambda url, headers, body, timeout: captured.append((headers, body)) or 503
    try:
        sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={})
        notifications(sandbox, order_no)
    finally:
        sandbox.state.pay.notify_sender = None
    headers, body = captured[0]
    tampered = body.replace(b'"ciphertext":"', b'"ciphertext":"A')
    resp = requests.post(f"{live}/wechat/pay/notify", data=tampered, headers=headers, timeout=5)
    assert resp.status_code == 401 and resp.json()["code"] == "FAIL"
    assert order_row(app, order_no).status == "pending_payment"
    ok = requests.post(f"{live}/wechat/pay/notify", data=body, headers=headers, timeout=5)
    assert ok.status_code == 204 and order_row(app, order_no).status == "paid"


def test_wrong_amount_is_not_applied_and_opens_a_case(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={"amount": 1})
    assert notifications(sandbox, order_no)[-1]["status_code"] == 204  # recorded, not retried
    assert order_row(app, order_no).status == "pending_payment"
    with app.app_context():
        case = db.session.scalars(select(PaymentCase)).one()
        assert case.kind == "amount_mismatch" and case.details["amount"]["total"] == 1
        # Not applied: recorded as held (issue 17: every fen received ends applied or refunded).
        assert db.session.scalar(select(Payment.status)) == "held"


def test_lost_notification_is_found_by_the_query_job(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={"notify": False})
    runner = app.test_cli_runner()
    assert "'applied': 0" in runner.invoke(args=["pay", "query-pending"]).output  # too young to ask
    with app.app_context():
        db.session.execute(update(Payment).values(prepaid_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    result = runner.invoke(args=["pay", "query-pending"])
    assert "'applied': 1" in result.output, result.output
    order = order_row(app, order_no)
    assert order.status == "paid"
    with app.app_context():
        assert db.session.scalar(select(Payment.confirmed_by)) == "query"


def test_deadline_asks_wechat_first(app, client, sandbox, shop):
    paid_late, unpaid = place(client, shop), place(client, shop)
    for no in (paid_late, unpaid):
        client.post(f"/api/orders/{no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{paid_late}/pay", json={"notify": False})
    with app.app_context():
        db.session.execute(update(Order).values(pay_deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["orders", "sweep"])
    assert "'expired': 1" in result.output, result.output
    assert order_row(app, paid_late).status == "paid"
    assert order_row(app, unpaid).status == "cancelled"
    closed = sb(sandbox, "GET", f"/_/pay/transactions/{unpaid}").json()["transaction"]
    assert closed["trade_state"] == "CLOSED"  # no payment can follow the cancel


def test_cancel_closes_at_wechat_pay(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    assert client.post(f"/api/orders/{order_no}/cancel", headers=shop[2], json={}).json["status"] == "cancelled"
    assert sb(sandbox, "GET", f"/_/pay/transactions/{order_no}").json()["transaction"]["trade_state"] == "CLOSED"


def test_cancel_of_an_order_paid_meanwhile_is_refused(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={"notify": False})
    err = assert_error(client.post(f"/api/orders/{order_no}/cancel", headers=shop[2], json={}),
                       409, "invalid_transition")
    assert err["details"]["status"] == "paid"
    order = order_row(app, order_no)  # WeChat Pay said ORDERPAID/SUCCESS: applied, not lost
    assert order.status == "paid"
    with app.app_context():
        assert db.session.scalar(select(Payment.confirmed_by)) == "query"


def test_payment_for_a_cancelled_order_is_refunded_not_revived(app, client, sandbox, shop):
    from models.orders.status import SYSTEM, transition

    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    with app.app_context():  # cancelled here without closing there: the race we must survive
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        transition(order, "cancel", SYSTEM, reason="test")
        db.session.commit()
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={})
    notifications(sandbox, order_no)
    assert order_row(app, order_no).status == "cancelled"
    refund = eventually(app, lambda: db.session.scalars(select(Refund).where(Refund.status == "processing")).first())
    with app.app_context():
        assert refund.automatic and refund.amount_fen == 12800
        assert db.session.scalars(select(PaymentCase.kind)).one() == "paid_after_cancel"
    there = sb(sandbox, "GET", f"/_/pay/refunds/{refund.out_refund_no}").json()["refund"]
    assert there["amount"]["refund"] == 12800


def paid_order(app, client, sandbox, shop, qty=1):
    order_no = place(client, shop, qty)
    sb(sandbox, "POST", "/_/pay/request-payment",
       json=client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json)
    notifications(sandbox, order_no)
    assert order_row(app, order_no).status == "paid"
    return order_no


def reserved(app, shop):
    with app.app_context():
        return db.session.scalar(select(Inventory.reserved).where(Inventory.sku_id == shop[1]))


def test_refunds(app, client, sandbox, shop):
    from models.stores import Store
    from tests.factories import bearer, make_staff, staff_token

    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        manager = bearer(staff_token(client, make_staff("manager", [db.session.get(Store, shop[0])])))
        clerk = bearer(staff_token(client, make_staff("clerk")))
        stranger = bearer(staff_token(client, make_staff("manager", [make_store()])))
    url = f"/api/staff/orders/{order_no}/refunds"
    assert_error(client.post(url, headers=manager, json={"amount_fen": 100}), 400, "invalid_request")
    assert_error(client.post(url, headers={**clerk, "Idempotency-Key": "r"}, json={"amount_fen": 100}), 403, "forbidden")
    assert_error(client.post(url, headers={**stranger, "Idempotency-Key": "r"}, json={"amount_fen": 100}), 403, "forbidden")
    part = client.post(url, headers={**manager, "Idempotency-Key": "part-1"}, json={"amount_fen": 5600, "reason": "少一盒"})
    assert part.status_code == 201 and part.json["status"] in ("pending", "processing")
    again = client.post(url, headers={**manager, "Idempotency-Key": "part-1"}, json={"amount_fen": 5600, "reason": "少一盒"})
    assert again.json["out_refund_no"] == part.json["out_refund_no"]
    assert_error(client.post(url, headers={**manager, "Idempotency-Key": "part-1"}, json={"amount_fen": 1}),
                 422, "idempotency_key_reused")
    err = assert_error(client.post(url, headers={**manager, "Idempotency-Key": "too-much"},
                                   json={"amount_fen": 20001}), 409, "refund_exceeds_paid")
    assert err["details"]["refundable_fen"] == 2 * 12800 - 5600
    assert count(app, Refund) == 1 and order_row(app, order_no).status == "paid"
    sb(sandbox, "POST", f"/_/pay/refunds/{part.json['out_refund_no']}/finish", json={"status": "SUCCESS"})
    notifications(sandbox, order_no)
    with app.app_context():
        assert db.session.scalars(select(Refund.status)).one() == "success"
    assert reserved(app, shop) == 2  # a partial refund hands nothing back to the shelf


def test_full_refund_before_pickup_releases_stock_once(app, client, sandbox, shop):
    from tests.factories import bearer, make_staff, staff_token

    order_no = paid_order(app, client, sandbox, shop, qty=3)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    resp = client.post(f"/api/staff/orders/{order_no}/refunds", headers={**admin, "Idempotency-Key": "all"},
                       json={"amount_fen": 3 * 12800, "reason": "顾客要求"})
    assert resp.status_code == 201
    assert order_row(app, order_no).status == "refunding"
    assert reserved(app, shop) == 3
    for _ in range(2):  # the notify twice: applied once
        sb(sandbox, "POST", f"/_/pay/refunds/{resp.json['out_refund_no']}/finish", json={"status": "SUCCESS"})
    notifications(sandbox, order_no)
    assert order_row(app, order_no).status == "refunded"
    assert reserved(app, shop) == 0


def test_refund_closed_or_abnormal_is_recorded_and_can_be_retried(app, client, sandbox, shop):
    from tests.factories import bearer, make_staff, staff_token

    order_no = paid_order(app, client, sandbox, shop)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    url = f"/api/staff/orders/{order_no}/refunds"
    first = client.post(url, headers={**admin, "Idempotency-Key": "a"}, json={"amount_fen": 12800}).json
    sb(sandbox, "POST", f"/_/pay/refunds/{first['out_refund_no']}/finish", json={"status": "CLOSED"})
    eventually(app, lambda: db.session.scalars(select(Refund).where(Refund.status == "closed")).first())
    # A closed refund gave nothing back: the whole amount can be refunded again.
    second = client.post(url, headers={**admin, "Idempotency-Key": "b"}, json={"amount_fen": 12800})
    assert second.status_code == 201 and second.json["out_refund_no"] != first["out_refund_no"]


def test_refund_waits_out_an_outage_with_the_same_number(app, client, sandbox, shop):
    from tests.factories import bearer, make_staff, staff_token

    order_no = paid_order(app, client, sandbox, shop)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    for _ in range(3):  # the client retries twice: make every try fail
        sb(sandbox, "POST", "/_/pay/fail-next", json={"path": "/v3/refund/domestic/refunds", "http_status": 500})
    refund = client.post(f"/api/staff/orders/{order_no}/refunds", headers={**admin, "Idempotency-Key": "x"},
                         json={"amount_fen": 100}).json
    with app.app_context():
        row = db.session.scalars(select(Refund)).one()
        assert row.status == "pending" and row.last_error.startswith("unavailable")
    result = app.test_cli_runner().invoke(args=["pay", "refunds"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Refund.status)).one() == "processing"
    there = sb(sandbox, "GET", f"/_/pay/refunds/{refund['out_refund_no']}").json()["refund"]
    assert there["amount"]["refund"] == 100


def paid_delivery(client, sandbox, shop) -> str:
    """A delivery order, paid: its order number."""
    from tests.models.orders.test_placement import ADDRESS

    store_id, sku_id, headers = shop
    order_no = client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "delivery", "address": ADDRESS,
        "items": [{"sku_id": sku_id, "qty": 1}]}).json["order_no"]
    sb(sandbox, "POST", "/_/pay/request-payment", json=client.post(f"/api/orders/{order_no}/pay", headers=headers).json)
    notifications(sandbox, order_no)
    return order_no


def test_shipping_uploads_the_shipping_info(app, client, sandbox, shop):
    from tests.factories import bearer, make_staff, staff_token

    order_no = paid_delivery(client, sandbox, shop)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    client.post(f"/api/staff/orders/{order_no}/ship", headers=admin, json={"carrier": "SF", "tracking_no": "SF123456"})
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "shipping_upload")).one()
        # Delivered after the response (in process here; by the worker in production).
        assert row.payload["logistics_type"] == 1 and row.status == "sent"
    uploads = sb(sandbox, "GET", "/_/shipping-uploads").json()["uploads"]
    assert [u["payload"]["shipping_list"][0]["tracking_no"] for u in uploads] == ["SF123456"]


def test_paying_an_order_paid_meanwhile_applies_it(app, client, sandbox, shop):
    order_no = place(client, shop)
    first = client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={"notify": False})
    with app.app_context():  # the prepay is too old to reuse: a new one is asked for
        db.session.execute(update(Payment).values(prepaid_at=utcnow() - timedelta(hours=3)))
        db.session.commit()
    err = assert_error(client.post(f"/api/orders/{order_no}/pay", headers=shop[2]), 409, "invalid_transition")
    assert err["details"]["status"] == "paid" and first["package"]
    assert order_row(app, order_no).status == "paid"


def test_staff_review_and_resolve_payment_cases(app, client, sandbox, shop):
    from tests.factories import bearer, make_staff, staff_token

    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={"amount": 1})
    notifications(sandbox, order_no)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
        analyst = bearer(staff_token(client, make_staff("analyst")))
        clerk = bearer(staff_token(client, make_staff("clerk")))
    open_cases = client.get("/api/admin/payment-cases", headers=analyst).json["items"]
    assert [c["kind"] for c in open_cases] == ["amount_mismatch"]
    assert_error(client.get("/api/admin/payment-cases", headers=clerk), 403, "forbidden")
    case_id = open_cases[0]["id"]
    assert_error(client.post(f"/api/admin/payment-cases/{case_id}/resolve", headers=analyst), 403, "forbidden")
    resolved = client.post(f"/api/admin/payment-cases/{case_id}/resolve", headers=admin).json
    assert resolved["status"] == "resolved" and resolved["resolved_by"] is not None
    assert client.get("/api/admin/payment-cases", headers=admin).json["items"] == []
    assert_error(client.post("/api/admin/payment-cases/99999/resolve", headers=admin), 404, "not_found")
    assert_error(client.get("/api/admin/payment-cases?status=lost", headers=admin), 400, "invalid_request")


def test_a_payment_applied_in_one_batch_is_seen_by_objects_the_caller_holds(app, client, shop):
    """The usual case is written with Core in one batch: an order or payment object the
    caller already holds sees the new values without a re-read; with no prepay record the
    payment row is made; the same transaction again changes nothing."""
    from models.payments.apply import apply_transaction

    unprepaid, prepaid = place(client, shop), place(client, shop)
    client.post(f"/api/orders/{prepaid}/pay", headers=shop[2])
    with app.app_context():
        held = {no: db.session.scalars(select(Order).where(Order.order_no == no)).one() for no in (unprepaid, prepaid)}
        payment = db.session.scalars(select(Payment).where(Payment.out_trade_no == prepaid)).one()
        for i, no in enumerate((unprepaid, prepaid)):
            tx = {"trade_state": "SUCCESS", "out_trade_no": no, "transaction_id": f"42000000{i}",
                  "mchid": app.config["WECHATPAY_MCHID"], "appid": app.config["WECHAT_APPID"],
                  "amount": {"total": 12800, "currency": "CNY"}, "success_time": "2026-11-22T10:00:00+08:00"}
            assert apply_transaction(tx, source="bill") == "applied"
            assert held[no].status == "paid" and held[no].paid_at is not None  # told, not re-read
            assert apply_transaction(tx, source="bill") == "duplicate"
        assert (payment.transaction_id, payment.status, payment.confirmed_by) == ("420000001", "paid", "bill")
        db.session.commit()
        rows = db.session.execute(select(Payment.out_trade_no, Payment.transaction_id, Payment.paid_fen,
                                         Payment.status).order_by(Payment.out_trade_no)).all()
    assert sorted(tuple(r) for r in rows) == sorted([(unprepaid, "420000000", 12800, "paid"),
                                                     (prepaid, "420000001", 12800, "paid")])
    assert order_row(app, unprepaid).status == order_row(app, prepaid).status == "paid"
    assert count(app, OrderEvent, OrderEvent.to_status == "paid") == 2
    assert count(app, OutboxMessage, OutboxMessage.kind == "subscribe_message") == 2


def test_a_success_without_a_transaction_id_is_not_applied(app, client, shop):
    from models.payments.apply import apply_transaction

    order_no = place(client, shop)
    with app.app_context():
        tx = {"trade_state": "SUCCESS", "out_trade_no": order_no, "mchid": app.config["WECHATPAY_MCHID"],
              "appid": app.config["WECHAT_APPID"], "amount": {"total": 12800, "currency": "CNY"}}
        assert apply_transaction(tx, source="query") == "not_paid"
        db.session.commit()
    assert order_row(app, order_no).status == "pending_payment"
    assert count(app, Payment) == 0


def test_partial_refunds_of_one_payment_go_to_wechat_pay_spaced(app, client, sandbox, shop):
    """A second refund right after the first waits pending (WeChat Pay asks for partial
    refunds spaced); the refunds job sends it once the spacing has passed."""
    from models.payments import refunds
    from tests.factories import bearer, make_staff, staff_token

    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    url = f"/api/staff/orders/{order_no}/refunds"
    app.config["REFUND_SPACING_S"] = 60
    try:
        first = client.post(url, headers={**admin, "Idempotency-Key": "s-1"}, json={"amount_fen": 100})
        second = client.post(url, headers={**admin, "Idempotency-Key": "s-2"}, json={"amount_fen": 200})
        assert first.status_code == second.status_code == 201
        eventually(app, lambda: db.session.scalars(select(Refund.status).where(
            Refund.out_refund_no == first.json["out_refund_no"])).one() == "processing")
        with app.app_context():
            waiting = db.session.scalars(select(Refund).where(Refund.out_refund_no == second.json["out_refund_no"])).one()
            assert waiting.status == "pending" and waiting.last_error.startswith("spaced")
    finally:
        app.config["REFUND_SPACING_S"] = 0
    with app.app_context():  # a minute later (spacing passed): the job sends it
        refunds.query_unsettled(older_than_s=0)
        db.session.commit()
        assert db.session.scalars(select(Refund.status).where(
            Refund.out_refund_no == second.json["out_refund_no"])).one() == "processing"
