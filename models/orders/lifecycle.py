"""What happens to an order after it is placed: cancel, time out, get ready, ship,
arrive, complete. Each step is one transition plus its side effects, applied once."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.errors import AppError, WeChatUnavailable
from app.extensions import db
from models import outbox, stock
from models.base import utcnow
from models.orders.status import SYSTEM, Actor, InvalidTransition, Outcome, Status, transition
from models.orders.tables import Order

log = logging.getLogger(__name__)


class PaidMeanwhile(InvalidTransition):
    message = "The order was paid meanwhile; it can no longer be cancelled."
    keep_changes = True  # the payment found at WeChat Pay is applied, not rolled back


class WrongFulfillment(AppError):
    status, code, message = 409, "invalid_transition", "That step is not part of this kind of order."


def _stock_lines(order: Order) -> list[tuple[int, int]]:
    return [sl for item in order.items for sl in item.stock_lines()]


def cancel(order: Order, actor: Actor, reason: str | None = None) -> Outcome:
    """Shopper or staff cancel an unpaid order; the stock hold is released once. An order
    offered for payment is first closed at WeChat Pay, so no payment can follow."""
    if order.status == Status.pending_payment.value:
        from models.payments.upstream import Unsure, settle_before_cancel

        try:
            paid = settle_before_cancel(order)
        except Unsure:
            raise WeChatUnavailable("WeChat Pay could not confirm the order is unpaid; try again.") from None
        if paid:  # the money arrived first: the order stays, and the payment is kept
            raise PaidMeanwhile(details={"status": Status.paid.value})
    outcome = transition(order, "cancel", actor, reason=reason or "cancelled", cancel_reason=reason)
    if outcome.applied:
        stock.release(order.store_id, _stock_lines(order), order_id=order.id, reason="cancel")
    return outcome


def expire_if_overdue(order: Order, now=None) -> bool:
    """Lazy deadline check used on every read and by the sweep: an unpaid order past its
    pay deadline is cancelled (reason pay_timeout) — after asking WeChat Pay, which may
    say it was paid after all (then the payment is applied instead). Returns True if it
    was expired now."""
    from models.payments.upstream import Unsure, settle_before_cancel

    now = now or utcnow()
    if order.status == Status.ready_for_pickup.value:  # the pickup deadline (models/pickup/expiry)
        from models.pickup import expiry

        return expiry.expire_if_overdue(order, now)
    if order.status != Status.pending_payment.value or order.pay_deadline > now:
        return False
    try:
        if settle_before_cancel(order):
            return False
    except Unsure:
        return False  # not sure it's unpaid: leave it for the next pass
    try:
        outcome = transition(order, "cancel", SYSTEM, reason="pay_timeout", cancel_reason="pay_timeout")
    except InvalidTransition:  # a notify got there first: it's paid
        return False
    if outcome.applied:
        stock.release(order.store_id, _stock_lines(order), order_id=order.id, reason="pay_timeout")
        outbox.enqueue("subscribe_message", {"event": "order_cancelled", "order_id": order.id,
                                             "reason": "pay_timeout"},
                       dedupe_key=f"order_cancelled:{order.id}")
    return outcome.applied


def mark_ready(order: Order, actor: Actor) -> Outcome:
    """A paid pickup order waits at the counter: its pickup code is issued and its pickup
    deadline starts (the store's expiry hours, else PICKUP_EXPIRY_HOURS)."""
    from models.pickup import codes
    from models.stores import Store

    if order.fulfillment != "pickup":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    if order.status != Status.paid.value:  # a repeat or a wrong state: the transition judges
        return transition(order, "mark_ready", actor, reason="ready")
    # Whole seconds: what DATETIME keeps, so the deadline answered now is the one stored.
    store, now = db.session.get(Store, order.store_id), utcnow().replace(microsecond=0)
    outcome = transition(order, "mark_ready", actor, reason="ready", at=now,
                         pickup_deadline=codes.deadline_for(store, now))
    if outcome.applied:
        codes.issue(order, store)
        outbox.enqueue("subscribe_message", {"event": "ready_for_pickup", "order_id": order.id},
                       dedupe_key=f"ready_for_pickup:{order.id}")
    return outcome


def on_paid(order: Order) -> None:
    """An order has just become paid (a payment applied; or made from a pickup card,
    with nothing to pay). A pickup order at a store set to `auto_ready` is ready at once
    when the store has its stock on hand — no packing step. Never fails the payment: a
    problem here leaves the order paid for staff to mark ready."""
    from models.stores import Store

    if order.fulfillment != "pickup" or order.status != Status.paid.value:
        return
    store = db.session.get(Store, order.store_id)
    if store is None or not store.auto_ready:
        return
    needed: dict[int, int] = {}
    for sku_id, qty in _stock_lines(order):
        needed[sku_id] = needed.get(sku_id, 0) + qty
    rows = stock.read_rows(order.store_id, list(needed))
    if any(sku_id not in rows or rows[sku_id].on_hand < qty for sku_id, qty in needed.items()):
        return
    try:
        with db.session.begin_nested():
            mark_ready(order, SYSTEM)
    except Exception:
        log.exception("auto-ready failed for order %s; it stays paid", order.order_no)


def ship(order: Order, actor: Actor, carrier: str, tracking_no: str) -> Outcome:
    """The goods leave the store: the hold becomes a deduction."""
    if order.fulfillment != "delivery":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    outcome = transition(order, "ship", actor, reason="shipped", carrier=carrier, tracking_no=tracking_no)
    if outcome.applied:
        stock.deduct(order.store_id, _stock_lines(order), order_id=order.id, reason="ship")
        # WeChat holds the settlement until told how the goods left (logistics_type 1).
        outbox.enqueue_many([
            ("shipping_upload", {"order_id": order.id, "logistics_type": 1}, f"shipping_upload:{order.id}:1"),
            ("subscribe_message", {"event": "order_shipped", "order_id": order.id}, f"order_shipped:{order.id}")])
    return outcome


def mark_delivered(order: Order, actor: Actor) -> Outcome:
    return transition(order, "mark_delivered", actor, reason="delivered")


def confirm_receipt(order: Order, actor: Actor) -> Outcome:
    if order.fulfillment != "delivery":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    if order.status == Status.completed.value:
        return Outcome(False, Status.completed)
    return transition(order, "complete", actor, reason="receipt_confirmed")


def sweep(batch: int = 200) -> dict:
    """Periodic pass (the task queue runs it; `flask orders sweep` by hand): time out
    unpaid orders past their deadline, auto-confirm deliveries after N days, complete
    pickups after their after-sales window. Each order is its own small transaction, so
    one failure doesn't hold up the rest."""
    now = utcnow()
    expired = each_order(select(Order.id).where(Order.status == Status.pending_payment.value,
                                           Order.pay_deadline <= now).limit(batch),
                    lambda o: expire_if_overdue(o, now))
    cutoff = now - timedelta(days=current_app.config["DELIVERY_AUTO_CONFIRM_DAYS"])
    confirmed = each_order(select(Order.id).where(Order.status.in_([Status.shipped.value, Status.delivered.value]),
                                             Order.shipped_at <= cutoff).limit(batch),
                      lambda o: transition(o, "complete", SYSTEM, reason="auto_confirmed").applied)
    # Picked up at the counter: complete once the after-sales window has passed.
    handed = now - timedelta(days=current_app.config["PICKUP_COMPLETE_AFTER_DAYS"])
    completed = each_order(select(Order.id).where(Order.status == Status.picked_up.value,
                                             Order.picked_up_at <= handed).limit(batch),
                      lambda o: transition(o, "complete", SYSTEM, reason="auto_completed").applied)
    return {"expired": expired, "auto_confirmed": confirmed, "auto_completed": completed}


def each_order(ids_query, step) -> int:
    """Run `step(order)` for each order id the query finds, each in its own transaction
    (one failure doesn't hold up the rest). Returns how many steps said they acted."""
    done = 0
    for order_id in db.session.scalars(ids_query).all():
        try:
            order = db.session.get(Order, order_id)
            if order is not None and step(order):
                done += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("sweep failed for order %s", order_id)
    return done
