"""Stock holds for orders: reserve, release, deduct — guarded updates on the counters,
one ledger row per change, rows always locked in (store, SKU) order so two orders that
touch the same SKUs can never deadlock.

`available = on_hand - reserved` can't go negative: every update carries its own guard
(`WHERE on_hand - reserved >= qty`), checked by row count; CHECK constraints are the
last line behind it.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from sqlalchemy import bindparam, select, update

from app.extensions import db
from app.tasks import after_commit
from app.sqlbatch import Batch, joining
from models.stock import flash_sale, levels
from models.stock.errors import OutOfStock
from models.stock.tables import Inventory, StockMovement

# Core tables: these run inside every order, so they skip the ORM's per-statement work
# (nothing here needs identity-mapped objects).
INV, MOVES = Inventory.__table__, StockMovement.__table__


_READ = (select(INV.c.id, INV.c.sku_id, INV.c.on_hand, INV.c.reserved, INV.c.baseline,
                INV.c.level, INV.c.online)
         .where(INV.c.store_id == bindparam("store_id"),
                INV.c.sku_id.in_(bindparam("sku_ids", expanding=True))))
_HOLD = (update(INV)
         .where(INV.c.store_id == bindparam("s"), INV.c.sku_id == bindparam("k"),
                INV.c.online.is_(True), INV.c.on_hand - INV.c.reserved >= bindparam("q"))
         .values(reserved=INV.c.reserved + bindparam("q")))
# The same hold, taken only if the row keeps its alert level: the common case, which then
# needs no level evaluation (see levels.keeps_level).
_HOLD_SAME_LEVEL = _HOLD.where(levels.keeps_level(INV, INV.c.on_hand - INV.c.reserved - bindparam("q")))
_LEDGER = MOVES.insert()
# Giving back or handing over held units: guarded by the hold being there.
_RELEASE = (update(INV).where(INV.c.store_id == bindparam("s"), INV.c.sku_id == bindparam("k"),
                              INV.c.reserved >= bindparam("q"))
            .values(reserved=INV.c.reserved - bindparam("q")))
_DEDUCT = _RELEASE.values(on_hand=INV.c.on_hand - bindparam("q"))


def _conn():
    return db.session.connection()


Lines = Iterable[tuple[int, int]]  # (sku_id, qty), SKUs that hold stock (not bundles)


def _merge(lines: Lines) -> list[tuple[int, int]]:
    merged: dict[int, int] = {}
    for sku_id, qty in lines:
        merged[sku_id] = merged.get(sku_id, 0) + qty
    # A line with nothing left (fully picked up) holds nothing: no update, no ledger row.
    return sorted((sku_id, qty) for sku_id, qty in merged.items() if qty)


class StockRow(NamedTuple):
    id: int
    sku_id: int
    on_hand: int
    reserved: int
    baseline: int
    level: str
    online: bool


def read_rows(store_id: int, sku_ids: list[int]) -> dict[int, StockRow]:
    """This store's stock rows of these SKUs as they are now, without locking them: for
    checks that fail fast. The guarded update in `reserve` is what decides."""
    if not sku_ids:
        return {}
    rows = _conn().execute(_READ, {"store_id": store_id, "sku_ids": sorted(set(sku_ids))}).all()
    return {row.sku_id: StockRow(*row) for row in rows}


def reserve(store_id: int, lines: Lines, *, order_id: int | None, reason: str = "reserve",
            writes: Batch | None = None) -> None:
    """Hold stock for an order; raises OutOfStock (naming the SKU) if any line can't be held.

    Call it last in the transaction: its guarded updates take the rows' locks, held until
    commit, so a hot SKU's orders queue only for the update and the commit, not for the
    whole order. A hold that keeps the row's alert level is one UPDATE; one that crosses a
    boundary (or finds too little stock) takes a second, plain one and re-evaluates.
    The ledger rows and the holds go in one round trip, after what `writes` already holds.
    """
    merged = _merge(lines)
    batch = writes if writes is not None else Batch()
    _ledger(store_id, merged, order_id, reason, on_hand=0, reserved=+1, writes=batch)
    holds = [(sku_id, qty, batch.add(_HOLD_SAME_LEVEL, {"s": store_id, "k": sku_id, "q": qty}))
             for sku_id, qty in merged]
    done = batch.run()
    crossed = []
    for sku_id, qty, i in holds:
        if done[i].rowcount == 1:
            continue
        if _conn().execute(_HOLD, {"s": store_id, "k": sku_id, "q": qty}).rowcount != 1:
            raise OutOfStock(details={"sku_id": sku_id, "requested": qty})
        crossed.append(sku_id)
    if crossed:
        levels.after_change(store_id, crossed)


def release(store_id: int, lines: Lines, *, order_id: int | None, reason: str) -> None:
    """Give held stock back (cancel, timeout, expiry, refund before hand-over)."""
    merged = _merge(lines)
    with joining(None) as batch:  # the counters and their ledger rows: one round trip
        _unhold(store_id, merged, _RELEASE, batch)
        _ledger(store_id, merged, order_id, reason, on_hand=0, reserved=-1, writes=batch)
    levels.after_change(store_id, [sku_id for sku_id, _ in merged])
    # Units back in the database go back to a flash-sale gate too (a no-op when it's off).
    gate = flash_sale.gate()
    after_commit(lambda: gate.release(store_id, merged))


def deduct(store_id: int, lines: Lines, *, order_id: int | None, reason: str,
           writes: Batch | None = None) -> None:
    """Held stock leaves the store (picked up, shipped): on_hand and reserved both drop.
    With `writes`, added to that batch for the caller to run."""
    merged = _merge(lines)
    with joining(writes) as batch:
        _unhold(store_id, merged, _DEDUCT, batch)
        _ledger(store_id, merged, order_id, reason, on_hand=-1, reserved=-1, writes=batch)
    # available = on_hand - reserved is unchanged, so no alert level can move.


def _unhold(store_id: int, merged: list[tuple[int, int]], statement, batch: Batch) -> None:
    for sku_id, qty in merged:
        # A hold we recorded is missing: the ledger and counters disagree. Refuse loudly
        # rather than drive a counter negative.
        batch.add(statement, {"s": store_id, "k": sku_id, "q": qty},
                  one_row=f"stock hold missing for store {store_id} sku {sku_id}")


def _ledger(store_id, merged, order_id, reason, *, on_hand: int, reserved: int, writes: Batch) -> None:
    writes.add_all(_LEDGER, [{"store_id": store_id, "sku_id": sku_id, "order_id": order_id, "reason": reason,
                              "delta_on_hand": on_hand * qty, "delta_reserved": reserved * qty}
                             for sku_id, qty in merged])


def put_back(store_id: int, lines: Lines, *, order_id: int | None, reason: str) -> None:
    """Units that came back (an after-sale's return the clerk found resellable) are on the
    shelf again: on_hand rises, with its ledger row. Nothing was held for them."""
    merged = _merge(lines)
    with joining(None) as batch:
        for sku_id, qty in merged:
            batch.add(_PUT_BACK, {"s": store_id, "k": sku_id, "q": qty},
                      one_row=f"no stock row for store {store_id} sku {sku_id}")
        _ledger(store_id, merged, order_id, reason, on_hand=+1, reserved=0, writes=batch)
    levels.after_change(store_id, [sku_id for sku_id, _ in merged])
    gate = flash_sale.gate()
    after_commit(lambda: gate.release(store_id, merged))


_PUT_BACK = (update(INV).where(INV.c.store_id == bindparam("s"), INV.c.sku_id == bindparam("k"))
             .values(on_hand=INV.c.on_hand + bindparam("q")))
