"""Member levels: a completed order raises the level at once and earns points at its
multiplier; a refund lowers the spend, but the level only at the monthly review."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from models.base import utcnow
from models.growth import levels
from models.growth.tables import Member, PointLot
from models.orders import lifecycle
from models.orders.status import SYSTEM
from models.orders.tables import Order
from models.payments.tables import Payment, Refund
from tests.app.test_errors import assert_error
from tests.factories import admin_headers
from tests.models.pickup.support import counter, ready_order, shown, verify  # noqa: F401


def collected_and_completed(client, c, qty: int) -> Order:
    order_no = ready_order(client, c, (c.skus[0], qty))
    assert verify(client, c.clerk, code=shown(client, c, order_no)["code"]).status_code == 200
    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
    lifecycle.complete(order, SYSTEM, reason="auto_completed")
    db.session.commit()
    return order


def test_levels_rise_at_once_and_fall_only_at_the_review(client, counter):
    c = counter  # ¥128 a unit
    admin = admin_headers(client)
    for name, spend, percent in (("银卡", 20000, 150), ("金卡", 50000, 200)):
        resp = client.post("/api/admin/member-levels", headers=admin,
                           json={"name": name, "min_spend_fen": spend, "points_percent": percent})
        assert resp.status_code == 201, resp.json
    assert_error(client.post("/api/admin/member-levels", headers=admin,
                             json={"name": "重复", "min_spend_fen": 20000}), 400, "invalid_request")
    assert [lv["name"] for lv in client.get("/api/admin/member-levels", headers=admin).json] == ["银卡", "金卡"]

    first = collected_and_completed(client, c, 1)              # ¥128: no level yet, 128 points
    mine = client.get("/api/me/level", headers=c.shopper).json
    assert (mine["level"], mine["spend_12m_fen"], mine["to_next_fen"]) == (None, 12800, 20000 - 12800)
    second = collected_and_completed(client, c, 3)             # ¥512 in all: 金卡 at once
    assert client.get("/api/me/level", headers=c.shopper).json["level"]["name"] == "金卡"
    earned = dict(db.session.execute(select(PointLot.ref, PointLot.amount).where(PointLot.source == "order")).all())
    assert earned == {first.order_no: 128, second.order_no: 384 * 2}  # the second at 金卡's 200 %

    # Part of the second order refunded (its payment and a succeeded refund, as WeChat Pay's
    # notifications leave them): the spend drops now, the level at the review.
    payment = Payment(order_id=second.id, out_trade_no=second.order_no, amount_fen=second.payable_fen,
                      status="paid", paid_fen=second.payable_fen, transaction_id="42000000001")
    db.session.add(payment)
    db.session.flush()
    db.session.add(Refund(order_id=second.id, payment_id=payment.id, out_refund_no="R-levels-1",
                          amount_fen=25600, status="success", succeeded_at=utcnow()))
    db.session.commit()
    assert levels.spend_12m(c.user.id) == 51200 - 25600
    assert db.session.get(Member, c.user.id).level_id is not None
    assert client.get("/api/me/level", headers=c.shopper).json["level"]["name"] == "金卡"
    assert levels.review() == {"members": 1, "changed": 1}
    db.session.commit()
    assert client.get("/api/me/level", headers=c.shopper).json["level"]["name"] == "银卡"
    # A year on, nothing completed within 12 months: no level.
    assert levels.review(utcnow() + timedelta(days=400))["changed"] == 1
    db.session.commit()
    assert client.get("/api/me/level", headers=c.shopper).json["level"] is None
