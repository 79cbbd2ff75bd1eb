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
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.errors import NotFound
from app.extensions import db
from models import audit
from models.base import utcnow
from models.orders import lifecycle
from models.orders.deadlines import expire_if_overdue
from models.orders.status import Actor, Outcome
from models.orders.tables import Order, OrderEvent, OrderItem
from models.partners.tables import PartnerExternalRef, PartnerOrderAck

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
    from (None: nothing further yet, ask again later with the same cursor).

    Five reads, by Core (a page is plain rows, no ORM objects): the scan's bounds, the
    client's events within it, the orders with their items, the client's references, its
    acknowledgements."""
    if cursor is None:
        cursor = 0
        if since is not None:
            first = db.session.scalar(select(E.c.id).where(E.c.at >= since).order_by(E.c.at, E.c.id).limit(1))
            cursor = first - 1 if first is not None else _last_event_id()
    scan = select(E.c.id, E.c.order_id, E.c.at).where(E.c.id > cursor).order_by(E.c.id).limit(SCAN).subquery()
    last_scanned, unsettled = db.session.execute(select(
        func.max(scan.c.id), func.min(case((scan.c.at > settled_before(), scan.c.id))))).one()
    if last_scanned is None:
        return [], None
    end = unsettled - 1 if unsettled is not None else last_scanned
    # Each of the client's orders once, by its first change in the window: a page is the
    # first `limit` of them; the next page starts at the change of the one after.
    first = func.min(scan.c.id).label("first")
    mine = db.session.execute(select(scan.c.order_id, first).join(O, O.c.id == scan.c.order_id)
                              .where(O.c.store_id.in_(sorted(principal.store_ids)), scan.c.id <= end)
                              .group_by(scan.c.order_id).order_by(first).limit(limit + 1)).all()
    picked = [order_id for order_id, _ in mine[:limit]]
    last = mine[limit].first - 1 if len(mine) > limit else end
    orders = _page(principal, picked)
    return orders, (last if last > cursor else None)


E, O, I = OrderEvent.__table__, Order.__table__, OrderItem.__table__
_ORDER_COLUMNS = [O.c[name] for name in (
    "id", "order_no", "status", "fulfillment", "store_id", "total_fen", "payable_fen", "remark", "created_at",
    "paid_at", "ready_at", "pickup_deadline", "picked_up_at", "shipped_at", "carrier", "tracking_no",
    "delivered_at", "cancelled_at")]
_ITEM_COLUMNS = [I.c[name] for name in ("order_id", "sku_id", "name", "spec", "qty", "picked_up_qty", "price_fen")]


def _page(principal, order_ids: list[int]) -> list[dict]:
    """The orders as dicts in the given order, with items, references and acknowledgements."""
    if not order_ids:
        return []
    orders = {r["id"]: {**r, "items": []} for r in db.session.execute(
        select(*_ORDER_COLUMNS).where(O.c.id.in_(order_ids))).mappings()}
    for item in db.session.execute(select(*_ITEM_COLUMNS).where(I.c.order_id.in_(order_ids))
                                   .order_by(I.c.id)).mappings():
        orders[item["order_id"]]["items"].append(dict(item))
    rows = [orders[i] for i in order_ids]
    refs = _refs(principal.id, {"order": order_ids, "sku": {i["sku_id"] for r in rows for i in r["items"]},
                                "store": {r["store_id"] for r in rows}})
    acks = dict(db.session.execute(select(PartnerOrderAck.order_id, PartnerOrderAck.acknowledged_at).where(
        PartnerOrderAck.client_id == principal.id, PartnerOrderAck.order_id.in_(order_ids))).all())
    for r in rows:
        r["acknowledged_at"] = acks.get(r["id"])
        r["external_ref"] = refs.get(("order", r["id"]))
        r["store_external_ref"] = refs.get(("store", r["store_id"]))
        for item in r["items"]:
            item["external_ref"] = refs.get(("sku", item["sku_id"]))
    return rows


def _refs(client_pk: int, wanted: dict[str, set | list]) -> dict[tuple[str, int], str]:
    """The client's names for these of ours, every kind in one read."""
    R = PartnerExternalRef
    clauses = [and_(R.kind == kind, R.internal_id.in_(sorted(ids))) for kind, ids in wanted.items() if ids]
    if not clauses:
        return {}
    return {(k, i): e for k, i, e in db.session.execute(
        select(R.kind, R.internal_id, R.external_id).where(R.client_id == client_pk, or_(*clauses))).all()}


def _last_event_id() -> int:
    return db.session.scalar(select(E.c.id).order_by(E.c.id.desc()).limit(1)) or 0


def _annotate(principal, order: Order) -> None:
    """One order object's acknowledgement and the client's own ids for it and its SKUs."""
    refs = _refs(principal.id, {"order": [order.id], "sku": {i.sku_id for i in order.items},
                                "store": [order.store_id]})
    order.acknowledged_at = db.session.scalar(select(PartnerOrderAck.acknowledged_at).where(
        PartnerOrderAck.client_id == principal.id, PartnerOrderAck.order_id == order.id))
    order.external_ref = refs.get(("order", order.id))
    order.store_external_ref = refs.get(("store", order.store_id))
    for item in order.items:
        item.external_ref = refs.get(("sku", item.sku_id))


def one(principal, order_no: str) -> Order:
    """An order of the client's stores (404 for any other, as for one that does not exist)."""
    order = db.session.scalars(select(Order).where(Order.order_no == order_no[:32])).first()
    if order is None or not principal.sees(order.store_id):
        raise NotFound("No such order.", details={"order_no": order_no})
    expire_if_overdue(order)
    _annotate(principal, order)
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


def add_shipment(principal, order_no: str, *, carrier: str, tracking_no: str, items: list[dict] | None):
    """The warehouse sent (part of) a delivery order: a parcel, as the staff's parcel form
    makes it (the first ships the order; the same number again is a repeat)."""
    from models import shipments

    order = one(principal, order_no)
    parcel, created = shipments.add_parcel(order, Actor.of(principal), None, carrier=carrier,
                                           tracking_no=tracking_no, items=items)
    if created:
        audit.record("order.add_parcel", parcel, actor=principal,
                     changes={"order_no": order.order_no, "carrier": carrier, "tracking_no": tracking_no})
    return parcel, created
