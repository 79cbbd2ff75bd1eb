"""Coupons: both limits under 200 concurrent claims, the split of a discount over an
order's lines (exact, capped, payable ≥ 1 fen, for any lines and coupon), and a coupon's
life with its order."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.growth import coupons
from models.growth.coupons import Line
from models.growth.tables import Coupon, CouponTemplate
from models.money import largest_remainder
from models.users import User
from tests.models.orders.test_concurrency import run_threads
from tests.models.pickup.support import counter, place  # noqa: F401


def template(**over) -> CouponTemplate:
    fields = {"name": "满100减20", "kind": "threshold", "amount_fen": 2000, "min_spend_fen": 10000,
              "valid_days": 30, **over}
    made = coupons.create_template(None, fields)
    db.session.commit()
    return made


def shoppers(n: int) -> list[int]:
    users = [User(openid=f"o-coupon-{i}-{utcnow().timestamp()}") for i in range(n)]
    db.session.add_all(users)
    db.session.commit()
    return [u.id for u in users]


def test_200_concurrent_claims_hand_out_the_total_and_at_most_one_each(app, ctx):
    t = template(total_limit=50, per_user_limit=1)
    # 120 shoppers, 80 of whom claim twice: 200 claims from 40 threads started together
    # (the server takes 151 connections; the app's pool queues the rest), a shopper's two
    # claims in different threads.
    users = shoppers(120)
    claimers, template_id = users + users[:80], t.id  # (no ORM object crosses threads)
    db.session.rollback()  # nor a transaction stays open here (SQLite's write lock)

    def claim(user_id):
        try:
            coupons.claim(user_id, template_id)
            db.session.commit()
            return "ok"
        except coupons.CouponSoldOut:
            return "sold_out"
        except coupons.CouponLimitReached:
            return "limit"
        finally:
            db.session.rollback()

    def thread(i):
        with app.app_context():
            try:
                return [claim(user_id) for user_id in claimers[i::40]]
            finally:
                db.session.remove()

    outcomes = Counter(o for part in run_threads(40, thread) for o in part)
    assert outcomes["ok"] == 50, outcomes
    assert sum(outcomes.values()) == 200 and set(outcomes) <= {"ok", "sold_out", "limit"}
    db.session.expire_all()
    per_user = db.session.execute(select(Coupon.user_id, func.count()).where(Coupon.template_id == t.id)
                                  .group_by(Coupon.user_id)).all()
    assert sum(n for _, n in per_user) == 50 and max(n for _, n in per_user) == 1
    assert db.session.get(CouponTemplate, t.id).issued == 50


def test_a_shopper_with_a_limit_of_two_gets_two_even_claiming_at_once(app, ctx):
    t = template(per_user_limit=2)
    (user,) = shoppers(1)
    template_id = t.id
    db.session.rollback()

    def claim(_):
        with app.app_context():
            try:
                coupons.claim(user, template_id)
                db.session.commit()
                return "ok"
            except coupons.CouponLimitReached:
                return "limit"
            finally:
                db.session.remove()

    outcomes = Counter(run_threads(6, claim))
    assert outcomes["ok"] <= 2 and outcomes["ok"] + outcomes["limit"] == 6
    db.session.expire_all()
    have = db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.template_id == t.id))
    assert have == outcomes["ok"] == coupons.issued_now([db.session.get(CouponTemplate, t.id)])[0].issued
    # Whatever the race left, asking again tops the shopper up to two, never more.
    while have < 2:
        coupons.claim(user, t.id)
        db.session.commit()
        have += 1
    with pytest.raises(coupons.CouponLimitReached):
        coupons.claim(user, t.id)


def test_claiming_refuses_what_the_template_does_not_allow(ctx):
    (user,) = shoppers(1)
    ended = template(valid_until=utcnow() - timedelta(days=1), valid_days=None)
    with pytest.raises(coupons.CouponNotClaimable):
        coupons.claim(user, ended.id)
    invite_only = template(channels=["invitation"])
    with pytest.raises(coupons.CouponNotClaimable):
        coupons.claim(user, invite_only.id)
    assert coupons.claim(user, invite_only.id, channel="invitation").channel == "invitation"
    with pytest.raises(Exception) as bad:
        coupons.create_template(None, {"name": "x", "kind": "threshold", "amount_fen": 2000, "min_spend_fen": 1000,
                                 "valid_days": 7})
    assert getattr(bad.value, "details", {}).get("min_spend_fen")


def test_what_each_kind_takes_off():
    lines = [Line(1, "粮油", 2, 8900), Line(2, "酒水", 1, 5900), Line(3, "粮油", 1, 100)]
    t = CouponTemplate(kind="percent", percent_off=15, cap_fen=2000, min_spend_fen=0, scope="category",
                       scope_ids=["粮油"])
    q = coupons.quote(t, lines, store_id=1)
    assert q.discount_fen == (2 * 8900 + 100) * 15 // 100 == 2685 or q.discount_fen == 2000
    assert q.discount_fen == 2000 and q.line_discounts[1] == 0 and sum(q.line_discounts) == 2000
    voucher = CouponTemplate(kind="voucher", sku_id=1, min_spend_fen=0, scope="all", scope_ids=[])
    q = coupons.quote(voucher, lines, store_id=1)
    assert q.discount_fen == 8900 and q.line_discounts == [8900, 0, 0]
    threshold = CouponTemplate(kind="threshold", amount_fen=2000, min_spend_fen=30000, scope="all", scope_ids=[])
    with pytest.raises(coupons.CouponNotApplicable) as refused:
        coupons.quote(threshold, lines, store_id=1)
    assert refused.value.details["reason"] == "min_spend"
    # A fixed coupon worth more than the order leaves 1 fen to pay.
    big = CouponTemplate(kind="fixed", amount_fen=10 ** 6, min_spend_fen=0, scope="all", scope_ids=[])
    q = coupons.quote(big, lines, store_id=1)
    assert q.discount_fen == sum(line.total_fen for line in lines) - 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 20), st.integers(1, 200_000), st.booleans()),
                      min_size=1, max_size=8),
       kind=st.sampled_from(["fixed", "percent", "threshold"]), amount=st.integers(1, 500_000),
       percent=st.integers(1, 99), cap=st.none() | st.integers(1, 100_000))
def test_any_split_is_exact_capped_and_leaves_a_fen_to_pay(lines, kind, amount, percent, cap):
    order = [Line(i, "in" if eligible else "out", qty, price) for i, (_, qty, price, eligible) in enumerate(lines)]
    t = CouponTemplate(kind=kind, amount_fen=amount, percent_off=percent, cap_fen=cap,
                       min_spend_fen=amount + 1 if kind == "threshold" else 0, scope="category", scope_ids=["in"])
    try:
        q = coupons.quote(t, order, store_id=1)
    except coupons.CouponNotApplicable:
        return
    total = sum(line.total_fen for line in order)
    eligible = sum(line.total_fen for line in order if line.category == "in")
    assert sum(q.line_discounts) == q.discount_fen
    assert 0 <= q.discount_fen <= eligible and total - q.discount_fen >= 1
    for line, d in zip(order, q.line_discounts):
        assert 0 <= d <= line.total_fen and (d == 0 or line.category == "in")


@given(amount=st.integers(0, 10 ** 7), weights=st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=12))
def test_largest_remainder_adds_up_and_never_exceeds_a_weight(amount, weights):
    shares = largest_remainder(amount, weights)
    assert sum(shares) == amount
    if amount <= sum(weights):
        assert all(0 <= s <= w for s, w in zip(shares, weights))


def test_a_coupon_is_locked_used_released_and_given_back_with_its_order(client, counter):
    from models.orders.tables import Order

    user = counter.user.id
    t = template(kind="fixed", amount_fen=500, min_spend_fen=0)
    coupon = coupons.claim(user, t.id)
    db.session.commit()
    assert coupons.usable(coupon, user) is not None
    order_id = db.session.scalars(select(Order.id).where(Order.order_no == place(client, counter))).one()
    coupons.lock_for_order(coupon, order_id, coupons.SYSTEM)
    db.session.commit()
    with pytest.raises(coupons.CouponNotApplicable):
        coupons.usable(coupon, user)  # held by the order
    coupons.on_order_ended_unpaid(order_id)
    db.session.commit()
    db.session.refresh(coupon)
    assert (coupon.status, coupon.order_id) == ("available", None)
    coupons.lock_for_order(coupon, order_id, coupons.SYSTEM)
    coupons.on_order_paid(order_id)
    db.session.commit()
    db.session.refresh(coupon)
    assert coupon.status == "used"
    coupons.on_order_refunded_in_full(order_id)
    db.session.commit()
    db.session.refresh(coupon)
    assert coupon.status == "available"
    # Past its end, the daily job expires it.
    assert coupons.expire_due(utcnow() + timedelta(days=31)) == 1
    db.session.commit()
    db.session.refresh(coupon)
    assert coupon.status == "expired"
