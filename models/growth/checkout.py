"""A coupon and points at checkout, and what an order's life does to them.

Before the order is written: the coupon must be the shopper's, usable now, not in a flash
sale, and stackable with points if both are given; its discount is split over the eligible
lines (models.growth.coupons.quote); then the shopper's member level takes its percentage off
each line (not in a flash sale); then points take whole units off what is left (at most
POINTS_MAX_SHARE_PERCENT of it, split over the lines by what each still costs). Every line
keeps its part (`order_items.discount_fen`), the parts add up to the order's discounts
exactly, and the order costs ≥ 1 fen.

After the order and its stock holds are written: the coupon is locked to the order by a
guarded update (a coupon raced to two orders: one wins, the other order rolls back whole)
and the points are spent under the shopper's account lock. Paid: the coupon is used.
Cancelled or expired unpaid: the coupon is free again and the points come back. Refunded in
full: the coupon comes back while still valid, the points too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from models.base import utcnow
from models.catalog import Product, Sku
from models.growth import coupons, levels, points
from models.growth.tables import Coupon, CouponScope
from models.money import largest_remainder
from models.state_machine import Actor


@dataclass
class Discounts:
    coupon: Coupon | None = None
    coupon_fen: int = 0
    points: int = 0
    points_fen: int = 0
    level_fen: int = 0  # the member level's price off
    lines: list[int] = field(default_factory=list)  # per line: coupon part + level part + points part

    @property
    def any(self) -> bool:
        return self.coupon is not None or self.points > 0 or self.level_fen > 0


def plan(user_id: int, store_id: int, lines: list[tuple[int, int, int]], *, coupon_id: int | None,
         points_offered: int, flash: bool) -> Discounts:
    """`lines`: (sku_id, qty, price_fen) in order. Refuses what cannot apply (4xx)."""
    out = Discounts(lines=[0] * len(lines))
    level_percent = 0 if flash else levels.discount_percent(user_id)  # no read unless a level has one
    if not coupon_id and not points_offered and not level_percent:
        return out
    totals = [qty * price for _, qty, price in lines]
    if coupon_id:
        if flash:
            raise coupons.CouponNotApplicable(details={"reason": "flash_sale"})
        coupon, template = coupons.with_template(coupon_id)
        template = coupons.usable(coupon, user_id, template=template)
        if points_offered and not template.stack_with_points:
            raise coupons.CouponNotApplicable(details={"reason": "not_with_points"})
        categories = {}
        if template.scope == CouponScope.category.value:
            categories = dict(db.session.execute(select(Sku.id, Product.category).join(
                Product, Product.id == Sku.product_id).where(Sku.id.in_([s for s, _, _ in lines]))).all())
        quote = coupons.quote(template, [coupons.Line(s, categories.get(s), q, p) for s, q, p in lines], store_id)
        out.coupon, out.coupon_fen, out.lines = coupon, quote.discount_fen, list(quote.line_discounts)
    if level_percent:
        # The member price: each line's percentage of what it still costs, rounded down (so
        # the parts are the discount exactly); a level gives at most 50 %, so ≥ 1 fen is left.
        remaining = [t - d for t, d in zip(totals, out.lines)]
        parts = [r * level_percent // 100 for r in remaining]
        out.level_fen = sum(parts)
        out.lines = [d + p for d, p in zip(out.lines, parts)]
    if points_offered:
        cfg = current_app.config
        left = sum(totals) - out.coupon_fen - out.level_fen
        used, fen = points.checkout_value(points_offered, left - 1, points_per_yuan=cfg["POINTS_PER_YUAN"],
                                          unit=cfg["POINTS_UNIT"], max_share_percent=cfg["POINTS_MAX_SHARE_PERCENT"])
        if used:  # whether the shopper has them is decided by the spend, under their account's lock
            remaining = [t - d for t, d in zip(totals, out.lines)]
            out.points, out.points_fen = used, fen
            out.lines = [d + p for d, p in zip(out.lines, largest_remainder(fen, remaining))]
    return out


def bind(order_id, order_no: str, user_id: int, discounts: Discounts, actor: Actor, writes=None) -> None:
    """Lock the order's coupon to it and spend its points (same transaction). With `writes`
    (placement's batch, `order_id` then the id its INSERT will make) both go in that one
    round trip: the points' rows are locked first, here, and the coupon's guarded update
    is checked when the batch has run (lost to another order: 409, all rolled back)."""
    if discounts.coupon is not None:
        coupons.lock_for_order(discounts.coupon, order_id, actor, writes=writes)
    if discounts.points:
        points.spend(user_id, discounts.points, ref=f"order:{order_no}", new_ref=True, writes=writes)


def on_paid(order) -> None:
    if order.coupon_id:
        coupons.on_order_paid(order.id)


def on_ended_unpaid(order) -> None:
    if order.coupon_id:
        coupons.on_order_ended_unpaid(order.id)
    if order.points_used:
        points.return_spend(order.user_id, ref=f"order:{order.order_no}")


def on_refunded_in_full(order) -> None:
    if order.coupon_id:
        coupons.on_order_refunded_in_full(order.id)
    if order.points_used:
        points.return_spend(order.user_id, ref=f"order:{order.order_no}")
    # What the order earned is taken back (a debt where already spent).
    points.claw_back(source="order", ref=order.order_no)


def earn_for_completed(order) -> None:
    """A completed order earns points per yuan paid, spendable after its after-sale window."""
    from datetime import timedelta

    at = order.completed_at or utcnow()
    levels.on_completed(order.user_id, at)  # the order counts toward the level at once
    if order.payable_fen > 0:  # a thank-you coupon (the order_gift channel's templates), within their limits
        coupons.grant_by_channel(order.user_id, "order_gift", at)
    rate = current_app.config["POINTS_EARN_PER_YUAN"]
    amount = order.payable_fen // 100 * rate * levels.points_percent(order.user_id) // 100
    if amount <= 0:
        return
    points.earn(order.user_id, amount, source="order", ref=order.order_no,
                available_from=at + timedelta(days=current_app.config["POINTS_HOLD_DAYS"]), now=at)
