"""Placing an order: server-side prices, purchase limits, idempotency, and a stock hold
in the same transaction as the order (so an order exists if and only if its stock is held).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import NamedTuple
from types import SimpleNamespace
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from app.crypto import cipher
from app.db import purge_before
from app.errors import AppError, NotFound
from app.extensions import db
from app.tasks import after_commit, on_rollback
from app.sqlbatch import Batch, fetch_all, joining
from models.stock import flash_sale
from models.stock.holds import INV, read_rows, reserve
from models.stock.errors import OutOfStock
from models.base import utcnow
from models.catalog import BundleComponent, Product, Sku
from models.growth import checkout
from models.orders.shares import split_fen
from models.orders.status import LIVE, Status
from models.state_machine import Actor
from models.partners import events as partner_events
from models.orders.tables import IdempotencyKey, Order, OrderEvent, OrderItem
from models.stores import Store
from models.users import User


class StoreClosed(AppError):
    status, code, message = 409, "store_closed", "This store is not taking orders."


class NotForSale(AppError):
    status, code, message = 409, "not_for_sale", "An item is not for sale at this store."


class PurchaseLimit(AppError):
    status, code, message = 409, "purchase_limit", "That is more than one shopper may buy."


class IdempotencyKeyReused(AppError):
    status, code, message = (422, "idempotency_key_reused",
                             "This Idempotency-Key was used with a different request.")


@dataclass(frozen=True)
class Line:
    sku_id: int
    qty: int


def request_fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def address_aad(order_no: str) -> bytes:
    return f"orders.address:{order_no}".encode()


def new_order_no() -> str:
    """TH + UTC minute + 16 random digits: sortable by time, unguessable, and a valid
    WeChat Pay out_trade_no (28 chars of [0-9A-Z]). Ten digits were too few: a benchmark
    placing thousands a minute drew one number twice, and the second order got a 500."""
    return f"TH{utcnow():%y%m%d%H%M}{secrets.randbelow(10**16):016d}"


def place_order(user_id: int, body: dict, idempotency_key: str | None) -> tuple[Order, bool]:
    """Returns (order, created). A replayed Idempotency-Key returns the first order.

    SKUs in flash-sale mode pass the Redis gate first, before any SQL: when a crowd
    races for a few units, only buyers who got units reach the database."""
    lines = _merge(body["items"])
    store_id, pairs = body["store_id"], [(ln.sku_id, ln.qty) for ln in lines]
    gate, ticket = flash_sale.gate(), secrets.token_hex(12)
    gated = gate.admit(store_id, pairs, ticket)
    if gated is None:
        earlier = replayed(user_id, idempotency_key, body)
        if earlier is not None:
            return earlier, False
        raise OutOfStock("Sold out.", details={"flash_sale": True})
    if not gated:
        return _place(user_id, body, lines, idempotency_key, flash=False)
    try:
        order, created = _place(user_id, body, lines, idempotency_key, flash=True)
    except BaseException:
        gate.give_back(store_id, pairs, ticket)  # the units this attempt took go back
        raise
    if created:
        # Settled when the order commits; given back if the transaction ends otherwise —
        # its commit refused as a write conflict (the request is then run again, taking
        # units with a ticket of its own), or an error after this point.
        after_commit(lambda: gate.settle(store_id, pairs, ticket))
        on_rollback(lambda: gate.give_back(store_id, pairs, ticket))
    else:  # a replay of an earlier order: this attempt's units go back
        gate.give_back(store_id, pairs, ticket)
    return order, created


def replayed(user_id: int, key: str | None, body: dict) -> Order | None:
    if not key:
        return None
    row = db.session.scalars(select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_fingerprint(body):
        raise IdempotencyKeyReused()
    return db.session.get(Order, row.order_id)


def _place(user_id: int, body: dict, lines: list["Line"], idempotency_key: str | None,
           *, flash: bool):
    store_id = body["store_id"]
    try:
        skus, seen = load_skus(store_id, [ln.sku_id for ln in lines])
    except AppError:  # the store closed since? A retry still gets the order it made then
        earlier = replayed(user_id, idempotency_key, body)
        if earlier is None:
            raise
        return earlier, False
    limited = _limited(lines, skus)
    if limited:
        # Serialise this shopper's orders so two at once can't both slip under the limit —
        # before the key's insert below, which takes a shared lock on this same row (its
        # foreign key): two orders each holding that and waiting for this would deadlock.
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    key_row = None
    if idempotency_key:
        key_row, earlier = claim_key(user_id, idempotency_key, request_fingerprint(body))
        if earlier is not None:
            return earlier, False
    if limited:
        _check_bought(user_id, limited, skus)
    holds = plan_holds(store_id, lines, skus, seen)
    discounts = checkout.plan(user_id, store_id, [(ln.sku_id, ln.qty, skus[ln.sku_id].price_fen) for ln in lines],
                              coupon_id=body.get("coupon_id"), points_offered=body.get("points") or 0, flash=flash)
    writes = Batch()  # the order's rows and its stock holds: one round trip
    order = insert_order(user_id, store_id, body["fulfillment"], lines, skus, writes=writes,
                         address=body.get("address"), remark=body.get("remark"), flash=flash,
                         discounts=discounts)
    if discounts.any:  # the coupon locked to this order, the points spent: or all of it rolls back
        # In the same batch: the points' rows are locked now (a shopper's own rows), the
        # writes go with the order's, and only the stock holds below come after them.
        checkout.bind(order.id, order.order_no, user_id, discounts, Actor("user", user_id), writes=writes)
    reserve(store_id, holds, order_id=order.id, writes=writes)  # last: it takes the row locks
    if key_row is not None:
        key_row.order_id = order.id
    partner_events.emit("order.created", "order", order.id, store_id,
                        partner_events.order_data(order, "pending_payment"))
    return order, True


def plan_holds(store_id: int, lines: list[Line], skus: dict[int, "SkuFacts"],
               seen: dict) -> list[tuple[int, int]]:
    """The stock rows `lines` hold at this store (bundles: their components). Refuses what
    the store doesn't sell or can't hold now, before anything is written. `seen` gains the
    components' rows."""
    holds = [hold for ln in lines for hold in skus[ln.sku_id].holds(ln.qty)]
    components = {sku_id for sku_id, _ in holds} - set(seen)
    if components:  # bundles hold their components' rows: read those too
        seen.update({sku_id: Held(row.on_hand - row.reserved, row.online)
                     for sku_id, row in read_rows(store_id, sorted(components)).items()})
    not_here = sorted({ln.sku_id for ln in lines
                       if any(sku_id not in seen for sku_id, _ in skus[ln.sku_id].holds(1))})
    if not_here:
        raise NotForSale("An item is not sold at this store.", details={"sku_ids": not_here})
    _fail_fast(seen, holds)
    return holds


