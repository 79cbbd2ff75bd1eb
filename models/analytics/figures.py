"""One business day's figures per store, from the raw tables.

Every order status change is an OrderEvent stamped with when it happened (a payment with
WeChat Pay's success time), so a day's moves are the events in its bounds: one range read
on `ix_order_events_at`, joined to the order for its store and amount, whatever the size
of the history. What each figure counts:

- placed / placed_fen: orders placed that day and what they asked for;
- paid / paid_fen (GMV): orders paid that day and what was paid (an order's payable_fen:
  a payment of another amount never moves the order to paid);
- cancelled, with who cancelled (the shopper, staff, or the system at the pay deadline);
- ready, picked_up (the whole order; partial pickups are in the pickup ledger), shipped,
  delivered, completed, pickup_expired: orders that reached that state that day;
- pickup_visits / partial_visits: hand-overs at the counter that day (the verification
  ledger, `ix_pickup_verifications_verified_at`), and those that left something to
  collect later (partial pickups);
- new_buyers / returning_buyers: the shoppers who paid that day, by whether it was their
  first paid order anywhere (an earlier one looked up on `ix_orders_user_id_id`). Per day:
  over a range a shopper counts once for each day they paid;
- refunds / refunded_fen: refunds that succeeded that day (the day the money left, as on
  WeChat Pay's bill), whichever day the order was paid.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from models.analytics.calendar import bounds
from models.orders.tables import Order, OrderEvent
from models.payments.tables import Refund
from models.pickup.tables import PickupVerification

FIELDS = ("placed", "placed_fen", "paid", "paid_fen", "cancelled", "cancelled_by_shopper",
          "cancelled_by_staff", "cancelled_by_system", "ready", "picked_up", "shipped", "delivered",
          "completed", "pickup_expired", "pickup_visits", "partial_visits", "new_buyers", "returning_buyers",
          "refunds", "refunded_fen")

# to_status → (count field, amount field or None)
_MOVES = {
    "pending_payment": ("placed", "placed_fen"),
    "paid": ("paid", "paid_fen"),
    "cancelled": ("cancelled", None),
    "ready_for_pickup": ("ready", None),
    "picked_up": ("picked_up", None),
    "shipped": ("shipped", None),
    "delivered": ("delivered", None),
    "completed": ("completed", None),
    "pickup_expired": ("pickup_expired", None),
}
_CANCELLED_BY = {"user": "cancelled_by_shopper", "staff": "cancelled_by_staff", "system": "cancelled_by_system"}


def blank() -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0)


def of_day(day: date, store_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """{store_id: figures} for the stores with anything that day (None: every store)."""
    start, end = bounds(day)
    out: dict[int, dict[str, int]] = {}

    def row(store_id: int) -> dict[str, int]:
        return out.setdefault(store_id, blank())

    # STRAIGHT_JOIN (MariaDB): the day's events first, then their orders by key. With a
    # store filter the optimizer otherwise reads the stores' orders from the first one on
    # and looks up their events (a scan of the history: 0.1 s at 10^4 orders, seconds at 10^6).
    moves = (select(Order.store_id, OrderEvent.to_status, OrderEvent.actor_type, func.count(),
                    func.coalesce(func.sum(Order.payable_fen), 0))
             .prefix_with("STRAIGHT_JOIN", dialect="mysql")
             .join(Order, Order.id == OrderEvent.order_id)
             .where(OrderEvent.at >= start, OrderEvent.at < end)
             .group_by(Order.store_id, OrderEvent.to_status, OrderEvent.actor_type))
    refunds = (select(Order.store_id, func.count(), func.coalesce(func.sum(Refund.amount_fen), 0))
               .prefix_with("STRAIGHT_JOIN", dialect="mysql")
               .join(Order, Order.id == Refund.order_id)
               .where(Refund.status == "success", Refund.succeeded_at >= start, Refund.succeeded_at < end)
               .group_by(Order.store_id))
    if store_ids is not None:
        moves = moves.where(Order.store_id.in_(store_ids or [-1]))
        refunds = refunds.where(Order.store_id.in_(store_ids or [-1]))
    for store_id, to_status, actor_type, count, fen in db.session.execute(moves):
        fields = _MOVES.get(to_status)
        if fields is None:  # refunding / refunded: counted from the refunds themselves
            continue
        figures = row(store_id)
        figures[fields[0]] += count
        if fields[1]:
            figures[fields[1]] += int(fen)
        if to_status == "cancelled" and actor_type in _CANCELLED_BY:
            figures[_CANCELLED_BY[actor_type]] += count
    for store_id, count, fen in db.session.execute(refunds):
        row(store_id).update(refunds=count, refunded_fen=int(fen))
    visits = (select(PickupVerification.store_id, PickupVerification.partial, func.count())
              .where(PickupVerification.verified_at >= start, PickupVerification.verified_at < end)
              .group_by(PickupVerification.store_id, PickupVerification.partial))
    if store_ids is not None:
        visits = visits.where(PickupVerification.store_id.in_(store_ids or [-1]))
    for store_id, partial, count in db.session.execute(visits):
        figures = row(store_id)
        figures["pickup_visits"] += count
        if partial:
            figures["partial_visits"] += count
    earlier = aliased(Order)
    returning = (select(earlier.id).where(earlier.user_id == Order.user_id, earlier.id < Order.id,
                                          earlier.paid_at.is_not(None)).exists())
    buyers = (select(Order.store_id, Order.user_id, returning.label("had_paid"))
              .select_from(OrderEvent).prefix_with("STRAIGHT_JOIN", dialect="mysql")
              .join(Order, Order.id == OrderEvent.order_id)
              .where(OrderEvent.at >= start, OrderEvent.at < end, OrderEvent.to_status == "paid"))
    if store_ids is not None:
        buyers = buyers.where(Order.store_id.in_(store_ids or [-1]))
    seen: dict[tuple[int, int], bool] = {}
    for store_id, user_id, was_returning in db.session.execute(buyers):
        key = (store_id, user_id)
        seen[key] = seen.get(key, True) and bool(was_returning)  # new if any of the day's was their first
    for (store_id, _), was_returning in seen.items():
        row(store_id)["returning_buyers" if was_returning else "new_buyers"] += 1
    return out


def add(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for name in FIELDS:
        into[name] += more.get(name, 0)
    return into


def derived(figures: dict[str, int]) -> dict[str, int]:
    """The figures plus what follows from them: net revenue (paid − refunded) and the
    average order value (whole fen, rounded down)."""
    paid = figures["paid"]
    return {**figures, "net_fen": figures["paid_fen"] - figures["refunded_fen"],
            "average_order_fen": figures["paid_fen"] // paid if paid else 0}
