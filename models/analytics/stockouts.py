"""How long each SKU sat closed for online ordering at a store, and its stock alerts, in a
range — replayed from the stock level events (`ix_stock_level_events_at`), the same rule
models/stock/levels.py applies: closed on entering closed or critical, open again only
back at normal or tight (red in between changes nothing).

The state when the range begins is the first later event's `from_level` when that says
it; otherwise (the pair was red, or has had no event since) the pair's last decisive
event before, or its current `inventory.online`. Only events from the range's start on
are read, plus one indexed lookup per undecided pair: the cost follows the range.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from models.analytics.calendar import bounds
from models.base import utcnow
from models.stock.levels import LEVELS
from models.stock.tables import Inventory, StockLevelEvent

OFFLINE = {"closed", "critical"}
ONLINE = {"normal", "tight"}
ALERTING = {"red", "closed", "critical"}


def _worse(before: str, after: str) -> bool:
    return before not in LEVELS or LEVELS.index(after) > LEVELS.index(before)


def _offline_before(store_id: int, sku_id: int, start: datetime) -> bool | None:
    level = db.session.scalars(
        select(StockLevelEvent.to_level)
        .where(StockLevelEvent.store_id == store_id, StockLevelEvent.sku_id == sku_id,
               StockLevelEvent.at < start, StockLevelEvent.to_level != "red")
        .order_by(StockLevelEvent.id.desc()).limit(1)).first()
    return None if level is None else level in OFFLINE


def closures(first: date, last: date, store_ids: list[int] | None, now: datetime | None = None) -> dict:
    """{(store_id, sku_id): {"closed_s": seconds closed in the range, "alerts": n}}."""
    start, end = bounds(first)[0], min(bounds(last)[1], now or utcnow())
    if end <= start:
        return {}
    query = select(StockLevelEvent).where(StockLevelEvent.at >= start).order_by(StockLevelEvent.at, StockLevelEvent.id)
    if store_ids is not None:
        query = query.where(StockLevelEvent.store_id.in_(store_ids or [-1]))
    events: dict[tuple[int, int], list[StockLevelEvent]] = {}
    for event in db.session.scalars(query):
        events.setdefault((event.store_id, event.sku_id), []).append(event)
    offline_now = select(Inventory.store_id, Inventory.sku_id).where(Inventory.online.is_(False))
    if store_ids is not None:
        offline_now = offline_now.where(Inventory.store_id.in_(store_ids or [-1]))
    out: dict[tuple[int, int], dict] = {}
    for key in set(events) | {tuple(row) for row in db.session.execute(offline_now)}:
        pair = events.get(key, [])
        if not pair:
            offline = True  # closed now and no change since the range began: closed all along
        elif pair[0].from_level in OFFLINE | ONLINE:
            offline = pair[0].from_level in OFFLINE
        else:
            offline = bool(_offline_before(*key, start))
        closed, since, alerts = 0.0, start, 0
        for event in pair:
            if event.at >= end:
                break
            if event.to_level in ALERTING and _worse(event.from_level, event.to_level):
                alerts += 1  # what models/stock/levels.py alerts staff about
            now_offline = True if event.to_level in OFFLINE else False if event.to_level in ONLINE else offline
            if offline and not now_offline:
                closed += (event.at - since).total_seconds()
            if now_offline and not offline:
                since = event.at
            offline = now_offline
        if offline:
            closed += (end - max(since, start)).total_seconds()
        if closed or alerts:
            out[key] = {"closed_s": int(closed), "alerts": alerts}
    return out
