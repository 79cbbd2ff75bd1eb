"""Refunds: requested by staff (or automatically for a late payment), submitted to WeChat
Pay with the same out_refund_no on every retry, settled by the refund notify or a query.
Never more than was paid minus what is already refunded or under way.

However the refunds of an order add up: the one that leaves nothing to refund moves the
order to `refunding` and carries the release of the stock the order still holds (released
once, when it succeeds); the order is `refunded` once no refund of it is under way and
nothing is left."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app import wechat
from app.db import each_in_own_transaction
from app.errors import AppError, Conflict, NotFound
from app.extensions import db
from app.tasks import defer
from models import outbox
from models.aftersales import money as aftersale_money
from models.stock import holds
from models.stock.tables import StockMovement
from models.base import utcnow
from models.growth import checkout
from models.orders import lifecycle
from models.orders.status import SYSTEM, Actor, Status, transition
from models.orders.tables import Order
from models.payments.status import REFUND_MOVES, REFUNDS
from models.payments.tables import Payment, Refund
from wechat.pay.errors import WeChatPayError, WeChatPayUnavailable

log = logging.getLogger(__name__)
LIVE = ("pending", "processing", "success", "abnormal")  # everything but closed counts
SUBMIT_TASK = "tihuo.pay.submit_refund"  # app/jobs.py: runs `submit`
# WeChat Pay takes at most 50 partial refunds of one payment (then FREQUENCY_LIMITED /
# refused): refused here first, with a clear answer, instead of at submission.
MAX_REFUNDS_PER_PAYMENT = 50


class RefundTooLarge(AppError):
    status, code, message = 409, "refund_exceeds_paid", "That is more than can still be refunded."


class TooManyRefunds(AppError):
    status, code, message = (409, "refund_limit_reached",
                             "This payment has had as many refunds as WeChat Pay allows.")


class RefundKeyReused(AppError):
    status, code, message = (422, "idempotency_key_reused",
                             "This Idempotency-Key was used with a different refund.")


def refundable_fen(payment: Payment) -> int:
    taken = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.payment_id == payment.id, Refund.status.in_(LIVE)))
    return (payment.paid_fen or 0) - int(taken)


def _paid_payment(order_id: int):
    """The order's payment that refunds are taken from: only a paid one."""
    return select(Payment).where(Payment.order_id == order_id, Payment.status == "paid")


def order_refundable_fen(order_id: int) -> int:
    """What a staff refund of the order may still take (`request_refund` refuses more):
    its paid payment less what is refunded or under way; 0 without a paid payment. A
    plain read, for showing: the refund itself decides again under the row locks."""
    payment = db.session.scalars(_paid_payment(order_id)).first()
    return refundable_fen(payment) if payment is not None else 0


def request_refund(staff, order_no: str, *, amount_fen: int, reason: str | None,
                   idempotency_key: str, fingerprint: str) -> tuple[Refund, bool]:
    order = db.session.scalars(select(Order).where(Order.order_no == order_no).with_for_update()).first()
    if order is None:
        raise NotFound("No such order.", details={"order_no": order_no})
    staff.require_store(order.store_id)
    earlier = db.session.scalars(select(Refund).where(
        Refund.order_id == order.id, Refund.idempotency_key == idempotency_key)).first()
    if earlier is not None:
        if earlier.request_hash != fingerprint:
            raise RefundKeyReused()
        return earlier, False
    payment = db.session.scalars(_paid_payment(order.id).with_for_update()).first()
    if payment is None:
        raise Conflict("This order has no payment to refund.", details={"status": order.status})
    left = refundable_fen(payment)
    if amount_fen > left:
        raise RefundTooLarge(details={"refundable_fen": left})
    _check_count(payment)
    last = amount_fen == left  # after this one nothing is left: the order is being refunded
    count = db.session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == order.id))
    refund = Refund(order_id=order.id, payment_id=payment.id, out_refund_no=f"{order.order_no}R{count + 1}",
                    amount_fen=amount_fen, reason=reason, requested_by=staff.id,
                    idempotency_key=idempotency_key, request_hash=fingerprint,
                    release_stock=last and held_units(order.id) > 0)
    db.session.add(refund)
    if last:  # (already refunding after a failed refund: a repeat, ignored)
        transition(order, "start_refund", Actor.of(staff), reason=reason or "refund")
    db.session.flush()
    submit_soon(refund.id)
    return refund, True


