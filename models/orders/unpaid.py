"""An unpaid order ends: cancelled by the shopper or staff, or at its pay deadline. WeChat
Pay is asked first: an order it says is paid stays (the payment is applied instead); one
it says is unpaid is closed there before we cancel, so no payment can follow; no answer
leaves the order as it is. The stock hold is released once."""
from __future__ import annotations

from app import wechat
from models import outbox
from models.orders.status import SYSTEM, Actor, InvalidTransition, Outcome, Status, transition
from models.orders.tables import Order
from models.payments.upstream import Unsure, settle_before_cancel
from models.stock import holds


class PaidMeanwhile(InvalidTransition):
    message = "The order was paid meanwhile; it can no longer be cancelled."
    keep_changes = True  # the payment found at WeChat Pay is applied, not rolled back


def cancel(order: Order, actor: Actor, reason: str | None = None) -> Outcome:
    """Shopper or staff cancel an unpaid order; the stock hold is released once. An order
    offered for payment is first closed at WeChat Pay, so no payment can follow."""
    if order.status == Status.pending_payment.value:
        try:
            paid = settle_before_cancel(order)
        except Unsure as exc:
            raise wechat.pay_failure("close", exc.cause,
                                     "WeChat Pay could not confirm the order is unpaid; try again.") from None
        if paid:  # the money arrived first: the order stays, and the payment is kept
            raise PaidMeanwhile(details={"status": Status.paid.value})
    outcome = transition(order, "cancel", actor, reason=reason or "cancelled", cancel_reason=reason)
    if outcome.applied:
        holds.release(order.store_id, order.stock_lines(), order_id=order.id, reason="cancel")
    return outcome


def expire(order: Order, now) -> bool:
    """An unpaid order past its pay deadline is cancelled (reason pay_timeout) — after
    asking WeChat Pay, which may say it was paid after all (then the payment is applied
    instead). Returns True if it was expired now."""
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
        holds.release(order.store_id, order.stock_lines(), order_id=order.id, reason="pay_timeout")
        outbox.enqueue("subscribe_message", {"event": "order_cancelled", "order_id": order.id,
                                             "reason": "pay_timeout"},
                       dedupe_key=f"order_cancelled:{order.id}")
    return outcome.applied
