"""Products per store and day: what each SKU sold and what was refunded of it.

A paid order's lines share its payable amount exactly (fen; the last line takes the
remainder), so a SKU's GMV adds up to the day's GMV to the fen even when an order was
paid with a card (payable 0: every line 0). A refund is shared the same way over the
lines of its order, on the day it succeeded. Bundles count as their own SKU.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from app.extensions import db
from models.analytics.calendar import bounds
from models.orders.tables import Order, OrderEvent, OrderItem
from models.payments.tables import Refund

SKU_FIELDS = ("orders", "units", "gmv_fen", "refunded_fen")


def split_exactly(amount: int, weights: list[int]) -> list[int]:
    """`amount` in proportion to `weights`, in whole fen, adding up exactly: each share
    rounded down, the last takes what is left (the project's money rule)."""
    total = sum(weights)
    if not weights:
        return []
    if total <= 0:
        return [0] * (len(weights) - 1) + [amount]
    shares = [amount * w // total for w in weights[:-1]]
    return shares + [amount - sum(shares)]


def _lines(order_ids: set[int]) -> dict[int, list[tuple[int, int, int]]]:
    """{order_id: [(sku_id, qty, line_total_fen), ...]} in line order."""
    out: dict[int, list] = defaultdict(list)
    ids = sorted(order_ids)
    for chunk in range(0, len(ids), 1000):
        for row in db.session.execute(
                select(OrderItem.order_id, OrderItem.sku_id, OrderItem.qty, OrderItem.price_fen)
                .where(OrderItem.order_id.in_(ids[chunk:chunk + 1000])).order_by(OrderItem.id)):
            out[row.order_id].append((row.sku_id, row.qty, row.qty * row.price_fen))
    return out


def of_day(day: date, store_ids: list[int] | None = None) -> dict[tuple[int, int], dict[str, int]]:
    """{(store_id, sku_id): {"orders", "units", "gmv_fen", "refunded_fen"}} of the day."""
    start, end = bounds(day)
    paid = (select(OrderEvent.order_id, Order.store_id, Order.payable_fen)
            .select_from(OrderEvent).prefix_with("STRAIGHT_JOIN", dialect="mysql")  # the day's events first
            .join(Order, Order.id == OrderEvent.order_id)
            .where(OrderEvent.at >= start, OrderEvent.at < end, OrderEvent.to_status == "paid"))
    refunded = (select(Refund.order_id, Order.store_id, Refund.amount_fen)
                .prefix_with("STRAIGHT_JOIN", dialect="mysql")
                .join(Order, Order.id == Refund.order_id)
                .where(Refund.status == "success", Refund.succeeded_at >= start, Refund.succeeded_at < end))
    if store_ids is not None:
        paid = paid.where(Order.store_id.in_(store_ids or [-1]))
        refunded = refunded.where(Order.store_id.in_(store_ids or [-1]))
    paid_rows = list(db.session.execute(paid))
    refund_rows = list(db.session.execute(refunded))
    lines = _lines({r[0] for r in paid_rows} | {r[0] for r in refund_rows})
    out: dict[tuple[int, int], dict[str, int]] = {}

    def row(store_id: int, sku_id: int) -> dict[str, int]:
        return out.setdefault((store_id, sku_id), dict.fromkeys(SKU_FIELDS, 0))

    for order_id, store_id, payable in paid_rows:
        items = lines[order_id]
        for (sku_id, qty, _), share in zip(items, split_exactly(payable, [t for _, _, t in items])):
            figures = row(store_id, sku_id)
            figures["units"] += qty
            figures["gmv_fen"] += share
        for sku_id in {sku_id for sku_id, _, _ in items}:
            row(store_id, sku_id)["orders"] += 1
    for order_id, store_id, amount in refund_rows:
        items = lines[order_id]
        for (sku_id, _, _), share in zip(items, split_exactly(amount, [t for _, _, t in items])):
            row(store_id, sku_id)["refunded_fen"] += share
    return out
