"""Does the ledger agree with the counters? For every (store, SKU): on_hand must equal
SUM(delta_on_hand) and reserved SUM(delta_reserved) over its stock movements, and no
ledger entry may exist for a (store, SKU) without an inventory row.

Constant work in queries (the sums are one grouped subquery, compared in SQL), so it
stays cheap however many rows there are; only mismatches come back to Python.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.extensions import db
from models.stock.tables import Inventory, StockMovement


def _ledger_sums():
    return (
        select(StockMovement.store_id, StockMovement.sku_id,
               func.sum(StockMovement.delta_on_hand).label("on_hand"),
               func.sum(StockMovement.delta_reserved).label("reserved"))
        .group_by(StockMovement.store_id, StockMovement.sku_id)
        .subquery("ledger")
    )


def check_ledger() -> list[dict]:
    """Mismatches as {store_id, sku_id, field, counter, ledger}; empty when all agree.
    `field` is on_hand, reserved, or inventory_row (ledger entries but no row; counter None)."""
    ledger = _ledger_sums()
    on_hand = func.coalesce(ledger.c.on_hand, 0)
    reserved = func.coalesce(ledger.c.reserved, 0)
    keyed = (ledger.c.store_id == Inventory.store_id) & (ledger.c.sku_id == Inventory.sku_id)
    problems = []
    for row in db.session.execute(
        select(Inventory.store_id, Inventory.sku_id, Inventory.on_hand, Inventory.reserved,
               on_hand.label("ledger_on_hand"), reserved.label("ledger_reserved"))
        .outerjoin(ledger, keyed)
        .where(or_(Inventory.on_hand != on_hand, Inventory.reserved != reserved))
        .order_by(Inventory.store_id, Inventory.sku_id)
    ):
        for field in ("on_hand", "reserved"):
            counter, summed = getattr(row, field), int(getattr(row, f"ledger_{field}"))
            if counter != summed:
                problems.append({"store_id": row.store_id, "sku_id": row.sku_id, "field": field,
                                 "counter": counter, "ledger": summed})
    for row in db.session.execute(
        select(ledger.c.store_id, ledger.c.sku_id, ledger.c.on_hand)
        .outerjoin(Inventory, keyed).where(Inventory.id.is_(None))
        .order_by(ledger.c.store_id, ledger.c.sku_id)
    ):
        problems.append({"store_id": row.store_id, "sku_id": row.sku_id, "field": "inventory_row",
                         "counter": None, "ledger": int(row.on_hand or 0)})
    return problems


def inventory_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Inventory))