def held_units(order_id: int) -> int:
    """Units the order still holds in stock, from its own ledger rows (reserved by placing,
    given back by a release, handed over by a deduction): the truth whatever its status."""
    return int(db.session.scalar(select(func.coalesce(func.sum(StockMovement.delta_reserved), 0))
                                 .where(StockMovement.order_id == order_id)))


def refund_automatically(order: Order, amount_fen: int, reason: str, *,
                         payment: Payment | None = None) -> Refund | None:
    """A refund nobody asked for (a pickup that expired): the same path as a staff refund
    — a pending row submitted after commit, retried by `flask pay refunds`, settled by the
    refund notify or a query (an order in pickup_expired then moves `finish_refund`).
    Never more than is left to refund; no stock to release (the caller did). The caller
    holds the order's row lock (and `payment`'s, when it passes one: money held, not paid).
    None when there is no payment or nothing left."""
    payment = payment or db.session.scalars(_paid_payment(order.id).with_for_update()).first()
    if payment is None:
        return None
    amount_fen = min(amount_fen, refundable_fen(payment))
    if amount_fen <= 0:
        return None
    count = db.session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == order.id))
    refund = Refund(order_id=order.id, payment_id=payment.id, out_refund_no=f"{order.order_no}R{count + 1}",
                    amount_fen=amount_fen, reason=reason[:80], automatic=True, release_stock=False)
    db.session.add(refund)
    db.session.flush()
    submit_soon(refund.id)
    return refund


def _check_count(payment: Payment) -> None:
    count = db.session.scalar(select(func.count()).select_from(Refund).where(Refund.payment_id == payment.id))
    if count >= MAX_REFUNDS_PER_PAYMENT:
        raise TooManyRefunds(details={"limit": MAX_REFUNDS_PER_PAYMENT})


def refund_part(order: Order, amount_fen: int, *, out_refund_no: str, reason: str,
                requested_by: int | None = None) -> Refund:
    """A refund of part of a paid order under a number the caller chose (an after-sale's
    number): the same path as a staff refund — a pending row submitted after commit,
    retried by `flask pay refunds`, settled by the notify or a query — but it moves no
    order status and releases no stock (the goods were handed over; what comes back is
    restocked by the caller). The caller holds the order's row lock. Never more than paid
    minus refunded or under way (RefundTooLarge), never past WeChat's 50 refunds
    (TooManyRefunds)."""
    payment = db.session.scalars(_paid_payment(order.id).with_for_update()).first()
    if payment is None:
        raise Conflict("This order has no payment to refund.", details={"status": order.status})
    left = refundable_fen(payment)
    if amount_fen > left:
        raise RefundTooLarge(details={"refundable_fen": left})
    _check_count(payment)
    refund = Refund(order_id=order.id, payment_id=payment.id, out_refund_no=out_refund_no,
                    amount_fen=amount_fen, reason=reason[:80], requested_by=requested_by,
                    automatic=requested_by is None, release_stock=False)
    db.session.add(refund)
    db.session.flush()
    submit_soon(refund.id)
    return refund


def submit_soon(refund_id: int) -> None:
    """Submit the refund once this transaction has committed (the task SUBMIT_TASK)."""
    defer(SUBMIT_TASK, refund_id)


def submit(refund_id: int) -> None:
    """Send a pending refund to WeChat Pay (idempotent there by out_refund_no)."""
    refund = db.session.scalars(select(Refund).where(Refund.id == refund_id).with_for_update()).first()
    if refund is None or refund.status != "pending":
        return
    payment = db.session.get(Payment, refund.payment_id)
    if _too_soon(refund):
        refund.last_error = "spaced: another refund of this payment was sent moments ago"
        return  # stays pending; the periodic job sends it once the spacing has passed
    notify = f"{current_app.config['WECHATPAY_NOTIFY_BASE']}/wechat/pay/refund-notify"
    try:
        answer = wechat.pay().refund(out_refund_no=refund.out_refund_no, amount_fen=refund.amount_fen,
                                     total_fen=payment.paid_fen, transaction_id=payment.transaction_id,
                                     reason=refund.reason, notify_url=notify)
    except WeChatPayUnavailable as exc:  # network, timeouts, 5xx after retries
        refund.last_error = f"unavailable: {exc.reason}"[:255]
        return  # stays pending; the periodic job retries with the same out_refund_no
    except WeChatPayError as exc:  # refused outright (4xx): nothing was refunded
        REFUNDS.move(refund, "close", note=exc.code, last_error=f"{exc.code}: {exc.message}"[:255])
        aftersale_money.refund_settled(refund)
        return
    settle(refund, answer)


