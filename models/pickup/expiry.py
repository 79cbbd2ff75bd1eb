"""The pickup deadline (48-hour protection).

A ready order not collected by `pickup_deadline` (ready_at + the store's
pickup_expiry_hours, else PICKUP_EXPIRY_HOURS) expires: `expire_pickup` to
pickup_expired, what was not picked up goes back on the shelf, the code stops working,
and the shopper is refunded automatically through the payments refund path (a pending
refund submitted after commit, retried by `flask pay refunds`, ending `refunded` through
`finish_refund` when WeChat Pay confirms it). After a partial pickup only the part not
collected is refunded (its share of what was paid).

Checked lazily whenever the order is read or acted on, and by `sweep` (the task queue;
`flask pickups sweep` by hand), which also queues the "pickup expiring" reminder some
hours before the deadline — once per deadline: a manager's extension gets its own.
Expiring and extending both lock the order first, so an extension racing the deadline
either lands before the expiry or is refused after it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from app.db import each_in_own_transaction
from app.extensions import db
from models import audit, outbox
from models.stock import holds
from models.base import utcnow
from models.staff.abilities import readable_store_ids
from models.cards.redemption import return_units
from models.orders.status import SYSTEM, Status, transition
from models.orders.tables import Order, OrderItem
from models.payments.refunds import refund_automatically
from models.pickup import codes
from models.pickup.errors import DeadlineInvalid, PickupExpired

log = logging.getLogger(__name__)
READY = Status.ready_for_pickup.value
REFUND_REASON = "超时未提货，自动退款"


def _overdue(order: Order, now: datetime) -> bool:
    return order.status == READY and order.pickup_deadline is not None and order.pickup_deadline <= now


def expire_if_overdue(order: Order, now: datetime | None = None) -> bool:
    """The lazy check: expire `order` if its pickup deadline has passed. True if it
    expired now. Re-checked under the order's lock (an extension or a verification may
    have got there first)."""
    now = now or utcnow()
    if not _overdue(order, now):
        return False
    codes.live_code(order.id, lock=True)  # the code before the order (codes.lock_order)
    order = codes.lock_order(order.id)
    if not _overdue(order, now):
        return False
    expire(order)
    return True


def check_deadline(order: Order) -> None:
    """For anything that acts on a ready order: past the deadline it expires now, and the
    action is refused with pickup_expired (the expiry is kept)."""
    if expire_if_overdue(order):
        raise PickupExpired(details={"order_no": order.order_no, "pickup_deadline": order.pickup_deadline.isoformat()})


def expire(order: Order) -> None:
    """`order` is locked by the caller and overdue."""
    outcome = transition(order, "expire_pickup", SYSTEM, reason="pickup_deadline")
    if not outcome.applied:
        return
    items = list(db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)
                                    .order_by(OrderItem.id).execution_options(populate_existing=True)))
    holds.release(order.store_id, [sl for item in items for sl in item.stock_lines()],
                  order_id=order.id, reason="pickup_expired")
    codes.end_live(order.id, "expire")
    outbox.enqueue("subscribe_message", {"event": "pickup_expired_refunded", "order_id": order.id},
                   dedupe_key=f"pickup_expired:{order.id}")
    if order.payable_fen == 0:
        expired_without_payment(order)
    else:
        _refund(order, items)


def expired_without_payment(order: Order) -> None:
    """An expired order with nothing to refund (payable 0: made from a pickup card). Its
    stock is already back on the shelf; the units it took go back to the card, once. The
    order stays pickup_expired."""
    if not return_units(order):
        log.info("pickup expired for order %s with nothing to refund or return (source %s)",
                 order.order_no, order.source)


def _refund(order: Order, items: list[OrderItem]) -> None:
    total = sum(i.qty * i.price_fen for i in items)
    left = sum(i.remaining_qty * i.price_fen for i in items)
    amount = order.payable_fen if left == total or not total else order.payable_fen * left // total
    if refund_automatically(order, amount, REFUND_REASON) is None:
        # Paid, yet no payment to refund (or nothing left of it): a person must look.
        outbox.enqueue("staff_alert", {"event": "pickup_expired_unrefunded", "order_id": order.id,
                                       "store_id": order.store_id},
                       dedupe_key=f"pickup_expired_unrefunded:{order.id}")


# --- extending --------------------------------------------------------------------------------

def extend(staff, order: Order, hours: int, reason: str | None = None) -> Order:
    """A manager gives the customer more time, before the deadline passes."""
    codes.live_code(order.id, lock=True)  # the code before the order: this may expire it
    order = codes.lock_order(order.id)
    check_deadline(order)
    if order.status != READY:
        codes.raise_for_status(order)
    old = order.pickup_deadline
    new = old + timedelta(hours=hours)
    limit = utcnow() + timedelta(hours=current_app.config["PICKUP_MAX_EXTENSION_HOURS"])
    if new > limit:
        raise DeadlineInvalid(details={"pickup_deadline": new.isoformat(), "latest": limit.isoformat()})
    db.session.execute(update(Order).where(Order.id == order.id, Order.status == READY)
                       .values(pickup_deadline=new, pickup_reminded_at=None)
                       .execution_options(synchronize_session=False))
    order.pickup_deadline, order.pickup_reminded_at = new, None
    audit.record("pickup.extend_deadline", order, actor=staff,
                 changes={"pickup_deadline": [old.isoformat(), new.isoformat()], "reason": reason})
    return order


# --- the queue of pickups about to expire ---------------------------------------------------

def due_soon(staff, *, store_id: int | None, within_hours: int, cursor: int | None, limit: int) -> list[Order]:
    """Ready orders whose deadline falls within `within_hours` (or has just passed, before
    the sweep reached them), soonest first: who to call, or whose deadline to extend.
    Keyset on (deadline, id) with the cursor being the last order's id (its deadline is
    read back by key), on `ix_orders_status_pickup_deadline`."""
    store_ids = readable_store_ids(staff, store_id)
    query = (select(Order).options(selectinload(Order.items))
             .where(Order.status == READY, Order.pickup_deadline < utcnow() + timedelta(hours=within_hours))
             .order_by(Order.pickup_deadline, Order.id).limit(limit))
    if store_ids is not None:
        query = query.where(Order.store_id.in_(store_ids or [-1]))
    if cursor:
        last = db.session.scalars(select(Order.pickup_deadline).where(Order.id == cursor)).first()
        if last is not None:
            query = query.where(or_(Order.pickup_deadline > last,
                                    and_(Order.pickup_deadline == last, Order.id > cursor)))
    return list(db.session.scalars(query))


# --- the sweep ----------------------------------------------------------------------------

def remind(order: Order, now: datetime) -> bool:
    """Queue the "pickup expiring" reminder for the order's current deadline, once."""
    deadline = order.pickup_deadline
    done = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == READY, Order.pickup_reminded_at.is_(None),
                            Order.pickup_deadline == deadline)
        .values(pickup_reminded_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    outbox.enqueue("subscribe_message", {"event": "pickup_expiring", "order_id": order.id},
                   dedupe_key=f"pickup_expiring:{order.id}:{int(deadline.timestamp())}")
    return True


def sweep(batch: int = 200) -> dict:
    """Expire overdue pickups (refunds are submitted after each commit) and queue the
    reminders due. Each order is its own transaction, so one failure holds up nothing."""
    now = utcnow()
    expired = _each_order(select(Order.id).where(Order.status == READY, Order.pickup_deadline <= now)
                          .order_by(Order.pickup_deadline).limit(batch),
                          lambda order: expire_if_overdue(order, now))
    reminded = 0
    hours = current_app.config["PICKUP_REMINDER_HOURS"]
    if hours:
        reminded = _each_order(select(Order.id).where(Order.status == READY, Order.pickup_deadline > now,
                                                      Order.pickup_deadline <= now + timedelta(hours=hours),
                                                      Order.pickup_reminded_at.is_(None))
                               .order_by(Order.pickup_deadline).limit(batch),
                               lambda order: remind(order, now))
    return {"expired": expired, "reminded": reminded}


def _each_order(ids_query, step) -> int:
    return each_in_own_transaction(ids_query, step, what="pickup sweep", load=Order)

