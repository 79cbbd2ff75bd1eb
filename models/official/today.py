"""「今日」: today's pickups and sales of a staff member's stores, as a text reply.

"Today" is the Asia/Shanghai calendar day. The figures are the dashboard's (the same
computation, models/analytics/figures.py, from the day's order events on an index, so a
reply costs today's orders, not the history): paid (orders paid today, and what they
paid), picked up and completed today. An order paid today and refunded later still
counts as paid today: this is the day's takings, not a ledger.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from models.analytics import calendar
from models.analytics.figures import of_day
from models.base import utcnow
from models.staff.abilities import acting_store_ids
from models.staff.tables import Staff
from models.stores import Store

CHINA = calendar.CHINA
MAX_STORES_LISTED = 15  # a passive reply is short text; the total covers the rest


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
    out = {sid: {"paid": 0, "paid_fen": 0, "picked_up": 0, "completed": 0} for sid in store_ids}
    if not store_ids:
        return out
    for sid, day in of_day(calendar.today(now), store_ids).items():
        out[sid].update({name: day[name] for name in out[sid]})
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
