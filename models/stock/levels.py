"""Stock alert levels per (store, SKU), relative to the baseline the store is stocked up to.

`after_change` runs inside every stock operation, in the caller's transaction, after the
caller's guarded update: the caller already holds the rows' locks, so a plain read sees the
current counters and two orders can't evaluate the same row at once. When no level changes
it costs one SELECT and nothing else. Order placement skips even that: its hold carries
`keeps_level` in its WHERE clause, and only a hold that crosses a level boundary (or
finds no stock) falls back to the plain update plus `after_change`.

Level changes are what the rest reacts to (and only they write anything):
- any change: inventory.level and a StockLevelEvent;
- into red or worse from normal/tight: a replenishment request (one live — open or
  accepted — per store+SKU; a rejected one does not stop the next);
- into closed/critical: online ordering of the SKU at the store closes (inventory.online);
- back to normal/tight (above 10 %): online reopens, open and accepted requests are fulfilled;
- into critical: a transfer proposal from the nearest other active store with surplus;
- worse, into red, closed or critical: a staff alert (outbox `staff_alert`, event
  `stock_level`) for the store's managers and the admins.
Between 5 % and 10 % (red) `online` keeps whatever it was: a store that closed reopens
only once it is back above 10 %, so it does not flap open/closed around 5 %.
"""
from __future__ import annotations

import logging

from sqlalchemy import case, select, true, update

from app.db import each_in_own_transaction, own_transaction
from app.extensions import db
from models import outbox
from models.partners import events as partner_events
from models.stock.status import PROPOSALS, REPLENISHMENT, REPLENISHMENT_LIVE
from models.stock.tables import (Inventory, ReplenishmentRequest, StockLevelEvent,
                                 TransferProposal)
from models.stores import Store, haversine_m

log = logging.getLogger(__name__)

LEVELS = ("normal", "tight", "red", "closed", "critical")  # best to worst
_BAD = {"red", "closed", "critical"}      # a replenishment request is open
_OFFLINE = {"closed", "critical"}         # online ordering closed
_ONLINE = {"normal", "tight"}             # online ordering (re)opened
SAFE_PCT = 30                             # "normal" starts here; transfers aim for it


def level_for(available: int, baseline: int) -> str:
    """The level of `available` against `baseline`, in integers (no float rounding).

    Boundaries (ratio = available / baseline): ratio ≥ 30 % normal; 10 % < ratio < 30 %
    tight; 5 % < ratio ≤ 10 % red; 1 % < ratio ≤ 5 % closed; ratio ≤ 1 % critical. So
    exactly 30 % is normal, exactly 10 % red, exactly 5 % closed, exactly 1 % critical.
    No baseline (0) means the store does not manage this SKU's level: always normal.
    """
    if baseline <= 0:
        return "normal"
    scaled = max(available, 0) * 100
    if scaled >= baseline * SAFE_PCT:
        return "normal"
    if scaled > baseline * 10:
        return "tight"
    if scaled > baseline * 5:
        return "red"
    if scaled > baseline * 1:
        return "closed"
    return "critical"


def keeps_level(inv, available_after):
    """SQL: true when the row's stored level is still `level_for(available_after, baseline)`
    after a change that only lowers available — the same boundaries as `level_for`, in SQL,
    so the check rides on the guarded update instead of costing a read."""
    scaled, base = available_after * 100, inv.c.baseline
    return case(
        (base <= 0, inv.c.level == "normal"),
        (inv.c.level == "normal", scaled >= base * SAFE_PCT),
        (inv.c.level == "tight", scaled > base * 10),
        (inv.c.level == "red", scaled > base * 5),
        (inv.c.level == "closed", scaled > base * 1),
        (inv.c.level == "critical", true()),
        else_=False)