def insert_order(user_id: int, store_id: int, fulfillment: str, lines: list[Line],
                 skus: dict[int, "SkuFacts"], *, address: dict | None = None,
                 remark: str | None = None, flash: bool = False, source: str = "shop",
                 prepaid: bool = False, writes: Batch | None = None,
                 discounts: "checkout.Discounts | None" = None) -> SimpleNamespace:
    """Write a new pending order, its items (catalog prices copied) and its first event;
    the caller holds the stock. `prepaid` (a pickup card): nothing to pay, total kept.
    With `writes`, the rows are added to it for the caller to run: until then the order's
    `id` is a NewId, which the caller's other rows of the batch may carry."""
    # The rows are written with Core inserts (this is the hottest write path) and the
    # response is built from the same values, as transient objects: no re-read.
    now = utcnow()
    pay_timeout = 0 if prepaid else current_app.config["ORDER_PAY_TIMEOUT_S"]
    order = _row(ORDERS, order_no=new_order_no(), user_id=user_id, store_id=store_id,
                 fulfillment=fulfillment, status=Status.pending_payment.value,
                 remark=remark, created_at=now, flash_sale=flash, source=source,
                 pay_deadline=now + timedelta(seconds=pay_timeout))
    if address:
        order["address_enc"] = cipher().encrypt(json.dumps(address, ensure_ascii=False),
                                                aad=address_aad(order["order_no"]))
    items = [_row(ITEMS, sku_id=sku.id, product_id=sku.product_id, name=sku.name, spec=sku.spec,
                  price_fen=sku.price_fen, qty=ln.qty, picked_up_qty=0,
                  components=[list(c) for c in sku.components] if sku.components else None)
             for ln in lines for sku in (skus[ln.sku_id],)]
    order["total_fen"] = sum(i["price_fen"] * i["qty"] for i in items)
    order["payable_fen"] = 0 if prepaid else order["total_fen"]
    order.update(coupon_discount_fen=0, points_used=0, points_discount_fen=0, level_discount_fen=0, priority=False)
    for item in items:
        item["discount_fen"] = 0
    if discounts is not None and discounts.any:
        order.update(coupon_id=discounts.coupon.id if discounts.coupon else None,
                     coupon_discount_fen=discounts.coupon_fen, points_used=discounts.points,
                     points_discount_fen=discounts.points_fen, level_discount_fen=discounts.level_fen)
        order["payable_fen"] -= discounts.coupon_fen + discounts.level_fen + discounts.points_fen
        for item, part in zip(items, discounts.lines):
            item["discount_fen"] = part
    # Each line's part of what is paid, fixed now: after-sales refund from it.
    for item, share in zip(items, split_fen(order["payable_fen"],
                                        [i["price_fen"] * i["qty"] - i["discount_fen"] for i in items])):
        item["paid_share_fen"] = share
    with joining(writes) as batch:
        order["id"] = batch.new_id(batch.add(_INSERT_ORDER, dict(order)))  # the real id once it ran
        for item in items:
            item["order_id"] = order["id"]
        batch.add_all(_INSERT_ITEMS, items)
        event = _row(EVENTS, order_id=order["id"], to_status=order["status"], actor_type="user",
                     actor_id=user_id, reason="placed", at=now)
        batch.add(_INSERT_EVENT, event)
        # The answer is built from what was written (no re-read), in the shape of an Order.
        made = SimpleNamespace(**order, items=[SimpleNamespace(**i) for i in items],
                               events=[SimpleNamespace(**event)])
        batch.then(lambda done: _set_id(made, done[made.id.index].lastrowid))
    return made


