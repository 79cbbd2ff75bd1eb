"""Applying a WeChat Pay transaction to its order — from a verified notify, an active
query or the trade bill alike. Applied once (the transaction id is unique), checked
against the order (merchant, app, amount, currency), and never used to revive a
cancelled order: a payment that arrives for one is refunded in full, automatically.
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import load_only

from app.extensions import db
from models import outbox
from models.base import utcnow
from models.orders import lifecycle
from models.orders.status import SYSTEM, Status, transition
from models.orders.tables import Order
from models.payments.tables import Payment, PaymentCase, Refund

log = logging.getLogger(__name__)


def apply_transaction(tx: dict, *, source: str) -> str:
    """Returns what happened: applied | duplicate | not_paid | mismatch | refunded_late |
    unknown_order. Only "applied" changes the order."""
    if tx.get("trade_state") != "SUCCESS":
        return "not_paid"
    order = db.session.scalars(_LOCK_ORDER, {"order_no": tx.get("out_trade_no")}).first()
    if order is None:
        open_case("unknown_order", None, tx, "a payment for an order we don't know")
        return "unknown_order"
    payment = db.session.scalars(_LOCK_PAYMENT, {"order_id": order.id}).first()
    if payment is None:  # paid without our prepay record (e.g. found in the bill)
        payment = Payment(order_id=order.id, out_trade_no=order.order_no, amount_fen=order.payable_fen)
        db.session.add(payment)
    if payment.transaction_id == tx["transaction_id"]:
        return "duplicate"
    problem = _mismatch(tx, order, payment)
    if problem:
        open_case(problem, order, tx, "the payment does not match the order; it was not applied")
        return "mismatch"

    success_at = _parse_time(tx.get("success_time"))
    payment.transaction_id, payment.paid_fen = tx["transaction_id"], tx["amount"]["total"]
    payment.paid_at, payment.status, payment.confirmed_by = success_at, "paid", source
    payment.bank_type = tx.get("bank_type")
    if order.status == Status.pending_payment.value:
        transition(order, "pay", SYSTEM, reason=f"wechat_pay:{source}", at=success_at)
        outbox.enqueue_many([
            ("subscribe_message", {"event": "order_paid", "order_id": order.id}, f"order_paid:{order.id}"),
            ("staff_alert", {"event": "new_paid_order", "order_id": order.id, "store_id": order.store_id},
             f"new_paid_order:{order.id}")])
        lifecycle.on_paid(order)  # e.g. ready at once at an auto_ready store
        return "applied"
    # The order was cancelled (or timed out) before the money arrived: keep it cancelled
    # and give the money back in full.
    open_case("paid_after_cancel", order, tx, "paid after the order was cancelled; refunded in full")
    refund_late_payment(order, payment)
    return "refunded_late"


# What applying a payment reads of the order (on the notify hot path, a third of the
# columns); anything else is loaded on first use.
_ORDER_FACTS = load_only(Order.id, Order.order_no, Order.user_id, Order.store_id, Order.fulfillment,
                         Order.status, Order.payable_fen)
# Built once: a statement object keeps its cache key, so SQLAlchemy finds the compiled
# form without rebuilding and re-hashing the query on every notification.
_LOCK_ORDER = (select(Order).options(_ORDER_FACTS).where(Order.order_no == bindparam("order_no"))
               .with_for_update())
_LOCK_PAYMENT = select(Payment).where(Payment.order_id == bindparam("order_id")).with_for_update()


def _mismatch(tx: dict, order: Order, payment: Payment) -> str | None:
    cfg = current_app.config
    if tx.get("mchid") != cfg["WECHATPAY_MCHID"]:
        return "mchid_mismatch"
    if tx.get("appid") != cfg["WECHAT_APPID"]:
        return "appid_mismatch"
    amount = tx.get("amount") or {}
    if amount.get("total") != order.payable_fen or amount.get("currency", "CNY") != "CNY":
        return "amount_mismatch"
    if payment.transaction_id:  # a second, different transaction for one out_trade_no
        return "second_transaction"
    return None


def refund_late_payment(order: Order, payment: Payment) -> Refund:
    from models.payments import refunds

    refund = Refund(order_id=order.id, payment_id=payment.id, out_refund_no=f"{order.order_no}R0",
                    amount_fen=payment.paid_fen, reason="订单已取消，自动退款", automatic=True,
                    release_stock=False)
    db.session.add(refund)
    db.session.flush()
    refunds.submit_soon(refund.id)  # sent to WeChat Pay once this transaction committed
    return refund


def open_case(kind: str, order: Order | None, tx: dict, note: str) -> PaymentCase:
    case = PaymentCase(kind=kind, order_id=order.id if order else None,
                       transaction_id=tx.get("transaction_id"),
                       details={"note": note, "out_trade_no": tx.get("out_trade_no"),
                                "mchid": tx.get("mchid"), "appid": tx.get("appid"),
                                "amount": tx.get("amount"), "trade_state": tx.get("trade_state")})
    db.session.add(case)
    db.session.flush()
    outbox.enqueue("staff_alert", {"event": "payment_case", "case_id": case.id, "kind": kind},
                   dedupe_key=f"payment_case:{case.id}")
    log.warning("payment case %s: %s (order %s)", kind, note, order.order_no if order else "-")
    return case


def _parse_time(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else utcnow()
