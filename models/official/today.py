"""「今日」: today's pickups and sales of a staff member's stores, as a text reply.

"Today" is the Asia/Shanghai calendar day. Counted from the orders' own timestamps:
paid (orders with paid_at today, and the sum of what they paid), picked up
(picked_up_at today) and completed (completed_at today). An order paid today and
refunded later still counts as paid today: this is the day's takings, not a ledger.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.orders.tables import Order
from models.staff.abilities import acting_store_ids
from models.staff.tables import Staff
from models.stores import Store

CHINA = ZoneInfo("Asia/Shanghai")
MAX_STORES_LISTED = 15  # a passive reply is short text; the total covers the rest


def day_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of today in Asia/Shanghai, as aware UTC-comparable datetimes."""
    local = (now or utcnow()).astimezone(CHINA)
    start = datetime.combine(local.date(), time(0), tzinfo=CHINA)
    return start, start + timedelta(days=1)


def stores_of(staff: Staff) -> list[Store]:
    query = select(Store).order_by(Store.id)
    store_ids = acting_store_ids(staff)  # None: every store, of which the active ones
    if store_ids is None:
        query = query.where(Store.active.is_(True))
    else:
        query = query.where(Store.id.in_(store_ids or [-1]))
    return list(db.session.scalars(query))


def figures(store_ids: list[int], now: datetime | None = None) -> dict[int, dict]:
    """{store_id: {"paid": n, "paid_fen": sum, "picked_up": n, "completed": n}}."""
    start, end = day_bounds(now)
    out = {sid: {"paid": 0, "paid_fen": 0, "picked_up": 0, "completed": 0} for sid in store_ids}
    if not store_ids:
        return out
    in_stores = Order.store_id.in_(store_ids)
    for sid, count, fen in db.session.execute(
            select(Order.store_id, func.count(), func.coalesce(func.sum(Order.payable_fen), 0))
            .where(in_stores, Order.paid_at >= start, Order.paid_at < end)
            .group_by(Order.store_id)):
        out[sid].update(paid=count, paid_fen=int(fen))
    for column, name in ((Order.picked_up_at, "picked_up"), (Order.completed_at, "completed")):
        for sid, count in db.session.execute(
                select(Order.store_id, func.count())
                .where(in_stores, column >= start, column < end).group_by(Order.store_id)):
            out[sid][name] = count
    return out


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _line(label: str, f: dict) -> str:
    return (f"{label}：付款 {f['paid']} 单 {yuan(f['paid_fen'])}｜提货 {f['picked_up']} 单"
            f"｜完成 {f['completed']} 单")


def report(staff: Staff, now: datetime | None = None) -> str:
    now = now or utcnow()
    stores = stores_of(staff)
    local = now.astimezone(CHINA)
    head = f"今日 {local.month}月{local.day}日（截至 {local:%H:%M}）"
    if not stores:
        return head + "\n你还没有绑定门店。"
    data = figures([s.id for s in stores], now)
    lines = [head] + [_line(s.name, data[s.id]) for s in stores[:MAX_STORES_LISTED]]
    if len(stores) > MAX_STORES_LISTED:
        lines.append(f"……另有 {len(stores) - MAX_STORES_LISTED} 家门店")
    if len(stores) > 1:
        total = {k: sum(d[k] for d in data.values()) for k in ("paid", "paid_fen", "picked_up", "completed")}
        lines.append(_line("合计", total))
    return "\n".join(lines)
