"""Issuing pickup codes, and what the owner is shown.

A code is issued when an order becomes ready_for_pickup (lifecycle.mark_ready), at the
highest level among its store and its products; a manager's reissue (lockout.py)
retires the old one (its digits, signed QR and mini-program code all stop working at once).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.sqlbatch import Batch
from models.base import mirror, utcnow
from models.catalog import Product
from models.orders.status import Status
from models.orders.tables import Order
from models.pickup import ledger, payloads
from models.pickup.status import CODES, ENDED
from models.pickup.errors import (AlreadyPickedUp, LocationRequired, OutsidePickupRadius,
                                  PickupExpired, PickupLocked, PickupNotReady)
from models.pickup.tables import PickupCode
from models.stores import Store

FINISHED = (Status.picked_up.value, Status.completed.value)


def order_level(order: Order, store: Store) -> int:
    """The highest level asked for by the store or any product on the order."""
    product_ids = {item.product_id for item in order.items}
    products = (db.session.scalar(select(func.max(Product.pickup_level)).where(Product.id.in_(product_ids)))
                if product_ids else None)
    return max(store.pickup_level or 1, products or 1)


def deadline_for(store: Store, ready_at: datetime) -> datetime:
    hours = store.pickup_expiry_hours or current_app.config["PICKUP_EXPIRY_HOURS"]
    return ready_at + timedelta(hours=hours)


def live_code(order_id: int, *, lock: bool = False) -> PickupCode | None:
    where = (PickupCode.order_id == order_id) & (PickupCode.status == "live")
    return db.session.scalars(locked_by_id(where) if lock else select(PickupCode).where(where)).first()


def locked_by_id(where, *columns):
    """SELECT ... FOR UPDATE of the one code matching `where`, locked through its primary
    key only. Codes are found by several unique indexes (live_hash, wxa_hash, order and
    version) and ending one rewrites two of them; a locking read through a secondary index
    locks that index entry before the row, so two paths in opposite order deadlock. Found
    by a plain subquery and locked by id, every path takes the row's lock alone."""
    found = select(PickupCode.id).where(where).limit(1).scalar_subquery()
    return (select(*(columns or (PickupCode,))).where(PickupCode.id == found).with_for_update()
            .execution_options(populate_existing=True))


def issue(order: Order, store: Store, *, version: int = 1) -> PickupCode:
    """A fresh live code for `order` (its caller holds the order: a transition that
    applied once, or the order's row lock)."""
    level = order_level(order, store)
    for _ in range(5):
        seed = payloads.new_seed()
        digest = payloads.code_hash(payloads.digits(seed))
        row = PickupCode(order_id=order.id, store_id=order.store_id, version=version, level=level,
                         seed=seed, code_hash=digest, live_hash=digest, status="live",
                         failed_attempts=0, issued_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
            return row
        except IntegrityError:
            continue  # the same digits as another live code (~1e-12 per live code): draw again
    raise RuntimeError(f"could not draw a unique pickup code for order {order.id}")


def end(code: PickupCode, action: str, *, writes: Batch | None = None) -> None:
    """Retire a live code the caller holds locked (`use`, `replace`): its hashes leave the
    live set. With `writes`, added to that batch for the caller to run."""
    if writes is None:
        CODES.move(code, action, **ENDED)
        return
    values = CODES.move_locked(code, action, writes, **ENDED)
    writes.then(lambda done: mirror(code, values))


def end_live(order_id: int, action: str) -> None:
    """Retire the live code of an order, if it has one (`expire`)."""
    CODES.move_all(action, PickupCode.order_id == order_id, **ENDED)


def lock_order(order_id: int, *, with_items: bool = False) -> Order:
    """The order row, locked and re-read as committed now (READ COMMITTED); with its items
    in the same statement when asked.

    Lock order: whatever locks both an order's live code and the order takes the code
    first (verify finds the code by its hash, locking it, before it knows the order), so
    a verification, an expiry and a reissue of one order can never deadlock."""
    query = (select(Order).where(Order.id == order_id).with_for_update()
             .execution_options(populate_existing=True))
    if with_items:
        return db.session.scalars(query.options(joinedload(Order.items))).unique().one()
    return db.session.scalars(query).one()


def raise_for_status(order: Order):
    """The refusal for an order that is not waiting for pickup."""
    if order.status in FINISHED:
        raise AlreadyPickedUp(details=ledger.last_handover(order))
    if order.status == Status.pickup_expired.value:
        raise PickupExpired(details={"order_no": order.order_no, "status": order.status})
    raise PickupNotReady(details={"order_no": order.order_no, "status": order.status})


# --- the owner's view ---------------------------------------------------------------------

def show(order: Order, lat: float | None, lng: float | None) -> dict:
    """What the mini-program shows: the digits, the QR payload for the order's level (a
    V3 one is good for this 30 s window; refresh in `refresh_in_s`), the deadline and
    the store. A V3 code at a store with a radius is shown only near the store."""
    if order.status != Status.ready_for_pickup.value:
        raise_for_status(order)
    store = db.session.get(Store, order.store_id)
    code = live_code(order.id) or issue(order, store)  # ready before codes existed: issue now
    if code.locked_at is not None:
        raise PickupLocked(details={"order_no": order.order_no})
    distance = None
    if lat is not None and lng is not None:
        distance = store.distance_m(lat, lng)
    if code.level == 3 and store.pickup_radius_m:
        if distance is None:
            raise LocationRequired(details={"radius_m": store.pickup_radius_m})
        if distance > store.pickup_radius_m:
            raise OutsidePickupRadius(details={"distance_m": distance, "radius_m": store.pickup_radius_m})
    digits = payloads.shown_digits(code.seed, code.code_hash)
    if code.level == 1:
        qr, refresh = digits, None
    else:
        qr = payloads.signed_payload(code.level, order.order_no, code.version)
        refresh = payloads.refresh_in_s() if code.level == 3 else None
    return {"order_no": order.order_no, "code": digits, "qr_payload": qr, "level": code.level,
            "refresh_in_s": refresh, "expires_at": order.pickup_deadline, "store": store,
            "distance_m": distance, "remaining": [
                {"sku_id": i.sku_id, "name": i.name, "spec": i.spec, "qty": i.remaining_qty}
                for i in order.items if i.remaining_qty]}

