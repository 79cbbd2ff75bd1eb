"""An unpaid order ends: cancelled by the shopper or staff, or at its pay deadline. WeChat
Pay is asked first: an order it says is paid stays (the payment is applied instead); one
it says is unpaid is closed there before we cancel, so no payment can follow; no answer
leaves the order as it is. The stock hold is released once.

A cancel racing a "pay" of the same order: the cancel asks WeChat Pay without holding the
order, then locks it and looks again. A prepay that appeared in between (its pay held the
order's lock while storing it, see payments/checkout.py) was not closed: the cancel is
refused (409 payment_started, try again: the next try closes it). A pay that finds the
order cancelled once its prepay is made hands out nothing (and closes it). So a race
ends paid and kept, or cancelled with nothing payable at WeChat Pay.
"""
from __future__ import annotations

from sqlalchemy import select

from app import wechat
from app.errors import AppError
from app.extensions import db
from models.orders import lifecycle
from models.orders.status import SYSTEM, Actor, InvalidTransition, Outcome, Status
from models.orders.tables import Order
from models.payments.tables import Payment
from models.payments.upstream import (CLOSED, HELD, NOTHING_OFFERED, PAID, PaymentUnderReview, Unsure,
                                      record_closed, settle_before_cancel)


class PaidMeanwhile(InvalidTransition):
    message = "The order was paid meanwhile; it can no longer be cancelled."
    keep_changes = True  # the payment found at WeChat Pay is applied, not rolled back


class PaymentStarted(AppError):
    status, code, message = (409, "payment_started",
                             "A payment of this order was just started; cancel again to stop it.")


def cancel(order: Order, actor: Actor, reason: str | None = None) -> Outcome:
    """Shopper or staff cancel an unpaid order; the stock hold is released once. An order
    offered for payment is first closed at WeChat Pay, so no payment can follow."""
    if order.status == Status.pending_payment.value:
        try:
            settled = settle_before_cancel(order)
        except Unsure as exc:
            raise wechat.pay_failure("close", exc.cause,
                                     "WeChat Pay could not confirm the order is unpaid; try again.") from None
        if settled == PAID:  # the money arrived first: the order stays, and the payment is kept
            raise PaidMeanwhile(details={"status": Status.paid.value})
        if settled == HELD:
            raise PaymentUnderReview(details={"order_no": order.order_no})
        order = _locked_unless_offered_meanwhile(order, settled)
    return lifecycle.cancel_unpaid(order, actor, reason=reason or "cancelled", cancel_reason=reason,
                                   ledger_reason="cancel")


def expire(order: Order, now) -> bool:
    """An unpaid order past its pay deadline is cancelled (reason pay_timeout) — after
    asking WeChat Pay, which may say it was paid after all (then the payment is applied
    instead). Money WeChat Pay took that does not match the order keeps it (it ends when
    that money is back). Returns True if it was expired now."""
    if order.status != Status.pending_payment.value or order.pay_deadline > now:
        return False
    try:
        settled = settle_before_cancel(order)
        if settled in (PAID, HELD):
            return False
        order = _locked_unless_offered_meanwhile(order, settled)
        outcome = lifecycle.cancel_unpaid(order, SYSTEM, reason="pay_timeout", cancel_reason="pay_timeout",
                                          ledger_reason="pay_timeout", tell_shopper=True)
    except (Unsure, PaymentStarted):  # not sure it's unpaid: leave it for the next pass
        return False
    except InvalidTransition:  # a notify got there first: it's paid
        return False
    return outcome.applied


def _locked_unless_offered_meanwhile(order: Order, settled: str) -> Order:
    """The order, locked and re-read, then its payment closed if WeChat Pay closed it (the
    order before the payment: the lock order). When WeChat Pay had nothing to close, a
    prepay stored since by a concurrent "pay" (which held this lock while storing it) must
    be closed first: refused, for the caller to try again."""
    order = db.session.scalars(select(Order).where(Order.id == order.id).with_for_update()
                               .execution_options(populate_existing=True)).one()
    if settled == CLOSED:
        record_closed(order)
    if settled == NOTHING_OFFERED and order.status == Status.pending_payment.value and db.session.scalar(
            select(Payment.prepay_id).where(Payment.order_id == order.id)):
        raise PaymentStarted(details={"order_no": order.order_no})
    return order