def safe_floor(baseline: int) -> int:
    """The smallest available that is at or above 30 % of baseline (a ceiling division)."""
    return -(-baseline * SAFE_PCT // 100)


def after_change(store_id: int, sku_ids: list[int]) -> None:
    """Re-evaluate the alert level of these (store, SKU) rows after their stock changed."""
    if not sku_ids:
        return
    # Columns, not entities: identity-mapped Inventory objects may be stale after the
    # callers' Core updates, and this must read the counters as they are now.
    rows = db.session.execute(
        select(Inventory.id, Inventory.sku_id, Inventory.on_hand, Inventory.reserved,
               Inventory.baseline, Inventory.level)
        .where(Inventory.store_id == store_id, Inventory.sku_id.in_(sorted(set(sku_ids))))
    ).all()
    for row in rows:
        available = max(row.on_hand - row.reserved, 0)
        new = level_for(available, row.baseline)
        if new != row.level:
            _level_changed(store_id, row, row.level, new, available)


def _level_changed(store_id: int, row, old: str, new: str, available: int) -> None:
    values = {"level": new}
    if new in _OFFLINE:
        values["online"] = False
    elif new in _ONLINE:
        values["online"] = True
    # ORM-enabled update: the default synchronisation also refreshes a loaded Inventory
    # object (a handler may serialise it right after), at no extra SQL.
    db.session.execute(update(Inventory).where(Inventory.id == row.id).values(**values))
    level_event = StockLevelEvent(store_id=store_id, sku_id=row.sku_id, from_level=old,
                                  to_level=new, available=available, baseline=row.baseline)
    db.session.add(level_event)
    partner_events.emit("stock.level_changed", "stock", f"{store_id}:{row.sku_id}", store_id,
                        {"store_id": store_id, "sku_id": row.sku_id, "from_level": old, "to_level": new,
                         "available": available, "baseline": row.baseline})
    this_row = (ReplenishmentRequest.store_id == store_id, ReplenishmentRequest.sku_id == row.sku_id)
    if new in _BAD and old not in _BAD:
        already = db.session.scalar(select(ReplenishmentRequest.id).where(
            *this_row, ReplenishmentRequest.status.in_(REPLENISHMENT_LIVE)).limit(1))
        if already is None:
            db.session.add(ReplenishmentRequest(
                store_id=store_id, sku_id=row.sku_id, status=REPLENISHMENT.initial_status("open"),
                qty_suggested=row.baseline - available))
    elif new in _ONLINE and old in _BAD:
        REPLENISHMENT.move_all("fulfil", *this_row)
    if new == "critical":
        _propose_transfer(store_id, row.sku_id, safe_floor(row.baseline) - available)
    db.session.flush()
    if new in _BAD and LEVELS.index(new) > LEVELS.index(old):
        outbox.enqueue("staff_alert", {"event": "stock_level", "store_id": store_id,
                                       "sku_id": row.sku_id, "level": new, "available": available,
                                       "baseline": row.baseline, "level_event_id": level_event.id},
                       dedupe_key=f"stock_level:{level_event.id}")


def _propose_transfer(to_store_id: int, sku_id: int, needed: int) -> None:
    """A proposal from the nearest other active store that can give without dropping
    below 30 % of its own baseline; nothing if none can (or one is already proposed)."""
    if needed <= 0:
        return
    pending = db.session.scalar(select(TransferProposal.id).where(
        TransferProposal.to_store_id == to_store_id, TransferProposal.sku_id == sku_id,
        TransferProposal.status == "proposed").limit(1))
    if pending is not None:
        return
    here = db.session.execute(select(Store.lat, Store.lng).where(Store.id == to_store_id)).one()
    # Every other active store holding this SKU, in one query; tens of stores, so the
    # distance is computed here rather than in SQL.
    donors = db.session.execute(
        select(Store.id, Store.lat, Store.lng, Inventory.on_hand, Inventory.reserved,
               Inventory.baseline)
        .join(Inventory, Inventory.store_id == Store.id)
        .where(Inventory.sku_id == sku_id, Store.id != to_store_id, Store.active.is_(True))
    ).all()
    best = None
    for d in donors:
        surplus = (d.on_hand - d.reserved) - safe_floor(d.baseline)
        if surplus <= 0:
            continue
        distance = haversine_m(here.lat, here.lng, d.lat, d.lng)
        if best is None or (distance, d.id) < (best[0], best[1]):
            best = (distance, d.id, surplus)
    if best is None:
        return
    distance, from_store_id, surplus = best
    db.session.add(TransferProposal(
        from_store_id=from_store_id, to_store_id=to_store_id, sku_id=sku_id,
        qty=min(needed, surplus), distance_m=distance, status=PROPOSALS.initial_status("proposed")))


def reevaluate_all(batch: int = 500) -> int:
    """The periodic safety net: every row whose stored level disagrees with its counters
    (only a change made outside `models/` could cause that) is re-evaluated under its
    row lock, exactly as a stock change would. Returns how many were repaired."""
    repaired, after_id = 0, 0
    while True:
        with own_transaction():  # a read: no locks kept while we go on
            rows = db.session.execute(
                select(Inventory.id, Inventory.store_id, Inventory.sku_id, Inventory.on_hand,
                       Inventory.reserved, Inventory.baseline, Inventory.level)
                .where(Inventory.id > after_id).order_by(Inventory.id).limit(batch)).all()
        if not rows:
            break
        after_id = rows[-1].id
        drifted = [row for row in rows if level_for(max(row.on_hand - row.reserved, 0), row.baseline) != row.level]
        repaired += each_in_own_transaction(drifted, _repair, what="stock level repair")
    if repaired:
        log.warning("stock levels: %s row(s) had drifted and were re-evaluated", repaired)
    return repaired


def _repair(row) -> bool:
    db.session.execute(select(Inventory.id).where(Inventory.id == row.id).with_for_update())
    after_change(row.store_id, [row.sku_id])
    return True
