"""An order's deadlines: the pay deadline of an unpaid order, the pickup deadline of a
ready one, the days after which a delivery or a pickup is complete.

Checked lazily whenever an order is read or acted on (`expire_if_overdue`), so
correctness never waits for a timer; `sweep` (the task queue every minute, `flask orders
sweep` by hand) catches the orders nobody looks at."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.db import each_in_own_transaction
from models.base import utcnow
from models.orders import lifecycle, unpaid
from models.orders.status import SYSTEM, Status
from models.orders.tables import Order
from models.pickup import expiry


def expire_if_overdue(order: Order, now=None) -> bool:
    """The lazy check on every read: an unpaid order past its pay deadline is cancelled
    (after asking WeChat Pay), a ready one past its pickup deadline expires. True if it
    expired now."""
    now = now or utcnow()
    if order.status == Status.ready_for_pickup.value:
        return expiry.expire_if_overdue(order, now)
    return unpaid.expire(order, now)


def sweep(batch: int = 200) -> dict:
    """Periodic pass (the task queue runs it; `flask orders sweep` by hand): time out
    unpaid orders past their deadline, auto-confirm deliveries N days after delivery, complete
    pickups after their after-sales window. Each order is its own small transaction, so
    one failure doesn't hold up the rest."""
    now = utcnow()
    unpaid_overdue = select(Order.id).where(Order.status == Status.pending_payment.value,
                                            Order.pay_deadline <= now).limit(batch)
    # A delivered order's countdown starts at delivery (the carrier's sign time, or staff
    # saying so); one never signed for completes SHIPPED_AUTO_CONFIRM_DAYS after shipping.
    cfg = current_app.config
    delivered_before = now - timedelta(days=cfg["DELIVERY_AUTO_CONFIRM_DAYS"])
    shipped_before = now - timedelta(days=max(cfg["SHIPPED_AUTO_CONFIRM_DAYS"], cfg["DELIVERY_AUTO_CONFIRM_DAYS"]))
    # Two reads, each a range of its own (status, time) index (an OR of both would make
    # MariaDB merge or scan them).
    delivered_long_ago = select(Order.id).where(Order.status == Status.delivered.value,
                                                Order.delivered_at <= delivered_before).limit(batch)
    never_signed_for = select(Order.id).where(Order.status == Status.shipped.value,
                                              Order.shipped_at <= shipped_before).limit(batch)
    # Picked up at the counter: complete once the after-sales window has passed.
    handed = now - timedelta(days=current_app.config["PICKUP_COMPLETE_AFTER_DAYS"])
    picked_up_long_ago = select(Order.id).where(Order.status == Status.picked_up.value,
                                                Order.picked_up_at <= handed).limit(batch)
    return {
        "expired": _each_order(unpaid_overdue, lambda o: expire_if_overdue(o, now)),
        "auto_confirmed": sum(_each_order(ids, lambda o: lifecycle.complete(o, SYSTEM, reason="auto_confirmed").applied)
                              for ids in (delivered_long_ago, never_signed_for)),
        "auto_completed": _each_order(picked_up_long_ago,
                                      lambda o: lifecycle.complete(o, SYSTEM, reason="auto_completed").applied),
    }


def _each_order(ids_query, step) -> int:
    return each_in_own_transaction(ids_query, step, what="orders sweep", load=Order)
