"""The order state machine: one table of allowed moves and the only code that changes
`orders.status`.

Every move is a guarded update (`WHERE id = ? AND status = ?`, row count checked) plus
an OrderEvent. A move that was already made (a second cancel, a duplicate notify) is
*ignored*: it changes nothing and is answered as such, never applied twice.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update

from app.errors import AppError
from app.extensions import db
from app.sqlbatch import Batch
from models.base import mirror, utcnow
from models.orders.tables import Order, OrderEvent


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

# action → (statuses it may start from, status it leads to, timestamp column it sets)
TRANSITIONS: dict[str, tuple[tuple[Status, ...], Status, str | None]] = {
    "pay":            ((S.pending_payment,), S.paid, "paid_at"),
    "cancel":         ((S.pending_payment,), S.cancelled, "cancelled_at"),
    "mark_ready":     ((S.paid,), S.ready_for_pickup, "ready_at"),
    "pick_up":        ((S.ready_for_pickup,), S.picked_up, "picked_up_at"),
    "ship":           ((S.paid,), S.shipped, "shipped_at"),
    "mark_delivered": ((S.shipped,), S.delivered, "delivered_at"),
    "complete":       ((S.picked_up, S.shipped, S.delivered), S.completed, "completed_at"),
    "expire_pickup":  ((S.ready_for_pickup,), S.pickup_expired, None),
    "start_refund":   (_PAID_STATES, S.refunding, None),
    "finish_refund":  ((S.refunding, S.pickup_expired), S.refunded, None),
}

# Order statuses whose stock is still held (reserved, not yet handed over or released).
HOLDING = frozenset({S.pending_payment, S.paid, S.ready_for_pickup})
# Statuses that count toward a shopper's purchase limit.
LIVE = frozenset(Status) - {S.cancelled, S.refunded}


class InvalidTransition(AppError):
    status, code, message = 409, "invalid_transition", "The order cannot do that in its current state."


@dataclass(frozen=True)
class Outcome:
    applied: bool  # False: it had already happened (ignored, no effect)
    status: Status


@dataclass(frozen=True)
class Actor:
    type: str  # user | staff | system
    id: int | None = None

    @classmethod
    def of(cls, principal) -> "Actor":
        return cls(principal.audit_kind, principal.id) if principal is not None else SYSTEM


SYSTEM = Actor("system")


def transition(order: Order, action: str, actor: Actor, *, reason: str | None = None,
               at: datetime | None = None, **fields) -> Outcome:
    """Move `order` by `action`. Applies once; a repeat is ignored; anything else raises
    InvalidTransition. `fields` are other columns set in the same guarded update."""
    current, values, now = _plan(order, action, at, fields)
    if values is None:
        return Outcome(False, current)
    sources, target, _ = TRANSITIONS[action]
    result = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == current.value).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        # Someone else moved it first: re-read and judge against what is there now.
        db.session.refresh(order)
        return transition(order, action, actor, reason=reason, at=at, **fields) \
            if Status(order.status) in sources else _judge_repeat(order, action, target)
    mirror(order, values)
    # Core insert: every transition writes one, and nothing reads it back in this request.
    db.session.connection().execute(_INSERT_EVENT, _event(order, current, target, actor, reason, now))
    return Outcome(True, target)


def _plan(order, action: str, at: datetime | None, fields: dict) -> tuple[Status, dict | None, datetime]:
    """(status now, the columns the move sets, its time) of `action` on `order` as read.
    The columns are None for a repeat (already there); a move not allowed raises."""
    sources, target, stamp = TRANSITIONS[action]
    current, now = Status(order.status), at or utcnow()
    if current not in sources:
        if current == target:
            return current, None, now
        raise InvalidTransition(details={"status": current.value, "action": action})
    return current, {"status": target.value, **fields, **({stamp: now} if stamp else {})}, now


def _event(order, current: Status, target: Status, actor: Actor, reason: str | None, at: datetime) -> dict:
    return {"order_id": order.id, "from_status": current.value, "to_status": target.value,
            "actor_type": actor.type, "actor_id": actor.id, "reason": reason, "at": at}


_INSERT_EVENT = OrderEvent.__table__.insert()
# The guarded update of a batched move; the columns it sets are its parameters' names.
_MOVE = Order.__table__.update().where(Order.__table__.c.id == bindparam("order"),
                                       Order.__table__.c.status == bindparam("from_status"))


def transition_locked(order, action: str, actor: Actor, writes: Batch, *, reason: str | None = None,
                      at: datetime | None = None) -> dict:
    """`transition` for a caller that read `order` (any object with id and status) with a
    locking read: the move is decided now, and its guarded update and event are added to
    `writes` for the caller to run with its other rows. Returns the columns it sets."""
    current, values, now = _plan(order, action, at, {})
    if values is None:  # already there: the caller, holding the lock, should have seen it
        raise InvalidTransition(details={"status": current.value, "action": action})
    writes.add(_MOVE, {"order": order.id, "from_status": current.value, **values},
               one_row=f"order {order.id} moved while locked")
    writes.add(_INSERT_EVENT, _event(order, current, Status(values["status"]), actor, reason, now))
    return values


def _judge_repeat(order: Order, action: str, target: Status) -> Outcome:
    if Status(order.status) == target:
        return Outcome(False, target)
    raise InvalidTransition(details={"status": order.status, "action": action})