def _set_id(order: SimpleNamespace, order_id: int) -> None:
    order.id = order_id
    for row in (*order.items, *order.events):
        row.order_id = order_id


# Placement is the hottest write path: its statements are built once, and rows are
# written with Core (no unit of work); what the ORM would add is not needed here.
ORDERS, ITEMS, EVENTS, STORES = (Order.__table__, OrderItem.__table__, OrderEvent.__table__,
                                 Store.__table__)
_INSERT_ORDER, _INSERT_ITEMS, _INSERT_EVENT = ORDERS.insert(), ITEMS.insert(), EVENTS.insert()
_STORE_ACTIVE = select(STORES.c.active).where(STORES.c.id == bindparam("store_id"))
_SKU, _PRODUCT, _PARTS = Sku.__table__.c, Product.__table__.c, BundleComponent.__table__.c
_INV = INV.c
_SKU_FACTS = (
    # Few columns on purpose: PyMySQL parses every column's description in Python.
    select(_SKU.id, _SKU.product_id, _PRODUCT.name, _SKU.spec, _SKU.price_fen,
           _SKU.limit_per_order, _SKU.limit_per_user, _SKU.is_bundle,
           (_SKU.on_shelf & _PRODUCT.on_shelf).label("for_sale"),
           _STORE_ACTIVE.scalar_subquery().label("store_active"),
           (_INV.on_hand - _INV.reserved).label("available"), _INV.online)
    .join_from(Sku.__table__, Product.__table__, _PRODUCT.id == _SKU.product_id)
    .outerjoin(INV, (_INV.sku_id == _SKU.id) & (_INV.store_id == bindparam("store_id")))
    .where(_SKU.id.in_(bindparam("sku_ids", expanding=True))))
_COMPONENTS = (select(_PARTS.bundle_sku_id, _PARTS.component_sku_id, _PARTS.qty)
               .where(_PARTS.bundle_sku_id.in_(bindparam("bundles", expanding=True)))
               .order_by(_PARTS.component_sku_id))


def _conn():
    return db.session.connection()


def _row(table, **values) -> dict:
    """A full row for `table`: every column but the key, None where not given, so that
    rows of one table share one INSERT statement."""
    return {c.key: values.get(c.key) for c in table.columns if c.key != "id"}


class Held(NamedTuple):
    """A SKU's stock row at the order's store, as placement checks it."""
    available: int
    online: bool


def _fail_fast(seen: dict[int, Held], holds: list[tuple[int, int]]) -> None:
    """Refuse an order that can't be held before writing anything (the guarded update
    still decides for the orders that pass)."""
    wanted: dict[int, int] = {}
    for sku_id, qty in holds:
        wanted[sku_id] = wanted.get(sku_id, 0) + qty
    for sku_id, qty in sorted(wanted.items()):
        row = seen[sku_id]
        if not row.online or row.available < qty:
            raise OutOfStock(details={"sku_id": sku_id, "requested": qty})


