"""A complaint to its order: WeChat names the payment (out_trade_no, transaction_id); our
payment names the order, and the order its store (which scopes who may see it)."""
from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from models.orders.tables import Order
from models.payments.tables import Payment


def find_order(out_trade_no: str | None, transaction_id: str | None) -> tuple[int, int] | None:
    """(order id, store id) of the payment WeChat names, or None."""
    terms = [c == v for c, v in ((Payment.out_trade_no, out_trade_no),
                                 (Payment.transaction_id, transaction_id)) if v]
    if not terms:
        return None
    row = db.session.execute(select(Order.id, Order.store_id).join(Payment, Payment.order_id == Order.id)
                             .where(or_(*terms)).limit(1)).first()
    if row is None and out_trade_no:  # paid without a payment row of ours: the order number
        row = db.session.execute(select(Order.id, Order.store_id)
                                 .where(Order.order_no == out_trade_no)).first()
    return (row[0], row[1]) if row else None
