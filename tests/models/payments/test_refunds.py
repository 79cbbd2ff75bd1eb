"""Refunds that add up: however an order's refunds are split, once nothing is left to
refund the order is refunded, stops being pickable, and gives its stock back once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from models.payments.tables import Refund
from models.stock.check import check_ledger
from models.stores import Store
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, staff_token
from tests.models.payments.test_payments import (eventually, notifications, order_row, paid_order, reserved,  # noqa: F401
                                                 sb, shop)


def refund(client, staff, order_no, amount_fen, key):
    resp = client.post(f"/api/staff/orders/{order_no}/refunds", headers={**staff, "Idempotency-Key": key},
                       json={"amount_fen": amount_fen})
    assert resp.status_code == 201, resp.json
    return resp.json["out_refund_no"]


def succeed(app, sandbox, order_no, out_refund_no):
    sb(sandbox, "POST", f"/_/pay/refunds/{out_refund_no}/finish", json={"status": "SUCCESS"})
    eventually(app, lambda: db.session.scalars(select(Refund).where(
        Refund.out_refund_no == out_refund_no, Refund.status == "success")).first())


@pytest.mark.parametrize("settle_first", ["first", "last"])
def test_an_order_refunded_in_full_in_two_parts_is_refunded(app, client, sandbox, shop, settle_first):
    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        manager = bearer(staff_token(client, make_staff("manager", [db.session.get(Store, shop[0])])))
    first = refund(client, manager, order_no, 10000, "part-1")
    assert order_row(app, order_no).status == "paid"  # something is left: still the shopper's to collect
    last = refund(client, manager, order_no, 2 * 12800 - 10000, "part-2")
    assert order_row(app, order_no).status == "refunding"  # nothing left: no longer pickable
    assert_error(client.post(f"/api/staff/orders/{order_no}/ready", headers=manager), 409, "invalid_transition")
    assert reserved(app, shop) == 2  # released when the money is back, not before
    for out_refund_no in ((first, last) if settle_first == "first" else (last, first)):
        succeed(app, sandbox, order_no, out_refund_no)
    notifications(sandbox, order_no)
    assert order_row(app, order_no).status == "refunded"
    assert reserved(app, shop) == 0  # released once
    with app.app_context():
        assert check_ledger() == []


def test_the_order_waits_for_every_part(app, client, sandbox, shop):
    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    first = refund(client, admin, order_no, 5000, "a")
    last = refund(client, admin, order_no, 2 * 12800 - 5000, "b")
    succeed(app, sandbox, order_no, last)
    assert order_row(app, order_no).status == "refunding"  # 50.00 still on its way back
    succeed(app, sandbox, order_no, first)
    assert order_row(app, order_no).status == "refunded"


def test_a_failed_last_part_can_be_refunded_again(app, client, sandbox, shop):
    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    first = refund(client, admin, order_no, 5000, "a")
    closed = refund(client, admin, order_no, 2 * 12800 - 5000, "b")
    sb(sandbox, "POST", f"/_/pay/refunds/{closed}/finish", json={"status": "CLOSED"})
    eventually(app, lambda: db.session.scalars(select(Refund).where(Refund.status == "closed")).first())
    assert order_row(app, order_no).status == "refunding"
    again = refund(client, admin, order_no, 2 * 12800 - 5000, "c")
    for out_refund_no in (first, again):
        succeed(app, sandbox, order_no, out_refund_no)
    assert order_row(app, order_no).status == "refunded"
    assert reserved(app, shop) == 0
    with app.app_context():
        assert check_ledger() == []