def _merge(items: list[dict]) -> list[Line]:
    merged: dict[int, int] = {}
    for item in items:
        merged[item["sku_id"]] = merged.get(item["sku_id"], 0) + item["qty"]
    return [Line(sku_id, qty) for sku_id, qty in merged.items()]


def claim_key(user_id: int, key: str, fingerprint: str) -> tuple[IdempotencyKey | None, Order | None]:
    """Insert the key first: a concurrent retry with the same key waits on the unique
    index until this transaction ends, then finds the order it made."""
    row = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
        return row, None
    except IntegrityError:
        pass
    existing = db.session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one()
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return None, db.session.get(Order, existing.order_id)


@dataclass(frozen=True)
class SkuFacts:
    """What placement needs of a SKU, read in one query (plus one for bundles)."""
    id: int
    product_id: int
    name: str
    spec: str
    price_fen: int
    limit_per_order: int | None
    limit_per_user: int | None
    components: tuple[tuple[int, int], ...]  # bundles: (component sku, qty per bundle)

    def holds(self, qty: int) -> list[tuple[int, int]]:
        """The stock rows ordering `qty` of this SKU holds."""
        if self.components:
            return [(sku_id, per * qty) for sku_id, per in self.components]
        return [(self.id, qty)]


def load_skus(store_id: int, sku_ids: list[int], *,
              on_shelf_only: bool = True) -> tuple[dict[int, SkuFacts], dict]:
    """The SKUs, their stock rows at this store, and the store's state: one query.
    Raises for an unknown or closed store, unknown SKUs, SKUs off the shelf (unless
    `on_shelf_only` is off: goods already sold, e.g. on a pickup card)."""
    rows = fetch_all(_SKU_FACTS, {"sku_ids": sku_ids, "store_id": store_id})
    store_active = (rows[0].store_active if rows
                    else _conn().execute(_STORE_ACTIVE, {"store_id": store_id}).scalar())
    if store_active is None:
        raise NotFound("No such store.", details={"store_id": store_id})
    if not store_active:
        raise StoreClosed(details={"store_id": store_id})
    missing = sorted(set(sku_ids) - {r.id for r in rows})
    if missing:
        raise NotFound("No such SKU.", details={"sku_ids": missing})
    off = sorted(r.id for r in rows if not r.for_sale)
    if off and on_shelf_only:
        raise NotForSale("An item is off the shelf.", details={"sku_ids": off})
    parts: dict[int, list[tuple[int, int]]] = {}
    bundles = [r.id for r in rows if r.is_bundle]
    if bundles:
        for bundle_id, sku_id, qty in _conn().execute(_COMPONENTS, {"bundles": bundles}):
            parts.setdefault(bundle_id, []).append((sku_id, qty))
    skus = {r.id: SkuFacts(r.id, r.product_id, r.name, r.spec, r.price_fen, r.limit_per_order,
                           r.limit_per_user, tuple(parts.get(r.id, ()))) for r in rows}
    seen = {r.id: Held(r.available, r.online) for r in rows if r.available is not None}
    return skus, seen


def _limited(lines: list[Line], skus: dict[int, SkuFacts]) -> dict[int, int]:
    """Refuses more than an order may hold of an item; returns the lines limited per
    shopper ({sku_id: qty}), checked by `_check_bought` under the shopper's row lock."""
    over = [ln.sku_id for ln in lines
            if skus[ln.sku_id].limit_per_order and ln.qty > skus[ln.sku_id].limit_per_order]
    if over:
        raise PurchaseLimit("Too many of an item in one order.",
                            details={"sku_ids": over, "per_order": True})
    return {ln.sku_id: ln.qty for ln in lines if skus[ln.sku_id].limit_per_user}


def _check_bought(user_id: int, limited: dict[int, int], skus: dict[int, SkuFacts]) -> None:
    bought = dict(db.session.execute(
        select(OrderItem.sku_id, func.sum(OrderItem.qty))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.user_id == user_id, OrderItem.sku_id.in_(limited),
               Order.status.in_([s.value for s in LIVE]))
        .group_by(OrderItem.sku_id)
    ).all())
    over = [sku_id for sku_id, qty in limited.items()
            if (bought.get(sku_id) or 0) + qty > skus[sku_id].limit_per_user]
    if over:
        raise PurchaseLimit(details={"sku_ids": over, "per_user": True})



def purge_keys(days: int) -> int:
    """Retention (the daily job): Idempotency-Keys older than `days` — long past any retry
    a client makes — oldest first by id."""
    return purge_before(IdempotencyKey, IdempotencyKey.created_at, utcnow() - timedelta(days=days))
