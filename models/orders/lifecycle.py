"""What happens to a paid order: get ready, ship, arrive, complete. Each step is one
transition plus its side effects, applied once. (Cancelling an unpaid order asks WeChat
Pay first: cancel.py; deadlines: deadlines.py.)"""
from __future__ import annotations

import logging

from sqlalchemy import select

from app.errors import AppError
from app.extensions import db
from models import outbox
from models.base import utcnow
from models import audit
from models.orders.status import SYSTEM, Actor, InvalidTransition, Outcome, Status, transition
from models.orders.tables import Order
from models.outbox.status import OUTBOX
from models.outbox.tables import OutboxMessage
from models.pickup import codes
from models.growth import checkout
from models.stock import holds
from models.stores import Store

log = logging.getLogger(__name__)


def cancel_unpaid(order: Order, actor: Actor, *, reason: str, cancel_reason: str | None,
                  ledger_reason: str, tell_shopper: bool = False) -> Outcome:
    """An unpaid order ends cancelled: the move, and its stock back on the shelf once. The
    caller made sure nothing is payable at WeChat Pay (models/orders/unpaid.py)."""
    outcome = transition(order, "cancel", actor, reason=reason, cancel_reason=cancel_reason)
    if outcome.applied:
        holds.release(order.store_id, order.stock_lines(), order_id=order.id, reason=ledger_reason)
        checkout.on_ended_unpaid(order)  # its coupon free again, its points back
        if tell_shopper:
            outbox.enqueue("subscribe_message", {"event": "order_cancelled", "order_id": order.id,
                                                 "reason": reason}, dedupe_key=f"order_cancelled:{order.id}")
    return outcome


class WrongFulfillment(AppError):
    status, code, message = 409, "invalid_transition", "That step is not part of this kind of order."


def mark_ready(order: Order, actor: Actor) -> Outcome:
    """A paid pickup order waits at the counter: its pickup code is issued and its pickup
    deadline starts (the store's expiry hours, else PICKUP_EXPIRY_HOURS)."""
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
    checkout.on_paid(order)  # its coupon is used
    if order.fulfillment != "pickup" or order.status != Status.paid.value:
        return
    store = db.session.get(Store, order.store_id)
    if store is None or not store.auto_ready:
        return
    needed: dict[int, int] = {}
    for sku_id, qty in order.stock_lines():
        needed[sku_id] = needed.get(sku_id, 0) + qty
    rows = holds.read_rows(order.store_id, list(needed))
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
        holds.deduct(order.store_id, order.stock_lines(), order_id=order.id, reason="ship")
        # WeChat holds the settlement until told how the goods left (logistics_type 1).
        outbox.enqueue_many([
            ("shipping_upload", {"order_id": order.id, "logistics_type": 1}, f"shipping_upload:{order.id}:1"),
            ("subscribe_message", {"event": "order_shipped", "order_id": order.id}, f"order_shipped:{order.id}")])
    return outcome


def correct_shipment(order: Order, staff, carrier: str, tracking_no: str) -> Outcome:
    """Staff fix a shipped order's carrier or tracking number (WeChat refused the upload,
    or it was typed wrong): the order is corrected (audited) and WeChat told again — the
    refused upload is retried, else a new one is queued. A queued upload not yet sent
    reads the order when it goes, so it needs nothing."""
    order = codes.lock_order(order.id)
    if order.fulfillment != "delivery":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    if order.status not in (Status.shipped.value, Status.delivered.value):
        raise InvalidTransition(details={"status": order.status, "action": "correct_shipment"})
    changes = {name: [old, new] for name, old, new in (("carrier", order.carrier, carrier),
                                                        ("tracking_no", order.tracking_no, tracking_no))
               if old != new}
    uploads = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "shipping_upload", OutboxMessage.dedupe_key.like(f"shipping_upload:{order.id}:1%"))
        .order_by(OutboxMessage.id.desc()).with_for_update()).all()
    last = uploads[0] if uploads else None
    if not changes and last is not None and not OUTBOX.allows(last.status, "retry"):
        return Outcome(False, order.status)  # the same shipment, and WeChat has it or is about to
    audit.record("order.correct_shipment", order, actor=staff, changes=changes)
    order.carrier, order.tracking_no = carrier, tracking_no
    if last is not None and OUTBOX.allows(last.status, "retry"):
        OUTBOX.move(last, "retry", attempts=0, next_attempt_at=utcnow(), claim_token=None)
        outbox.kick_after_commit()
    elif last is None or last.status != "pending":  # sent with the old values, or being sent
        outbox.enqueue("shipping_upload", {"order_id": order.id, "logistics_type": 1},
                       dedupe_key=f"shipping_upload:{order.id}:1:{len(uploads) + 1}")
    return Outcome(True, order.status)


def mark_delivered(order: Order, actor: Actor, *, at=None, reason: str = "delivered") -> Outcome:
    """The goods arrived: staff say so, or the carrier's "signed" (`at`: its sign time, where
    the auto-confirm countdown starts)."""
    return transition(order, "mark_delivered", actor, reason=reason, at=at)


def confirm_receipt(order: Order, actor: Actor) -> Outcome:
    if order.fulfillment != "delivery":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    if order.status == Status.completed.value:
        return Outcome(False, Status.completed)
    return complete(order, actor, reason="receipt_confirmed")


def complete(order: Order, actor: Actor, *, reason: str) -> Outcome:
    """The order is done (received, or its after-sale window passed): it earns its points."""
    outcome = transition(order, "complete", actor, reason=reason)
    if outcome.applied:
        checkout.earn_for_completed(order)
    return outcome
