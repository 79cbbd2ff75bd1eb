"""Reading orders: the owner's view, staff views, keyset-paginated lists (staff searching
and filtering: models/orders/search.py)."""
from __future__ import annotations

import json

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from app.crypto import cipher
from app.errors import NotFound
from app.extensions import db
from models.base import keyset_page, utcnow
from models.orders.deadlines import expire_if_overdue
from models.orders.placement import address_aad
from models.orders.status import Status
from models.orders.tables import Order


def owned_order(user_id: int, order_no: str) -> Order:
    """The shopper's own order. Someone else's is answered exactly like a missing one."""
    order = db.session.scalars(
        select(Order).where(Order.order_no == order_no, Order.user_id == user_id)).first()
    if order is None:
        raise NotFound("No such order.", details={"order_no": order_no})
    expire_if_overdue(order)
    return order


def staff_order(staff, order_no: str) -> Order:
    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).first()
    if order is None:
        raise NotFound("No such order.", details={"order_no": order_no})
    staff.require_store(order.store_id)
    expire_if_overdue(order)
    return order


def list_orders(*, user_id: int | None = None, store_ids: list[int] | None = None,
                status: str | None = None, cursor: int | None = None, limit: int = 20) -> list[Order]:
    """Newest first, keyset on id: the cost is the same on page 1 and page 1000."""
    if user_id is not None:
        _expire_overdue_of(user_id)
    query = select(Order).options(selectinload(Order.items))
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    if store_ids is not None:
        query = query.where(Order.store_id.in_(store_ids))
    if status:
        query = query.where(Order.status == status)
    return keyset_page(query, Order.id, cursor=cursor, limit=limit, newest_first=True)


def _expire_overdue_of(user_id: int) -> None:
    now = utcnow()
    overdue = db.session.scalars(select(Order).where(Order.user_id == user_id, or_(
        and_(Order.status == Status.pending_payment.value, Order.pay_deadline <= now),
        and_(Order.status == Status.ready_for_pickup.value, Order.pickup_deadline <= now)))).all()
    for order in overdue:
        expire_if_overdue(order)


def delivery_address(order: Order) -> dict | None:
    if not order.address_enc:
        return None
    return json.loads(cipher().decrypt(order.address_enc, aad=address_aad(order.order_no)))
