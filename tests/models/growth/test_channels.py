"""Coupons handed out by channel: a welcome coupon at a shopper's first login only; a
thank-you coupon when an order completes; a coupon bought with points, all or nothing, and
once per Idempotency-Key. And the shopper's own messages: points about to expire (once per
lot) and an inviter's tier reward."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.growth import coupons, points
from models.growth.tables import Coupon, PointLot
from models.outbox.tables import OutboxMessage
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, bearer, wx_login_code
from tests.models.growth.test_levels import collected_and_completed
from tests.models.pickup.support import counter, ready_order, shown, verify  # noqa: F401


def template(channels, **extra):
    made = coupons.create_template(None, {"name": "券", "kind": "fixed", "amount_fen": 500, "valid_days": 30,
                                          "channels": channels, **extra})
    db.session.commit()
    return made.id


def login(client, sandbox, who):
    resp = client.post("/api/auth/login", json={"code": wx_login_code(sandbox, who)})
    assert resp.status_code == 200, resp.json
    return resp.json["user"]["id"], bearer(resp.json["token"])


def coupons_of(user_id, channel):
    db.session.expire_all()
    return db.session.scalars(select(Coupon).where(Coupon.user_id == user_id, Coupon.channel == channel)).all()


def test_a_welcome_coupon_at_the_first_login_only(ctx, client, sandbox):
    welcome = template(["new_customer"], total_limit=1)
    template(["claim"])  # not a welcome coupon
    first_id, _ = login(client, sandbox, "newbie")
    login(client, sandbox, "newbie")  # a later login: nothing more
    second_id, _ = login(client, sandbox, "late")  # the template is sold out: passed over, login still works
    assert [c.template_id for c in coupons_of(first_id, "new_customer")] == [welcome]
    assert coupons_of(second_id, "new_customer") == []


def test_a_completed_order_brings_a_thank_you_coupon(client, counter):
    gift = template(["order_gift"], per_user_limit=2)
    for _ in range(3):
        collected_and_completed(client, counter, 1)
    assert [c.template_id for c in coupons_of(counter.user.id, "order_gift")] == [gift, gift]  # its limit: 2


def test_points_buy_a_coupon_once_per_key_and_all_or_nothing(client, counter):
    c = counter
    admin = admin_headers(client)
    resp = client.post("/api/admin/coupon-templates", headers=admin, json={
        "name": "积分换券", "kind": "fixed", "amount_fen": 1000, "valid_days": 30, "per_user_limit": 5,
        "channels": ["points_exchange"], "points_cost": 800})
    assert resp.status_code == 201, resp.json
    tid = resp.json["id"]
    assert_error(client.post("/api/admin/coupon-templates", headers=admin, json={
        "name": "无价", "kind": "fixed", "amount_fen": 1000, "valid_days": 30, "channels": ["points_exchange"]}),
        400, "invalid_request")
    points.earn(c.user.id, 1000, source="admin", ref="seed")
    db.session.commit()
    offered = client.get("/api/coupons/exchangeable", headers=c.shopper).json
    assert [(o["template"]["id"], o["template"]["points_cost"]) for o in offered] == [(tid, 800)]

    assert_error(client.post(f"/api/coupons/{tid}/exchange", headers=c.shopper), 400, "invalid_request")
    key = {**c.shopper, "Idempotency-Key": "swap-1"}
    first = client.post(f"/api/coupons/{tid}/exchange", headers=key)
    assert first.status_code == 201, first.json
    again = client.post(f"/api/coupons/{tid}/exchange", headers=key)
    assert (again.status_code, again.json["id"]) == (201, first.json["id"])  # the same coupon, no second spend
    assert client.get("/api/me/points", headers=c.shopper).json["balance"] == 200
    # 200 left, 800 asked: refused, and no coupon is left behind.
    assert_error(client.post(f"/api/coupons/{tid}/exchange", headers={**c.shopper, "Idempotency-Key": "swap-2"}),
                 409, "points_insufficient")
    assert len(coupons_of(c.user.id, "points_exchange")) == 1
    other = template(["points_exchange"], points_cost=100)
    assert_error(client.post(f"/api/coupons/{other}/exchange", headers=key), 422, "idempotency_key_reused")


def test_points_about_to_expire_are_told_once_per_lot(app, counter):
    user_id = counter.user.id
    now = utcnow()
    soon, later = points.earn(user_id, 300, source="admin", ref="a", now=now - timedelta(days=360)), \
        points.earn(user_id, 200, source="admin", ref="b", now=now)
    soon.expires_at = now + timedelta(days=3)  # within the week
    db.session.commit()
    assert points.remind_expiring(now, within_days=7) == 1
    db.session.commit()
    assert points.remind_expiring(now, within_days=7) == 0  # told once
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "subscribe_message")).all()
    told = [r.payload for r in rows if r.payload.get("event") == "points_expiring"]
    assert [(t["user_id"], t["points"]) for t in told] == [(user_id, 300)]
    db.session.expire_all()
    assert db.session.get(PointLot, later.id).reminded_at is None
    assert db.session.scalar(select(func.count()).select_from(PointLot).where(PointLot.reminded_at.is_not(None))) == 1


def test_the_same_exchange_sent_twice_at_once_gives_one_coupon(app, counter):
    """Two requests with one Idempotency-Key at the same moment: one coupon, one spend, and
    both answers name it."""
    from tests.models.orders.test_concurrency import run_threads

    c = counter
    tid = template(["points_exchange"], points_cost=300, per_user_limit=5)
    points.earn(c.user.id, 1000, source="admin", ref="twice")
    db.session.commit()
    headers = {**c.shopper, "Idempotency-Key": "double-tap"}
    results = run_threads(4, lambda _: app.test_client().post(f"/api/coupons/{tid}/exchange", headers=headers))
    assert [r.status_code for r in results] == [201] * 4, [r.json for r in results]
    assert len({r.json["id"] for r in results}) == 1
    assert len(coupons_of(c.user.id, "points_exchange")) == 1
    db.session.expire_all()
    assert points.spendable(c.user.id) == 700
