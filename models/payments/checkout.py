"""Paying for an order: a JSAPI prepay at WeChat Pay (reused while it is valid) turned into
the five parameters of wx.requestPayment. The mini-program's word that it paid counts
for nothing: only a verified notify or an active query confirms a payment.

A new prepay is made holding nothing of the order's; then the order is locked and looked
at again before the prepay is stored and handed out: a cancel that got there first wins,
and what was just made is closed instead (models/orders/unpaid.py has the other side)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import wechat
from app.extensions import db
from app.tasks import defer
from models.base import utcnow
from models.orders.queries import owned_order
from models.orders.status import InvalidTransition, Status
from models.orders.tables import Order
from models.payments.apply import apply_transaction
from models.payments.tables import Payment
from models.payments.upstream import PaymentUnderReview
from models.users import User
from wechat.pay.errors import WeChatPayError, WeChatPayUnavailable

# WeChat keeps a prepay_id for 2 hours; stop reusing it a little before that.
PREPAY_REUSE = timedelta(hours=2) - timedelta(minutes=5)


CLOSE_TASK = "tihuo.pay.close"  # app/jobs.py: runs `close_unpayable`


class CancelledMeanwhile(InvalidTransition):
    message = "The order was cancelled meanwhile; it can no longer be paid."
    keep_changes = True  # so that closing what was just made at WeChat Pay runs after the commit


def start_payment(user_id: int, order_no: str) -> dict:
    order = owned_order(user_id, order_no)  # a foreign order is not found; an overdue one expires here
    if order.status != Status.pending_payment.value:
        raise InvalidTransition("Only an unpaid order can be paid.", details={"status": order.status})
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).first()
    if payment is not None and payment.status == "held":
        raise PaymentUnderReview(details={"order_no": order.order_no})
    if payment is not None and payment.prepay_id and payment.prepaid_at >= utcnow() - PREPAY_REUSE:
        return wechat.pay().pay_params(payment.prepay_id)  # a cancel closes this one before it cancels
    prepay_id = _prepay(order)  # WeChat first, holding nothing of the order's
    order = db.session.scalars(select(Order).where(Order.id == order.id).with_for_update()
                               .execution_options(populate_existing=True)).one()
    if order.status != Status.pending_payment.value:  # cancelled while WeChat made the prepay
        defer(CLOSE_TASK, order.order_no)
        raise CancelledMeanwhile(details={"status": order.status})
    payment = _payment_for(order)  # under the order's lock: a cancel sees it once it holds the lock
    payment.prepay_id, payment.prepaid_at = prepay_id, utcnow()
    return wechat.pay().pay_params(prepay_id)


def close_unpayable(order_no: str) -> None:
    """Close at WeChat Pay a prepay made for an order that was cancelled meanwhile (it was
    never handed out). A payment found there instead is applied like any other."""
    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).first()
    if order is None or order.status == Status.pending_payment.value:
        return
    try:
        wechat.pay().close(order_no)
    except WeChatPayError as exc:
        if exc.code != "ORDERPAID":
            raise
        tx = wechat.pay().query(out_trade_no=order_no)
        if tx:
            apply_transaction(tx, source="query")


class AlreadyPaid(InvalidTransition):
    message = "This order is already paid."
    keep_changes = True  # the payment WeChat Pay reported is applied


def _prepay(order: Order) -> str:
    try:
        return wechat.pay().prepay_jsapi(**_prepay_args(order))
    except WeChatPayError as exc:
        if exc.code == "ORDERPAID":  # paid, but the notify hasn't reached us yet
            tx = wechat.call_pay("query", wechat.pay().query, out_trade_no=order.order_no)
            if tx:
                apply_transaction(tx, source="query")
            raise AlreadyPaid(details={"status": Status.paid.value}) from None
        if exc.code == "ORDER_CLOSED":
            raise InvalidTransition("This order was closed at WeChat Pay.",
                                    details={"status": order.status}) from None
        raise wechat.pay_failure("prepay", exc) from None
    except WeChatPayUnavailable as exc:
        raise wechat.pay_failure("prepay", exc) from None


def _payment_for(order: Order) -> Payment:
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).first()
    if payment is not None:
        return payment
    payment = Payment(order_id=order.id, out_trade_no=order.order_no, amount_fen=order.payable_fen)
    try:
        with db.session.begin_nested():  # a double tap on "pay": one row wins
            db.session.add(payment)
            db.session.flush()
        return payment
    except IntegrityError:
        return db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()


def _prepay_args(order: Order) -> dict:
    names = "、".join(item.name for item in order.items)
    openid = db.session.scalar(select(User.openid).where(User.id == order.user_id))
    return {
        "description": (names if len(names) <= 120 else names[:119] + "…"),
        "out_trade_no": order.order_no, "amount_fen": order.payable_fen, "payer_openid": openid,
        "notify_url": f"{current_app.config['WECHATPAY_NOTIFY_BASE']}/wechat/pay/notify",
        # WeChat stops taking money at our deadline (it rounds up to at least a minute;
        # the sweep asks before cancelling, so a payment in that minute is still kept).
        "time_expire": order.pay_deadline, "attach": f"order:{order.id}",
    }
