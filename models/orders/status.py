"""The order state machine: the table of allowed moves (models.state_machine does the
moving: a guarded update plus an OrderEvent; a repeat is ignored)."""
from __future__ import annotations

import enum
from datetime import datetime

from app.sqlbatch import Batch
from models import state_machine
from models.orders.tables import Order, OrderEvent
from models.partners import events as partner_events
from models.state_machine import SYSTEM, Actor, History, Machine, Move, Outcome

__all__ = ["Status", "TRANSITIONS", "ORDERS", "HOLDING", "LIVE", "InvalidTransition", "Outcome", "Actor",
           "SYSTEM", "transition", "transition_locked"]


class Status(str, enum.Enum):
    pending_payment = "pending_payment"
    paid = "paid"
    ready_for_pickup = "ready_for_pickup"
    picked_up = "picked_up"
    shipped = "shipped"
    delivered = "delivered"
    completed = "completed"
    cancelled = "cancelled"
    pickup_expired = "pickup_expired"
    refunding = "refunding"
    refunded = "refunded"


S = Status
_PAID_STATES = (S.paid, S.ready_for_pickup, S.picked_up, S.shipped, S.delivered, S.completed,
                S.pickup_expired)

# action → the statuses it may start from, the status it leads to, the timestamp it sets
TRANSITIONS: dict[str, Move] = {
    "pay":            Move((S.pending_payment,), S.paid, "paid_at"),
    "cancel":         Move((S.pending_payment,), S.cancelled, "cancelled_at"),
    "mark_ready":     Move((S.paid,), S.ready_for_pickup, "ready_at"),
    "pick_up":        Move((S.ready_for_pickup,), S.picked_up, "picked_up_at"),
    "ship":           Move((S.paid,), S.shipped, "shipped_at"),
    "mark_delivered": Move((S.shipped,), S.delivered, "delivered_at"),
    "complete":       Move((S.picked_up, S.shipped, S.delivered), S.completed, "completed_at"),
    "expire_pickup":  Move((S.ready_for_pickup,), S.pickup_expired),
    "start_refund":   Move(_PAID_STATES, S.refunding),
    "finish_refund":  Move((S.refunding, S.pickup_expired), S.refunded),
}

# Order statuses whose stock is still held (reserved, not yet handed over or released).
HOLDING = frozenset({S.pending_payment, S.paid, S.ready_for_pickup})
# Statuses that count toward a shopper's purchase limit.
LIVE = frozenset(Status) - {S.cancelled, S.refunded}


class InvalidTransition(state_machine.InvalidTransition):
    message = "The order cannot do that in its current state."


# Placement writes the first row (pending_payment) and its "placed" event itself.
ORDERS = Machine(Order, TRANSITIONS, states=Status, initial=(S.pending_payment,),
                 history=History(OrderEvent.__table__, "order_id"), error=InvalidTransition)


def transition(order: Order, action: str, actor: Actor, *, reason: str | None = None,
               at: datetime | None = None, **fields) -> Outcome:
    """Move `order` by `action`. Applies once; a repeat is ignored; anything else raises
    InvalidTransition. `fields` are other columns set in the same guarded update."""
    outcome = ORDERS.move(order, action, actor, note=reason, at=at, **fields)
    if outcome.applied:  # partners hear of a move once, in its transaction
        partner_events.order_moved(order, action, outcome.status.value)
    return outcome


def transition_locked(order, action: str, actor: Actor, writes: Batch, *, reason: str | None = None,
                      at: datetime | None = None, **fields) -> dict:
    """`transition` for a caller that read `order` (any object with id and status) with a
    locking read: the move is decided now, and its guarded update and event are added to
    `writes` for the caller to run with its other rows. `fields`: other columns set in the
    same update. Returns the columns it sets."""
    values = ORDERS.move_locked(order, action, writes, actor, note=reason, at=at, **fields)
    # Written now, ahead of the caller's batch: the caller holds the order's lock, and a
    # batch that fails rolls the whole transaction back, this event with it.
    partner_events.order_moved(order, action, values["status"].value if hasattr(values["status"], "value")
                               else values["status"])
    return values
