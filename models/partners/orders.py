"""A partner's view of orders: what changed since a cursor, one order, and the warehouse's
steps (mark ready through the orders' own lifecycle; acknowledge). Orders of stores outside
the client's grant do not exist for it (404, never 403).

Why the change feed walks `order_events`, not `orders(updated_at, id)`: orders has no
update time, and every status change already appends an order_events row (the one
transition table writes it), whose id grows with each change. A keyset on that id is the
"update time and id" keyset without adding a column and an index to the largest, hottest
table (every placement and payment would maintain it). A page reads at most SCAN events
by the primary key, then their orders by primary key: its cost does not grow with the
history or with how many of the events belong to other stores (a page of few orders then
comes back with a cursor past what it scanned).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.errors import NotFound
from app.extensions import db
from models.base import utcnow
from models.orders import lifecycle
from models.orders.deadlines import expire_if_overdue
from models.orders.status import Actor, Outcome
from models.orders.tables import Order, OrderEvent
from models.partners.refs import refs_of
from models.partners.tables import PartnerOrderAck

SCAN = 1000
# An event id is taken at insert, its row seen at commit: a transaction that inserted
# event 100 and commits after another committed 101 would be skipped by a cursor already
# at 101. Events younger than this are left for the next page, which covers any
# transaction of ours (each is bounded well under it): PARTNER_FEED_SETTLE_S.


def settled_before() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["PARTNER_FEED_SETTLE_S"])


def changed(principal, *, cursor: int | None, since: datetime | None, limit: int) -> tuple[list, int | None]:
    """Orders of the client's stores changed after `cursor` (an event id), or from `since`
    when there is no cursor: (orders, next cursor). The next cursor is where to go on
    from (None: nothing further yet, ask again later with the same cursor)."""
    if cursor is None:
        cursor = 0
        if since is not None:
            first = db.session.scalar(select(OrderEvent.id).where(OrderEvent.at >= since)
                                      .order_by(OrderEvent.at, OrderEvent.id).limit(1))
            cursor = first - 1 if first is not None else _last_event_id()
    settled = settled_before()
    events = db.session.execute(select(OrderEvent.id, OrderEvent.order_id, OrderEvent.at)
                                .where(OrderEvent.id > cursor).order_by(OrderEvent.id).limit(SCAN)).all()
    stores = {o.id: o.store_id for o in db.session.execute(
        select(Order.id, Order.store_id).where(Order.id.in_({e.order_id for e in events})))} if events else {}
    picked, last = [], cursor
    for e in events:
        if e.at > settled:
            break
        if principal.sees(stores.get(e.order_id)) and e.order_id not in picked:
            if len(picked) == limit:
                break
            picked.append(e.order_id)
        last = e.id
    if not picked:
        return [], (last if last != cursor else None)
    rows = {o.id: o for o in db.session.scalars(select(Order).options(selectinload(Order.items))
                                                .where(Order.id.in_(picked)))}
    orders = [rows[i] for i in picked]
    _annotate(principal, orders)
    return orders, last


def _last_event_id() -> int:
    return db.session.scalar(select(OrderEvent.id).order_by(OrderEvent.id.desc()).limit(1)) or 0


def _annotate(principal, orders: list[Order]) -> None:
    """Each order's acknowledgement and the client's own ids for it and its SKUs."""
    ids = [o.id for o in orders]
    acks = dict(db.session.execute(select(PartnerOrderAck.order_id, PartnerOrderAck.acknowledged_at)
                                   .where(PartnerOrderAck.client_id == principal.id,
                                          PartnerOrderAck.order_id.in_(ids))).all())
    order_refs = refs_of(principal.id, "order", ids)
    sku_refs = refs_of(principal.id, "sku", {i.sku_id for o in orders for i in o.items})
    store_refs = refs_of(principal.id, "store", {o.store_id for o in orders})
    for o in orders:
        o.acknowledged_at = acks.get(o.id)
        o.external_ref = order_refs.get(o.id)
        o.store_external_ref = store_refs.get(o.store_id)
        for item in o.items:
            item.external_ref = sku_refs.get(item.sku_id)


def one(principal, order_no: str) -> Order:
    """An order of the client's stores (404 for any other, as for one that does not exist)."""
    order = db.session.scalars(select(Order).where(Order.order_no == order_no[:32])).first()
    if order is None or not principal.sees(order.store_id):
        raise NotFound("No such order.", details={"order_no": order_no})
    expire_if_overdue(order)
    _annotate(principal, [order])
    return order


def mark_ready(principal, order_no: str) -> tuple[Order, Outcome]:
    """The warehouse packed a paid pickup order: the same step as at the counter."""
    order = one(principal, order_no)
    return order, lifecycle.mark_ready(order, Actor.of(principal))


def acknowledge(principal, order_no: str) -> Order:
    """The partner has the order in its system: recorded once (a repeat keeps the first time)."""
    order = one(principal, order_no)
    if order.acknowledged_at is None:
        try:
            with db.session.begin_nested():
                ack = PartnerOrderAck(client_id=principal.id, order_id=order.id,
                                       acknowledged_at=utcnow().replace(microsecond=0))  # as stored
                db.session.add(ack)
        except IntegrityError:  # a concurrent acknowledgement won: its time stands
            ack = db.session.scalars(select(PartnerOrderAck).where(
                PartnerOrderAck.client_id == principal.id, PartnerOrderAck.order_id == order.id)).one()
        order.acknowledged_at = ack.acknowledged_at
    return order
