"""Placing an order: server-side prices, purchase limits, idempotency, and a stock hold
in the same transaction as the order (so an order exists if and only if its stock is held).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.crypto import cipher
from app.errors import AppError, NotFound
from app.extensions import db
from app.db import after_commit
from models import flash_sale, stock
from models.base import utcnow
from models.catalog import Sku
from models.inventory import Inventory
from models.orders.status import LIVE, Status
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
    status, code, message = 422, "idempotency_key_reused", \
        "This Idempotency-Key was used with a different request."


@dataclass(frozen=True)
class Line:
    sku_id: int
    qty: int


def request_fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def address_aad(order_no: str) -> bytes:
    return f"orders.address:{order_no}".encode()


def new_order_no() -> str:
    """TH + UTC minute + 10 random digits: sortable by time, unguessable, and a valid
    WeChat Pay out_trade_no (22 chars of [0-9A-Z])."""
    return f"TH{utcnow():%y%m%d%H%M}{secrets.randbelow(10**10):010d}"


def place_order(user_id: int, body: dict, idempotency_key: str | None) -> tuple[Order, bool]:
    """Returns (order, created). A replayed Idempotency-Key returns the first order.

    SKUs in flash-sale mode pass the Redis gate first, before any SQL: when a crowd
    races for a few units, only buyers who got units reach the database."""
    lines = _merge(body["items"])
    store_id, pairs = body["store_id"], [(ln.sku_id, ln.qty) for ln in lines]
    gate, ticket = flash_sale.gate(), secrets.token_hex(12)
    gated = gate.admit(store_id, pairs, ticket)
    if gated is None:
        earlier = _replayed(user_id, idempotency_key, body)
        if earlier is not None:
            return earlier, False
        raise stock.OutOfStock("Sold out.", details={"flash_sale": True})
    if not gated:
        return _place(user_id, body, lines, idempotency_key, flash=False)
    try:
        order, created = _place(user_id, body, lines, idempotency_key, flash=True)
    except BaseException:
        gate.give_back(store_id, pairs, ticket)  # the units this attempt took go back
        raise
    if created:
        after_commit(lambda: gate.settle(store_id, pairs, ticket))
    else:  # a replay of an earlier order: this attempt's units go back
        gate.give_back(store_id, pairs, ticket)
    return order, created


def _replayed(user_id: int, key: str | None, body: dict) -> Order | None:
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
    key_row = None
    if idempotency_key:
        key_row, earlier = _claim_key(user_id, idempotency_key, request_fingerprint(body))
        if earlier is not None:
            return earlier, False

    store = db.session.get(Store, body["store_id"])
    if store is None:
        raise NotFound("No such store.", details={"store_id": body["store_id"]})
    if not store.active:
        raise StoreClosed(details={"store_id": store.id})

    skus = _load_skus([ln.sku_id for ln in lines])
    _check_sellable(store.id, lines, skus)
    _check_limits(user_id, lines, skus)

    now = utcnow()
    order = Order(
        order_no=new_order_no(), user_id=user_id, store_id=store.id,
        fulfillment=body["fulfillment"], status=Status.pending_payment.value,
        total_fen=0, payable_fen=0, remark=body.get("remark"), created_at=now, flash_sale=flash,
        pay_deadline=now + timedelta(seconds=current_app.config["ORDER_PAY_TIMEOUT_S"]),
    )
    if body.get("address"):
        order.address_enc = cipher().encrypt(json.dumps(body["address"], ensure_ascii=False),
                                             aad=address_aad(order.order_no))
    for ln in lines:
        sku = skus[ln.sku_id]
        order.items.append(OrderItem(
            sku_id=sku.id, product_id=sku.product_id, name=sku.product.name, spec=sku.spec,
            price_fen=sku.price_fen, qty=ln.qty,
            components=[[c.component_sku_id, c.qty] for c in sku.components] if sku.is_bundle else None,
        ))
    order.total_fen = order.payable_fen = sum(i.price_fen * i.qty for i in order.items)
    db.session.add(order)
    db.session.flush()
    stock.reserve(store.id, [sl for item in order.items for sl in item.stock_lines()],
                  order_id=order.id)
    db.session.add(OrderEvent(order_id=order.id, from_status=None, to_status=order.status,
                              actor_type="user", actor_id=user_id, reason="placed", at=now))
    if key_row is not None:
        key_row.order_id = order.id
    return order, True


def _merge(items: list[dict]) -> list[Line]:
    merged: dict[int, int] = {}
    for item in items:
        merged[item["sku_id"]] = merged.get(item["sku_id"], 0) + item["qty"]
    return [Line(sku_id, qty) for sku_id, qty in merged.items()]


def _claim_key(user_id: int, key: str, fingerprint: str) -> tuple[IdempotencyKey | None, Order | None]:
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


def _load_skus(sku_ids: list[int]) -> dict[int, Sku]:
    skus = {s.id: s for s in db.session.scalars(
        select(Sku).where(Sku.id.in_(sku_ids))
        .options(selectinload(Sku.product), selectinload(Sku.components))
    )}
    missing = sorted(set(sku_ids) - set(skus))
    if missing:
        raise NotFound("No such SKU.", details={"sku_ids": missing})
    return skus


def _check_sellable(store_id: int, lines: list[Line], skus: dict[int, Sku]) -> None:
    off = [ln.sku_id for ln in lines if not (skus[ln.sku_id].on_shelf and skus[ln.sku_id].product.on_shelf)]
    if off:
        raise NotForSale("An item is off the shelf.", details={"sku_ids": off})
    held = {sku_id for ln in lines for sku_id, _ in _stock_skus(skus[ln.sku_id])}
    carried = set(db.session.scalars(
        select(Inventory.sku_id).where(Inventory.store_id == store_id, Inventory.sku_id.in_(held))))
    not_here = sorted({ln.sku_id for ln in lines
                       if any(s not in carried for s, _ in _stock_skus(skus[ln.sku_id]))})
    if not_here:
        raise NotForSale("An item is not sold at this store.", details={"sku_ids": not_here})


def _stock_skus(sku: Sku) -> list[tuple[int, int]]:
    return [(c.component_sku_id, c.qty) for c in sku.components] if sku.is_bundle else [(sku.id, 1)]


def _check_limits(user_id: int, lines: list[Line], skus: dict[int, Sku]) -> None:
    over = [ln.sku_id for ln in lines
            if skus[ln.sku_id].limit_per_order and ln.qty > skus[ln.sku_id].limit_per_order]
    if over:
        raise PurchaseLimit("Too many of an item in one order.",
                            details={"sku_ids": over, "per_order": True})
    limited = {ln.sku_id: ln.qty for ln in lines if skus[ln.sku_id].limit_per_user}
    if not limited:
        return
    # Serialise this shopper's orders so two at once can't both slip under the limit.
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
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

