"""Partner events: written in the transaction of the change they describe, so none is lost
and none is told for a change that rolled back.

`emit` writes the event row (the pull feed reads it) and an outbox row of kind
`partner_event` (models/outbox): after the commit the outbox dispatcher fans it out into
one webhook delivery per subscribed endpoint (models/partners/webhooks.fan_out), which
models/partners/delivery.py sends on its own, longer schedule.

Only while some partner client exists: a shop without partners pays nothing on its hot
paths (placement, payment, pickup). The signal is a Redis flag (`partners:active`, "1" or
"0"), set from the database when a client is created or revoked, when a partner takes a
token, and by every webhook sweep (WEBHOOK_SWEEP_S) — so a Redis that lost its data is
corrected within one sweep; a missing flag reads as "no partner" (no SQL on the hot path).
Each process keeps the flag for a second.
"""
from __future__ import annotations

import secrets
import time

from sqlalchemy import func, literal, select

from app.extensions import db, rds
from app.tasks import after_commit
from models.base import utcnow
from models.outbox import enqueue
from models.partners.tables import PartnerClient, PartnerEvent

EVENT_TYPES = (
    "order.created", "order.paid", "order.ready", "order.picked_up", "order.shipped",
    "order.delivered", "order.cancelled", "order.refunded",
    "stock.level_changed", "stock.adjusted", "card.redeemed",
    # An after-sale's life (models/aftersales/status.py): one per status it reaches.
    *(f"after_sale.{s}" for s in ("requested", "approved", "rejected", "cancelled", "refunding", "awaiting_return",
                                  "return_shipped", "received", "receipt_refused", "replacing", "exchanged",
                                  "refunded", "refund_failed", "escalated", "closed")),
)
# An order's move → the event it is (moves not listed here tell partners nothing new).
ORDER_MOVES = {"pay": "order.paid", "mark_ready": "order.ready", "pick_up": "order.picked_up",
               "ship": "order.shipped", "mark_delivered": "order.delivered", "cancel": "order.cancelled",
               "finish_refund": "order.refunded"}
OUTBOX_KIND = "partner_event"
FLAG = "partners:active"
_CACHE_S = 1.0
_cache: dict = {"at": 0.0, "on": False}


def active() -> bool:
    """Whether any partner client exists (then events are written); kept _CACHE_S."""
    now = time.monotonic()
    if now - _cache["at"] > _CACHE_S:
        _cache["on"] = rds().get(FLAG) == "1"
        _cache["at"] = now
    return _cache["on"]


def forget() -> None:
    """Read the flag again on the next event (this process changed it)."""
    _cache["at"] = 0.0


def refresh_flag() -> bool:
    """The flag from the database: is any client active?"""
    on = db.session.scalar(select(PartnerClient.id).where(PartnerClient.status == "active").limit(1)) is not None
    rds().set(FLAG, "1" if on else "0")
    forget()
    return on


def refresh_flag_after_commit() -> None:
    """The flag as this transaction leaves the clients, written once it committed (the
    hooks run inside the commit, where no SQL may run: the answer is read now)."""
    db.session.flush()
    on = db.session.scalar(select(PartnerClient.id).where(PartnerClient.status == "active").limit(1)) is not None

    def write() -> None:
        rds().set(FLAG, "1" if on else "0")
        forget()
    after_commit(write)


def new_public_id() -> str:
    # No "." (Standard Webhooks signs "{id}.{timestamp}.{body}"); 128 random bits.
    return "msg_" + secrets.token_hex(16)


def emit(type_: str, resource: str, resource_id, store_id: int | None, data: dict) -> str | None:
    """Write one event and its outbox row in the current transaction; returns its public
    id (None while no partner exists). The caller holds the resource's row lock (the
    order's guarded update, the stock row's lock), so the per-resource `seq` — the next
    after the resource's last, computed in the INSERT itself — cannot be taken twice; the
    unique key (resource, resource_id, seq) is the last line behind that."""
    if type_ not in EVENT_TYPES:
        raise KeyError(type_)
    if not active():
        return None
    public_id, rid = new_public_id(), str(resource_id)
    t = PartnerEvent.__table__
    next_seq = (select(func.coalesce(func.max(t.c.seq), 0) + 1)
                .where(t.c.resource == resource, t.c.resource_id == rid).scalar_subquery())
    db.session.execute(t.insert().from_select(
        ["public_id", "type", "resource", "resource_id", "seq", "store_id", "data", "created_at"],
        select(literal(public_id), literal(type_), literal(resource), literal(rid), next_seq,
               literal(store_id), literal(data, t.c.data.type), literal(utcnow(), t.c.created_at.type))))
    enqueue(OUTBOX_KIND, {"event": public_id}, dedupe_key=f"partner_event:{public_id}")
    return public_id


def order_data(order, status: str) -> dict:
    """What an order event says: enough to decide whether to fetch the order."""
    return {"order_no": order.order_no, "store_id": order.store_id, "status": status,
            "fulfillment": getattr(order, "fulfillment", None)}


def order_moved(order, action: str, status: str) -> None:
    """An order's move applied (models/orders/status): its event, if partners hear of it."""
    type_ = ORDER_MOVES.get(action)
    if type_ is not None:
        emit(type_, "order", order.id, order.store_id, order_data(order, status))


def after_sale_moved(sale, status: str) -> None:
    """An after-sale was made or moved: `after_sale.<status>`, the sale's own sequence."""
    emit(f"after_sale.{status}", "after_sale", sale.id, sale.store_id,
         {"after_sale_no": sale.after_sale_no, "order_id": sale.order_id, "kind": sale.kind, "status": status,
          "refund_fen": sale.refund_fen})
