"""Customers, scored nightly: RFM over a window (`ANALYTICS_RFM_DAYS`, default 365), a
segment, how they collect (stocks up over several visits vs collects at once), and
whether a message could still reach them.

One pass per night over the orders paid in the window (the paid events on
`ix_order_events_at`), per store and over all stores (store 0): recency (days since the
last paid order), frequency (paid orders), monetary (what they paid, less refunds of
orders refunded in full), each scored 1–5 by quintile among the store's customers (ties
share a score: their middle rank's). Segments, first match wins:

  dormant    no paid order for DORMANT_DAYS (90)
  new        first paid order in the last 30 days
  champions  R ≥ 4 and F ≥ 4
  loyal      F ≥ 4
  at_risk    R ≤ 2 and F ≥ 3
  regular    everyone else

Pickup style: `stocks_up` when their pickup orders took 1.5 visits or more on average
(partial pickups), or a pickup card of theirs was redeemed over 14 days or more;
`at_once` when they collected otherwise; `none` without a pickup. Reachable: a subscribe
grant with messages left.

How their stock is held, as the night finds it: `units_held`, units of their paid pickup
orders not yet collected (paid or ready; a partial pickup counts what is left), and
`card_units_held`, goods left on active, unexpired pickup cards they redeemed from in the
window (units left × each unit's quantity), counted for whoever redeemed from the card
last and at that order's store. Both come from the window's own orders, so they cost what
the window costs. The table is replaced whole each night (its cost is the
window's orders and customers, not the history).
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from app.extensions import db
from models.analytics.tables import Customer
from models.cards.tables import Card, CardBatch, CardRedemption, CardStatus
from models.base import utcnow
from models.notifications.tables import SubscribeGrant
from models.orders.status import Status
from models.orders.tables import Order, OrderEvent, OrderItem
from models.pickup.tables import PickupVerification

DORMANT_DAYS = 90
NEW_DAYS = 30
SEGMENTS = ("dormant", "new", "champions", "loyal", "at_risk", "regular")
STYLES = ("stocks_up", "at_once", "none")
ALL_STORES = 0


def _quintile(sorted_values: list[float], value: float) -> int:
    """1–5 by where `value` falls among the sorted values, at the middle of its ties (so a
    crowd of one-order customers scores low, and a lone top value 5)."""
    below = bisect.bisect_left(sorted_values, value)
    upto = bisect.bisect_right(sorted_values, value)
    return max(1, min(5, math.ceil((below + upto) * 5 / (2 * max(1, len(sorted_values))))))


def segment(recency_days: int, first_days: int, r: int, f: int) -> str:
    if recency_days >= DORMANT_DAYS:
        return "dormant"
    if first_days <= NEW_DAYS:
        return "new"
    if r >= 4 and f >= 4:
        return "champions"
    if f >= 4:
        return "loyal"
    if r <= 2 and f >= 3:
        return "at_risk"
    return "regular"


def _holdings(paid: list, now: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Per order of the window: units it still holds for collection, and the goods left on
    the card it was redeemed from (put on the latest such order of each card, so a card is
    counted once, for its latest holder)."""
    open_ids = [row.id for row in paid if row.fulfillment == "pickup"
                and row.status in (Status.paid.value, Status.ready_for_pickup.value)]
    held: dict[int, int] = defaultdict(int)
    for chunk in range(0, len(open_ids), 1000):
        for order_id, qty in db.session.execute(
                select(OrderItem.order_id, func.sum(OrderItem.qty - OrderItem.picked_up_qty))
                .where(OrderItem.order_id.in_(open_ids[chunk:chunk + 1000])).group_by(OrderItem.order_id)):
            held[order_id] += int(qty or 0)
    card_ids = [row.id for row in paid if row.source.startswith("card:")]
    latest: dict[int, tuple[datetime, int]] = {}  # card → (redeemed at, order)
    for chunk in range(0, len(card_ids), 1000):
        for card_id, order_id, at in db.session.execute(
                select(CardRedemption.card_id, CardRedemption.order_id, CardRedemption.at)
                .where(CardRedemption.order_id.in_(card_ids[chunk:chunk + 1000]))):
            if card_id not in latest or (at, order_id) > latest[card_id]:
                latest[card_id] = (at, order_id)
    card_held: dict[int, int] = {}
    cards = sorted(latest)
    for chunk in range(0, len(cards), 1000):
        for card_id, left in db.session.execute(
                select(Card.id, Card.units_left * CardBatch.qty_per_unit)
                .join(CardBatch, CardBatch.id == Card.batch_id)
                .where(Card.id.in_(cards[chunk:chunk + 1000]), Card.status == CardStatus.active.value,
                       Card.units_left > 0, CardBatch.valid_until > now)):
            card_held[latest[card_id][1]] = int(left)
    return held, card_held


