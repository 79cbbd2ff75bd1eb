"""Does the ledger agree with the counters? For every (store, SKU): on_hand must equal
SUM(delta_on_hand) and reserved SUM(delta_reserved) over its stock movements, and no
ledger entry may exist for a (store, SKU) without an inventory row.

Constant work in queries (the sums are one grouped subquery, compared in SQL); only
mismatches come back to Python. A full check still reads every movement: the
incremental one (`check_incremental`, `flask stock check --incremental`) reads only the
movements since its checkpoint.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from app.extensions import db
from models.base import utcnow
from models.stock.tables import Inventory, StockCheckMark, StockCheckSum, StockMovement


def _ledger_sums():
    return (
        select(StockMovement.store_id, StockMovement.sku_id,
               func.sum(StockMovement.delta_on_hand).label("on_hand"),
               func.sum(StockMovement.delta_reserved).label("reserved"))
        .group_by(StockMovement.store_id, StockMovement.sku_id)
        .subquery("ledger")
    )


def _mismatches(rows) -> list[dict]:
    """Rows of counters beside their ledger sums (ledger_on_hand, ledger_reserved) as one
    mismatch per field that differs."""
    problems = []
    for row in rows:
        for field in ("on_hand", "reserved"):
            counter, summed = getattr(row, field), int(getattr(row, f"ledger_{field}"))
            if counter != summed:
                problems.append({"store_id": row.store_id, "sku_id": row.sku_id, "field": field,
                                 "counter": counter, "ledger": summed})
    return problems


def check_ledger() -> list[dict]:
    """Mismatches as {store_id, sku_id, field, counter, ledger}; empty when all agree.
    `field` is on_hand, reserved, or inventory_row (ledger entries but no row; counter None)."""
    ledger = _ledger_sums()
    on_hand = func.coalesce(ledger.c.on_hand, 0)
    reserved = func.coalesce(ledger.c.reserved, 0)
    keyed = (ledger.c.store_id == Inventory.store_id) & (ledger.c.sku_id == Inventory.sku_id)
    problems = _mismatches(db.session.execute(
        select(Inventory.store_id, Inventory.sku_id, Inventory.on_hand, Inventory.reserved,
               on_hand.label("ledger_on_hand"), reserved.label("ledger_reserved"))
        .outerjoin(ledger, keyed)
        .where(or_(Inventory.on_hand != on_hand, Inventory.reserved != reserved))
        .order_by(Inventory.store_id, Inventory.sku_id)))
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


# --- incremental: the sums through a checkpoint, plus the movements since ------------------------

# Movements commit in any order, so ids below the newest may still be on their way: a
# checkpoint only moves to movements older than this, which have long committed.
SETTLE_S = 300


def check_incremental(now=None) -> tuple[list[dict], int]:
    """The same comparison from the saved sums (StockCheckSum, through movement id
    `StockCheckMark.through_id`) plus the movements after it, in one statement (one
    snapshot of counters and ledger): a nightly run costs the movements since the last.
    A clean run saves the sums through the newest movement older than SETTLE_S.
    Returns (mismatches, movements read)."""
    now = now or utcnow()
    mark = db.session.get(StockCheckMark, "stock")
    through = mark.through_id if mark else 0
    recent = (select(StockMovement.store_id, StockMovement.sku_id,
                     func.sum(StockMovement.delta_on_hand).label("on_hand"),
                     func.sum(StockMovement.delta_reserved).label("reserved"))
              .where(StockMovement.id > through).group_by(StockMovement.store_id, StockMovement.sku_id)
              .subquery("recent"))
    on_hand = func.coalesce(StockCheckSum.on_hand, 0) + func.coalesce(recent.c.on_hand, 0)
    reserved = func.coalesce(StockCheckSum.reserved, 0) + func.coalesce(recent.c.reserved, 0)
    problems = _mismatches(db.session.execute(
        select(Inventory.store_id, Inventory.sku_id, Inventory.on_hand, Inventory.reserved,
               on_hand.label("ledger_on_hand"), reserved.label("ledger_reserved"))
        .outerjoin(StockCheckSum, (StockCheckSum.store_id == Inventory.store_id) & (StockCheckSum.sku_id == Inventory.sku_id))
        .outerjoin(recent, (recent.c.store_id == Inventory.store_id) & (recent.c.sku_id == Inventory.sku_id))
        .where(or_(Inventory.on_hand != on_hand, Inventory.reserved != reserved))
        .order_by(Inventory.store_id, Inventory.sku_id)))
    read = db.session.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.id > through))
    if not problems:
        _advance(through, now)
    return problems, read


def _advance(through: int, now) -> None:
    settled = db.session.scalar(select(func.max(StockMovement.id)).where(
        StockMovement.id > through, StockMovement.at < now - timedelta(seconds=SETTLE_S)))
    if settled is None:
        return
    for row in db.session.execute(
            select(StockMovement.store_id, StockMovement.sku_id, func.sum(StockMovement.delta_on_hand),
                   func.sum(StockMovement.delta_reserved))
            .where(StockMovement.id > through, StockMovement.id <= settled)
            .group_by(StockMovement.store_id, StockMovement.sku_id)):
        saved = db.session.get(StockCheckSum, (row[0], row[1]))
        if saved is None:
            db.session.add(StockCheckSum(store_id=row[0], sku_id=row[1], on_hand=int(row[2]), reserved=int(row[3])))
        else:
            saved.on_hand += int(row[2])
            saved.reserved += int(row[3])
    mark = db.session.get(StockCheckMark, "stock")
    if mark is None:
        db.session.add(StockCheckMark(name="stock", through_id=settled, checked_at=now))
    else:
        mark.through_id, mark.checked_at = settled, now
