"""Applying a WeChat Pay transaction to its order — from a verified notify, an active
query or the trade bill alike. Applied once (the transaction id is unique), checked
against the order (merchant, app, amount, currency), and never used to revive a
cancelled order: a payment that arrives for one is refunded in full, automatically.

Every fen received ends applied or refunded: money of another amount than the order's is
recorded on its payment (`held`), never applied, and refunded in full at once; the order
waits (no sweep cancels it) and ends cancelled when the money is back. A transaction that
does not match opens one case however often it is seen (notify, query, bill).
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only

from app.extensions import db
from app.sqlbatch import Batch, fetch_all
from models import outbox
from models.base import UTCDateTime, mirror, utcnow
from models.orders import lifecycle
from models.orders.status import SYSTEM, Status, transition, transition_locked
from models.orders.tables import Order
from models.payments import refunds
from models.payments.status import PAYMENTS
from models.payments.tables import Payment, PaymentCase, Refund
from models.growth import coupons, streaks
from models.state_machine import Row
from models.stores import Store

log = logging.getLogger(__name__)


def apply_transaction(tx: dict, *, source: str) -> str:
    """Returns what happened: applied | duplicate | not_paid | mismatch | held |
    refunded_late | unknown_order. Only "applied" changes the order."""
    if tx.get("trade_state") != "SUCCESS" or not tx.get("transaction_id"):  # nothing to apply once
        return "not_paid"
    # One locking read takes the order's and its payment's rows. The usual case — an
    # unpaid order, paid as asked — is then written in one round trip;
    # anything else goes through the ORM (_apply_otherwise).
    facts = next(iter(fetch_all(_LOCK_FACTS, {"order_no": tx.get("out_trade_no"), "now": utcnow()})), None)
    if facts is not None and facts.transaction_id == tx["transaction_id"]:
        return "duplicate"
    if facts is None or facts.status != Status.pending_payment.value or _mismatch(tx, facts, facts):
        return _apply_otherwise(tx, source, facts)
    writes, paid, reason = Batch(), _paid_values(tx, source), f"wechat_pay:{source}"
    moved = transition_locked(facts, "pay", SYSTEM, writes, reason=reason, at=paid["paid_at"],
                              priority=bool(facts.priority))
    _paid_messages(facts, writes)
    if facts.payment_id is None:  # paid without our prepay record (e.g. found in the bill)
        paid["status"] = PAYMENTS.initial_status("paid")
        writes.add(_INSERT_PAYMENT, {"order_id": facts.id, "out_trade_no": facts.order_no,
                                     "amount_fen": facts.payable_fen, **paid})
    else:
        paid = PAYMENTS.move_locked(Row(facts.payment_id, facts.payment_status), "pay", writes, note=reason,
                                    at=paid["paid_at"], guard=_NO_TRANSACTION_YET, **paid)
    writes.run()
    _mirror(Payment, facts.payment_id, paid)  # objects a caller holds see what was written
    _mirror(Order, facts.id, moved)
    if facts.fulfillment == "pickup" and facts.auto_ready:
        lifecycle.on_paid(db.session.get(Order, facts.id))  # ready at once at such a store (its coupon used)
    elif facts.coupon_id:
        coupons.on_order_paid(facts.id)  # the coupon the order holds is used
    return "applied"


def _apply_otherwise(tx: dict, source: str, facts) -> str:
    if facts is None:
        open_case("unknown_order", None, tx, "a payment for an order we don't know")
        return "unknown_order"
    order = db.session.scalars(_LOCK_ORDER, {"order_no": facts.order_no}).one()
    payment = db.session.scalars(_LOCK_PAYMENT, {"order_id": order.id}).first()
    if payment is None:  # paid without our prepay record (e.g. found in the bill)
        payment = Payment(order_id=order.id, out_trade_no=order.order_no, amount_fen=order.payable_fen)
        db.session.add(payment)
    problem = _mismatch(tx, order, payment)
    if problem == "amount_mismatch" and not payment.transaction_id:  # ours, but not this order's sum
        paid = _paid_values(tx, source)
        PAYMENTS.move(payment, "hold", note=f"wechat_pay:{source}", at=paid["paid_at"], **paid)
        open_case(problem, order, tx, "paid another amount than the order's; not applied, refunded in full")
        refunds.refund_automatically(order, payment.paid_fen, "支付金额与订单不符，自动退款", payment=payment)
        return "held"
    if problem:
        open_case(problem, order, tx, "the payment does not match the order; it was not applied")
        return "mismatch"
    paid = _paid_values(tx, source)
    PAYMENTS.move(payment, "pay", note=f"wechat_pay:{source}", at=paid["paid_at"], **paid)
    if order.status == Status.pending_payment.value:
        transition(order, "pay", SYSTEM, reason=f"wechat_pay:{source}", at=payment.paid_at,
                   priority=streaks.has_priority(order.user_id))
        _paid_messages(order)
        lifecycle.on_paid(order)  # e.g. ready at once at an auto_ready store
        return "applied"
    # The order was cancelled (or timed out) before the money arrived: keep it cancelled
    # and give the money back in full.
    open_case("paid_after_cancel", order, tx, "paid after the order was cancelled; refunded in full")
    refund_late_payment(order, payment)
    return "refunded_late"


def _paid_values(tx: dict, source: str) -> dict:
    return {"transaction_id": tx["transaction_id"], "paid_fen": tx["amount"]["total"],
            "paid_at": _parse_time(tx.get("success_time")), "confirmed_by": source,
            "bank_type": tx.get("bank_type")}


def _paid_messages(order, writes: Batch | None = None) -> None:
    outbox.enqueue_many([
        ("subscribe_message", {"event": "order_paid", "order_id": order.id}, f"order_paid:{order.id}"),
        ("staff_alert", {"event": "new_paid_order", "order_id": order.id, "store_id": order.store_id},
         f"new_paid_order:{order.id}")], writes=writes)


def _mirror(model, ident: int | None, values: dict) -> None:
    """Written with Core: an object of that row this session already holds is told so."""
    obj = db.session.identity_map.get(db.session.identity_key(model, ident)) if ident is not None else None
    if obj is not None:
        mirror(obj, values)


ORDERS, PAYMENTS_T, STORES = Order.__table__, Payment.__table__, Store.__table__
# Both rows locked by one read (the store's auto_ready comes from a subquery: not locked).
_LOCK_FACTS = (
    select(ORDERS.c.id, ORDERS.c.order_no, ORDERS.c.store_id, ORDERS.c.fulfillment, ORDERS.c.status,
           ORDERS.c.payable_fen, ORDERS.c.coupon_id, PAYMENTS_T.c.id.label("payment_id"), PAYMENTS_T.c.status.label("payment_status"),
           PAYMENTS_T.c.transaction_id,
           select(STORES.c.auto_ready).where(STORES.c.id == ORDERS.c.store_id).scalar_subquery()
           .label("auto_ready"),
           # Priority pickup (a level's or a streak's), fixed on the order as it is paid.
           streaks.priority_expr(ORDERS.c.user_id, bindparam("now", type_=UTCDateTime)).label("priority"))
    .outerjoin(PAYMENTS_T, PAYMENTS_T.c.order_id == ORDERS.c.id)
    .where(ORDERS.c.order_no == bindparam("order_no")).with_for_update())
_INSERT_PAYMENT = PAYMENTS_T.insert()
# The payment's move is guarded by its transaction id too: one WeChat transaction, once.
_NO_TRANSACTION_YET = PAYMENTS_T.c.transaction_id.is_(None)
# What the other cases read of the order, as objects (a third of its columns); anything
# else is loaded on first use. Built once: a statement object keeps its cache key.
_ORDER_FACTS = load_only(Order.id, Order.order_no, Order.user_id, Order.store_id, Order.fulfillment,
                         Order.status, Order.payable_fen)
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
    refund = Refund(order_id=order.id, payment_id=payment.id, out_refund_no=f"{order.order_no}R0",
                    amount_fen=payment.paid_fen, reason="订单已取消，自动退款", automatic=True,
                    release_stock=False)
    db.session.add(refund)
    db.session.flush()
    refunds.submit_soon(refund.id)  # sent to WeChat Pay once this transaction committed
    return refund


def open_case(kind: str, order: Order | None, tx: dict, note: str) -> PaymentCase:
    """A case for a person to look at, and its staff alert: once per (kind, transaction),
    however often the transaction is seen (the unique key decides between two at once)."""
    txid = tx.get("transaction_id")
    if txid and (same := _case_of(kind, txid)) is not None:
        return same
    case = PaymentCase(kind=kind, order_id=order.id if order else None, transaction_id=txid,
                       details={"note": note, "out_trade_no": tx.get("out_trade_no"),
                                "mchid": tx.get("mchid"), "appid": tx.get("appid"),
                                "amount": tx.get("amount"), "trade_state": tx.get("trade_state")})
    try:
        with db.session.begin_nested():
            db.session.add(case)
            db.session.flush()
    except IntegrityError:  # opened meanwhile by another sighting of the same transaction
        return _case_of(kind, txid)
    outbox.enqueue("staff_alert", {"event": "payment_case", "case_id": case.id, "kind": kind},
                   dedupe_key=f"payment_case:{case.id}")
    log.warning("payment case %s: %s (order %s)", kind, note, order.order_no if order else "-")
    return case


def _case_of(kind: str, transaction_id: str) -> PaymentCase | None:
    return db.session.scalars(select(PaymentCase).where(
        PaymentCase.kind == kind, PaymentCase.transaction_id == transaction_id)).first()


def _parse_time(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else utcnow()