def build(window_days: int, now: datetime | None = None) -> dict:
    """Replace the customer rows; the caller commits."""
    now = now or utcnow()
    since = now - timedelta(days=window_days)
    paid = list(db.session.execute(
        select(Order.id, Order.user_id, Order.store_id, Order.payable_fen, Order.status, Order.source,
               Order.fulfillment, OrderEvent.at)
        .join(OrderEvent, OrderEvent.order_id == Order.id)
        .where(OrderEvent.to_status == "paid", OrderEvent.at >= since, OrderEvent.at <= now)))
    order_ids = [row.id for row in paid]
    visits: dict[int, list[datetime]] = defaultdict(list)
    for chunk in range(0, len(order_ids), 1000):
        for order_id, at in db.session.execute(
                select(PickupVerification.order_id, PickupVerification.verified_at)
                .where(PickupVerification.order_id.in_(order_ids[chunk:chunk + 1000]))):
            visits[order_id].append(at)
    held, card_held = _holdings(paid, now)
    users = sorted({row.user_id for row in paid})
    first: dict[int, datetime] = {}
    reachable: set[int] = set()
    for chunk in range(0, len(users), 1000):
        part = users[chunk:chunk + 1000]
        first.update(db.session.execute(  # the first paid order ever: each user's own rows (ix_orders_user_id_id)
            select(Order.user_id, func.min(Order.created_at))
            .where(Order.user_id.in_(part), Order.paid_at.is_not(None)).group_by(Order.user_id)).all())
        reachable.update(db.session.scalars(select(SubscribeGrant.user_id).where(
            SubscribeGrant.user_id.in_(part), SubscribeGrant.remaining > 0)))

    per: dict[tuple[int, int], dict] = {}
    for row in paid:
        for scope in (ALL_STORES, row.store_id):
            c = per.setdefault((scope, row.user_id), {"orders": 0, "monetary_fen": 0, "last": row.at,
                                                      "pickup_orders": 0, "visits": 0, "cards": defaultdict(list),
                                                      "held": 0, "card_held": 0})
            c["orders"] += 1
            c["monetary_fen"] += 0 if row.status == "refunded" else row.payable_fen
            c["last"] = max(c["last"], row.at)
            c["held"] += held.get(row.id, 0)
            c["card_held"] += card_held.get(row.id, 0)
            if row.fulfillment == "pickup" and visits.get(row.id):
                c["pickup_orders"] += 1
                c["visits"] += len(visits[row.id])
                if row.source.startswith("card:"):
                    c["cards"][row.source].extend(visits[row.id])
    by_scope: dict[int, list] = defaultdict(list)
    for (scope, user_id), c in per.items():
        by_scope[scope].append((user_id, c))
    rows = []
    for scope, members in by_scope.items():
        recency = sorted(-(now - c["last"]).total_seconds() for _, c in members)  # recent = high
        frequency = sorted(c["orders"] for _, c in members)
        monetary = sorted(c["monetary_fen"] for _, c in members)
        for user_id, c in members:
            r = _quintile(recency, -(now - c["last"]).total_seconds())
            f = _quintile(frequency, c["orders"])
            m = _quintile(monetary, c["monetary_fen"])
            recency_days = (now - c["last"]).days
            first_days = (now - first.get(user_id, c["last"])).days
            spread = max((max(ts) - min(ts) for ts in c["cards"].values() if ts), default=timedelta(0))
            style = ("none" if not c["pickup_orders"] else
                     "stocks_up" if c["visits"] >= 1.5 * c["pickup_orders"] or spread >= timedelta(days=14)
                     else "at_once")
            rows.append({"store_id": scope, "user_id": user_id, "orders": c["orders"],
                         "monetary_fen": c["monetary_fen"], "last_paid_at": c["last"],
                         "first_order_at": first.get(user_id, c["last"]), "r": r, "f": f, "m": m,
                         "segment": segment(recency_days, first_days, r, f), "pickup_style": style,
                         "pickup_orders": c["pickup_orders"], "visits": c["visits"],
                         "units_held": c["held"], "card_units_held": c["card_held"],
                         "reachable": user_id in reachable, "computed_at": now})
    db.session.execute(delete(Customer))
    for chunk in range(0, len(rows), 1000):
        db.session.execute(insert(Customer), rows[chunk:chunk + 1000])
    return {"customers": len({r["user_id"] for r in rows}), "rows": len(rows), "window_days": window_days}
