"""The staff order detail (models/orders/staff_view.py through GET /api/staff/orders/<no>):
the payment, the refunds and what is left to refund, the pickup ledger rows — after a
partial pickup and a partial refund, each as the tables say."""
from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from models.orders.staff_view import mask_transaction_id
from models.payments.tables import Payment
from models.users import bind_phone
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, mark_ready, staff_token
from tests.models.pickup.support import make_counter, order_row, place, shown, verify


def paid_through_wechat(client, sandbox, c, *lines) -> str:
    """Placed, then paid through the WeChat Pay sandbox: a real payment row."""
    order_no = place(client, c, *lines)
    pay = client.post(f"/api/orders/{order_no}/pay", headers=c.shopper).json
    requests.post(f"{sandbox.base_url}/_/pay/request-payment", json=pay, timeout=10)
    requests.get(f"{sandbox.base_url}/_/pay/notifications", params={"out_trade_no": order_no, "wait": 5},
                 timeout=15)
    assert order_row(order_no).status == "paid"
    return order_no


def refund(client, headers, order_no, amount_fen, key, reason=None):
    return client.post(f"/api/staff/orders/{order_no}/refunds", headers={**headers, "Idempotency-Key": key},
                       json={"amount_fen": amount_fen, "reason": reason})


@pytest.fixture
def counter(ctx, client, live):
    return make_counter(client)


def test_the_detail_after_a_partial_pickup_and_a_partial_refund(client, sandbox, counter):
    c = counter
    first, second = c.skus
    bind_phone(c.user, {"purePhoneNumber": "13812345678", "countryCode": "86"})
    db.session.commit()
    order_no = paid_through_wechat(client, sandbox, c, (first, 2), (second, 1))
    paid = 2 * 12800 + 9800
    mark_ready(order_no)
    code = shown(client, c, order_no)["code"]
    counter_clerk = make_staff("clerk", [c.store], display_name="王小丽")
    clerk = bearer(staff_token(client, counter_clerk))
    handed = verify(client, clerk, code=code, items=[{"sku_id": first.id, "qty": 1}])
    assert handed.status_code == 200, handed.json

    manager_row = make_staff("manager", [c.store])
    manager = bearer(staff_token(client, manager_row))
    made = refund(client, manager, order_no, 5000, "part-1", reason="少一盒")
    assert made.status_code == 201, made.json

    detail = client.get(f"/api/staff/orders/{order_no}", headers=clerk)  # a clerk opens it too
    assert detail.status_code == 200, detail.json
    d = detail.json
    assert d["buyer_phone_masked"] == "138****5678"

    (payment,) = d["payments"]
    row = db.session.scalars(select(Payment).where(Payment.out_trade_no == order_no)).one()
    assert payment["amount_fen"] == payment["paid_fen"] == paid and payment["status"] == "paid"
    assert payment["paid_at"] and payment["confirmed_by"] == "notify"
    assert payment["transaction_id"] == f"{row.transaction_id[:4]}****{row.transaction_id[-6:]}"
    assert row.transaction_id not in str(d)

    (made_refund,) = d["refunds"]
    assert made_refund["amount_fen"] == 5000 and made_refund["reason"] == "少一盒"
    assert made_refund["out_refund_no"] == made.json["out_refund_no"]
    assert made_refund["requested_by"] == manager_row.id
    assert made_refund["requested_by_name"] == manager_row.username  # no display name: the username
    assert made_refund["status"] in ("pending", "processing", "success") and made_refund["automatic"] is False
    assert d["refundable_fen"] == paid - 5000

    (pickup,) = d["pickups"]
    assert pickup["staff_id"] == counter_clerk.id and pickup["staff_name"] == "王小丽"
    assert pickup["store_id"] == c.store.id and pickup["partial"] is True and pickup["seq"] == 1
    assert pickup["items"] == [{"sku_id": first.id, "qty": 1, "name": "月饼", "spec": "双黄 6枚"}]
    assert pickup["verified_at"]
    assert [(i["sku_id"], i["picked_up_qty"]) for i in d["items"]] == [(first.id, 1), (second.id, 0)]

    # The detail's refundable amount is the refund's own rule: one fen more is refused,
    # with the same figure; exactly that much is taken.
    over = refund(client, manager, order_no, paid - 5000 + 1, "part-2")
    assert_error(over, 409, "refund_exceeds_paid")
    assert over.json["error"]["details"]["refundable_fen"] == d["refundable_fen"]
    assert refund(client, manager, order_no, paid - 5000, "part-3").status_code == 201
    after = client.get(f"/api/staff/orders/{order_no}", headers=manager).json
    assert after["refundable_fen"] == 0 and [r["amount_fen"] for r in after["refunds"]] == [5000, paid - 5000]

    # The shopper's own view shows none of it.
    own = client.get(f"/api/orders/{order_no}", headers=c.shopper).json
    assert not {"payments", "refunds", "refundable_fen", "pickups", "buyer_phone_masked"} & set(own)


def test_an_unpaid_order_has_nothing_to_refund_and_actions_answer_the_staff_view(client, counter):
    c = counter
    order_no = place(client, c, (c.skus[0], 1))
    d = client.get(f"/api/staff/orders/{order_no}", headers=c.manager).json
    assert d["payments"] == [] and d["refunds"] == [] and d["pickups"] == []
    assert d["refundable_fen"] == 0 and d["buyer_phone_masked"] is None
    cancelled = client.post(f"/api/staff/orders/{order_no}/cancel", headers=c.manager, json={})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled" and cancelled.json["changed"] is True
    assert cancelled.json["refundable_fen"] == 0 and cancelled.json["payments"] == []


def test_transaction_ids_are_masked():
    assert mask_transaction_id("4200001234202612071234567890") == "4200****567890"
    assert mask_transaction_id(None) is None
    assert re.fullmatch(r"\*+", mask_transaction_id("42000012"))
