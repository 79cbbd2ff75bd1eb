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


def test_a_birthday_coupon_once_a_year_on_the_day(client, counter):
    """The shopper gives month and day once; on that day (China time) the daily job gives
    their level's birthday coupon, once however often it runs; not the day before, not to a
    member of a level without one; 29 February's on the 28th in a common year."""
    from datetime import datetime, timezone

    from models.growth import coupons
    from models.growth.tables import Coupon

    c = counter
    admin = admin_headers(client)
    plain = coupons.create_template(None, {"name": "普通券", "kind": "fixed", "amount_fen": 500, "valid_days": 30})
    gift = coupons.create_template(None, {"name": "生日券", "kind": "fixed", "amount_fen": 2000, "valid_days": 30,
                                          "channels": ["birthday"], "per_user_limit": 50})  # one a year
    db.session.commit()
    assert_error(client.post("/api/admin/member-levels", headers=admin, json={
        "name": "银卡", "min_spend_fen": 0, "birthday_template_id": plain.id}), 400, "invalid_request")
    resp = client.post("/api/admin/member-levels", headers=admin,
                       json={"name": "银卡", "min_spend_fen": 0, "birthday_template_id": gift.id})
    assert resp.status_code == 201 and resp.json["birthday_template_id"] == gift.id
    assert_error(client.put("/api/me/birthday", headers=c.shopper, json={"month": 2, "day": 30}), 400, "invalid_request")
    assert client.put("/api/me/birthday", headers=c.shopper, json={"month": 2, "day": 29}).json == {"month": 2, "day": 29}
    assert client.put("/api/me/birthday", headers=c.shopper, json={"month": 2, "day": 29}).status_code == 200
    assert_error(client.put("/api/me/birthday", headers=c.shopper, json={"month": 3, "day": 1}), 409, "birthday_set")
    member = db.session.get(Member, c.user.id)
    assert member.level_id is None  # no order completed yet: no level, no coupon
    feb28 = datetime(2027, 2, 27, 16, 30, tzinfo=timezone.utc)  # 00:30 on 28 Feb 2027, China time
    assert levels.birthday_coupons(feb28) == 0
    collected_and_completed(client, c, 1)  # a level now (spend ≥ 0)
    assert levels.birthday_coupons(feb28 - timedelta(days=1)) == 0  # the day before
    assert levels.birthday_coupons(feb28) == 1
    db.session.commit()
    assert levels.birthday_coupons(feb28 + timedelta(hours=5)) == 0  # again that day: nothing
    db.session.commit()
    assert levels.birthday_coupons(datetime(2028, 2, 28, 16, 30, tzinfo=timezone.utc)) == 1  # 29 Feb 2028, a leap year
    db.session.commit()
    db.session.expire_all()
    keys = db.session.scalars(select(Coupon.claim_key).where(Coupon.user_id == c.user.id, Coupon.channel == "birthday")
                              .order_by(Coupon.id)).all()
    assert keys == ["birthday:2027", "birthday:2028"]
