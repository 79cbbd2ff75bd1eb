"""Asking WeChat Pay before we give up on an unpaid order, and finding payments whose
notify never arrived."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app import wechat
from app.db import each_in_own_transaction
from app.errors import AppError
from app.extensions import db
from models.base import utcnow
from models.orders.status import Status
from models.orders.tables import Order
from models.payments.apply import apply_transaction
from models.payments.status import PAYMENTS
from models.payments.tables import Payment
from wechat.pay.errors import WeChatPayError, WeChatPayUnavailable

log = logging.getLogger(__name__)


class Unsure(Exception):
    """WeChat Pay couldn't tell us: don't cancel now, ask again later."""

    def __init__(self, cause: WeChatPayError | WeChatPayUnavailable):
        super().__init__(str(cause))
        self.cause = cause


class PaymentUnderReview(AppError):
    status, code, message = (409, "payment_under_review",
                             "WeChat Pay took a payment that does not match this order; it is being "
                             "settled (refunded, or looked at by staff), and the order ends once it is.")
    keep_changes = True  # what asking WeChat Pay found (a case, a refund) is kept


# What asking WeChat Pay before a cancel found:
NOTHING_OFFERED = "nothing_offered"  # no prepay was stored: nothing could be paid (yet)
CLOSED = "closed"                    # closed there: no payment can follow
PAID = "paid"                        # it was paid: the payment is applied now
HELD = "held"                        # money came that does not match the order: being refunded


def settle_before_cancel(order: Order) -> str:
    """Ask WeChat Pay about an unpaid order before it is cancelled, and make sure nothing
    can be paid after: NOTHING_OFFERED, CLOSED, PAID or HELD. Raises Unsure. Holds no lock
    while it asks (the network is slow); CLOSED is written down by `record_closed`."""
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).first()
    if payment is None or not payment.prepay_id:
        return NOTHING_OFFERED
    if payment.status in ("closed", "held"):
        return CLOSED if payment.status == "closed" else HELD
    try:
        tx = wechat.pay().query(out_trade_no=order.order_no)
        if tx and tx.get("trade_state") == "SUCCESS":
            return _found_paid(tx)
        wechat.pay().close(order.order_no)
    except WeChatPayError as exc:
        if exc.code != "ORDERPAID":
            raise Unsure(exc) from None
        tx = wechat.pay().query(out_trade_no=order.order_no)  # paid between query and close
        if not tx:
            raise Unsure(exc) from None
        return _found_paid(tx)
    except WeChatPayUnavailable as exc:
        raise Unsure(exc) from None
    return CLOSED  # recorded by the caller once it holds the order (record_closed)


def record_closed(order: Order) -> None:
    """The payment of an order WeChat Pay closed is closed here too. Called holding the
    order's lock: the order, then its payment, as applying a payment takes them."""
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    if payment.status != "closed":
        PAYMENTS.move(payment, "close", note="closed_before_cancel")


def _found_paid(tx: dict) -> str:
    outcome = apply_transaction(tx, source="query")
    return PAID if outcome in ("applied", "duplicate") else HELD


def query_pending(batch: int = 100) -> dict:
    """The periodic job for lost notifications: unpaid orders whose prepay is a few
    minutes old are asked about; a paid answer is applied exactly as a notify would be."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PAYMENT_QUERY_AFTER_S"])
    rows = db.session.execute(
        select(Payment.id, Order.order_no).join(Order, Order.id == Payment.order_id)
        .where(Payment.status == "created", Payment.prepaid_at <= cutoff,
               Order.status == Status.pending_payment.value)
        .order_by(Payment.id).limit(batch)).all()
    outcome = {"asked": 0, "applied": 0}

    def ask(order_no: str) -> bool:
        tx = wechat.pay().query(out_trade_no=order_no)
        outcome["asked"] += 1
        return bool(tx) and apply_transaction(tx, source="query") == "applied"

    outcome["applied"] = each_in_own_transaction([order_no for _, order_no in rows], ask, what="payment query")
    return outcome