def _too_soon(refund: Refund) -> bool:
    """Another refund of the same payment went to WeChat Pay within REFUND_SPACING_S (its
    creation is when it was sent: a refund is submitted right after its commit)."""
    spacing = current_app.config["REFUND_SPACING_S"]
    if not spacing:
        return False
    since = utcnow() - timedelta(seconds=spacing)
    return db.session.scalar(select(func.count()).select_from(Refund).where(
        Refund.payment_id == refund.payment_id, Refund.id != refund.id,
        Refund.status.in_(("processing", "success", "abnormal")), Refund.created_at >= since)) > 0


def settle(refund: Refund, answer: dict) -> None:
    """Apply WeChat's word on a refund (response, notify or query); success applies once.
    A finished refund (success, closed) stays as it is, whatever WeChat says later."""
    status = (answer.get("status") or answer.get("refund_status") or "").lower()
    action = REFUND_MOVES.get(status)
    if action is None or not REFUNDS.allows(refund.status, action):  # unknown, a repeat, or final
        if action is not None and refund.refund_id is None and answer.get("refund_id"):
            refund.refund_id = answer["refund_id"]
        return
    REFUNDS.move(refund, action, note=f"wechat_pay:{status}",
                 refund_id=answer.get("refund_id") or refund.refund_id)
    # An after-sale's refund (its number is the out_refund_no) moves the after-sale too.
    aftersale_money.refund_settled(refund)
    if status != "success":
        return
    order = db.session.scalars(select(Order).where(Order.id == refund.order_id).with_for_update()).one()
    if refund.release_stock:
        holds.release(order.store_id, order.stock_lines(), order_id=order.id, reason="refund")
    if _all_refunded(order, refund):
        if transition(order, "finish_refund", SYSTEM, reason="refund_succeeded").applied:
            checkout.on_refunded_in_full(order)  # coupon back while valid, points back, earnings clawed
    elif order.status == Status.pending_payment.value and _held_money_back(refund):
        # Money of another amount than the order's is back: the order can end (its out_trade_no
        # is spent at WeChat Pay, so it could never be paid again).
        lifecycle.cancel_unpaid(order, SYSTEM, reason="payment_refunded", cancel_reason="payment_refunded",
                                ledger_reason="payment_refunded", tell_shopper=True)
    outbox.enqueue("subscribe_message", {"event": "refund_succeeded", "order_id": order.id,
                                         "refund_id": refund.id}, dedupe_key=f"refund_succeeded:{refund.id}")


def _held_money_back(settled: Refund) -> bool:
    payment = db.session.get(Payment, settled.payment_id)
    return payment.status == "held" and refundable_fen(payment) == 0


def _all_refunded(order: Order, settled: Refund) -> bool:
    """Whether the order's refunding is over now that `settled` succeeded: none of its
    refunds still under way, and — unless its pickup expired (only the part not collected
    is refunded) — nothing left of the payment to refund."""
    if order.status not in (Status.refunding.value, Status.pickup_expired.value):
        return False
    under_way = db.session.scalar(select(func.count()).select_from(Refund).where(
        Refund.order_id == order.id, Refund.id != settled.id,
        Refund.status.in_(("pending", "processing", "abnormal"))))
    if under_way:
        return False
    return order.status == Status.pickup_expired.value or refundable_fen(db.session.get(Payment, settled.payment_id)) == 0


def query_unsettled(older_than_s: int = 60, batch: int = 100) -> int:
    """The periodic job: resubmit pending refunds, ask about processing ones."""
    cutoff = utcnow().timestamp() - older_than_s
    ids = db.session.scalars(select(Refund.id).where(Refund.status.in_(["pending", "processing"]))
                             .order_by(Refund.id).limit(batch)).all()
    return each_in_own_transaction(ids, lambda refund_id: _look_again(refund_id, cutoff), what="refund query")


def _look_again(refund_id: int, cutoff: float) -> bool:
    refund = db.session.get(Refund, refund_id)
    if refund.created_at.timestamp() > cutoff:
        return False
    if refund.status == "pending":
        submit(refund_id)
    else:
        answer = wechat.pay().query_refund(refund.out_refund_no)
        if answer:
            settle(refund, answer)
    return True
