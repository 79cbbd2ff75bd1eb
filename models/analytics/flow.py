"""How orders flow, per store and business day: how long each step took, and what became
of the orders placed that day.

Time in state — for each step below, the orders that completed it that day (their event
on `ix_order_events_at`) and how long it took since the step before, as a digest
(digest.py):

  pay      placed → paid            (created_at → the paid event)
  ready    paid → ready for pickup  (paid_at → the ready event)
  pickup   ready → picked up        (ready_at → the picked-up event: the whole order)
  ship     paid → shipped           (paid_at → the shipped event)
  deliver  shipped → delivered      (shipped_at → the delivered event)

Funnel — the orders placed that day (their placement event), by what they have become:
placed; paid; prepared (made ready, or shipped); collected (picked up, or delivered);
kept (collected and not refunded in full); and where the others were lost: cancelled
unpaid, expired uncollected, refunded (in full, without expiring). The rest are still on
their way. A placement day's funnel keeps changing for days; the rollup window rebuilds it.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from models.analytics import digest
from models.analytics.calendar import bounds
from models.orders.tables import Order, OrderEvent

STEPS = {  # step → (the event's to_status, the order column it started at)
    "pay": ("paid", "created_at"),
    "ready": ("ready_for_pickup", "paid_at"),
    "pickup": ("picked_up", "ready_at"),
    "ship": ("shipped", "paid_at"),
    "deliver": ("delivered", "shipped_at"),
}
_BY_STATUS = {to_status: (step, column) for step, (to_status, column) in STEPS.items()}

FUNNEL = ("placed", "paid", "prepared", "collected", "kept", "lost_unpaid", "lost_expired", "lost_refunded")


def durations_of_day(day: date, store_ids: list[int] | None = None) -> dict[tuple[int, str], dict[int, int]]:
    """{(store_id, step): digest} of the steps completed that day."""
    start, end = bounds(day)
    query = (select(Order.store_id, OrderEvent.to_status, OrderEvent.at, Order.created_at, Order.paid_at,
                    Order.ready_at, Order.shipped_at)
             .prefix_with("STRAIGHT_JOIN", dialect="mysql")  # the day's events first (figures.py says why)
             .join(Order, Order.id == OrderEvent.order_id)
             .where(OrderEvent.at >= start, OrderEvent.at < end, OrderEvent.to_status.in_(list(_BY_STATUS))))
    if store_ids is not None:
        query = query.where(Order.store_id.in_(store_ids or [-1]))
    out: dict[tuple[int, str], dict[int, int]] = {}
    for row in db.session.execute(query):
        step, column = _BY_STATUS[row.to_status]
        began = getattr(row, column)
        if began is None:
            continue
        digest.add(out.setdefault((row.store_id, step), {}), max(0.0, (row.at - began).total_seconds()))
    return out


def funnel_of_day(day: date, store_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """{store_id: funnel} of the orders placed that day."""
    start, end = bounds(day)
    placed = (select(OrderEvent.order_id)
              .where(OrderEvent.at >= start, OrderEvent.at < end, OrderEvent.to_status == "pending_payment"))
    query = (select(Order.id, Order.store_id, Order.status, Order.paid_at, Order.ready_at, Order.shipped_at,
                    Order.picked_up_at, Order.delivered_at, Order.cancelled_at)
             .where(Order.id.in_(placed)))
    if store_ids is not None:
        query = query.where(Order.store_id.in_(store_ids or [-1]))
    expired = set(db.session.scalars(select(OrderEvent.order_id).where(
        OrderEvent.order_id.in_(placed), OrderEvent.to_status == "pickup_expired")))
    out: dict[int, dict[str, int]] = {}
    for o in db.session.execute(query):
        f = out.setdefault(o.store_id, dict.fromkeys(FUNNEL, 0))
        f["placed"] += 1
        refunded = o.status in ("refunding", "refunded")
        collected = o.picked_up_at is not None or o.delivered_at is not None
        f["paid"] += o.paid_at is not None
        f["prepared"] += o.ready_at is not None or o.shipped_at is not None
        f["collected"] += collected
        f["kept"] += collected and not refunded
        f["lost_unpaid"] += o.cancelled_at is not None
        f["lost_expired"] += o.id in expired
        f["lost_refunded"] += refunded and o.id not in expired and not collected
    return out
