"""The shopper's side: ask for an after-sale, cancel it, escalate a refusal, say how the
return was shipped."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.errors import InvalidRequest, NotFound
from app.extensions import db
from models import outbox
from models.aftersales import claims, locks
from models.aftersales.errors import AfterSaleNotFound, KindNotAllowed, NotEligible, QuantityExceeded, WindowClosed
from models.aftersales.status import AFTER_SALES, Status
from models.aftersales.tables import KINDS, AfterSale, AfterSaleItem
from models.partners import events as partner_events
from models.shipments import parcels
from models.base import utcnow
from models.orders.status import Status as OrderStatus
from models.orders.tables import Order
from models.state_machine import Actor

# An order the shopper may ask about: paid, and not being (or already) refunded whole.
_ELIGIBLE = (OrderStatus.paid, OrderStatus.ready_for_pickup, OrderStatus.picked_up, OrderStatus.shipped,
             OrderStatus.delivered, OrderStatus.completed)


def new_after_sale_no() -> str:
    """AS + UTC minute + 12 random digits (24 characters): a valid out_refund_no."""
    return f"AS{utcnow():%y%m%d%H%M}{secrets.randbelow(10**12):012d}"


def owned(user_id: int, after_sale_no: str) -> AfterSale:
    sale = locks.find(after_sale_no)
    if sale.user_id != user_id:  # someone else's: as if it did not exist
        raise AfterSaleNotFound(details={"after_sale_no": after_sale_no})
    return sale


def create(shopper, body: dict) -> AfterSale:
    """An after-sale on some units of some lines of the shopper's paid order. Under the
    order's lock: what each line has left to claim, and what the units refund."""
    order = db.session.scalars(select(Order).where(Order.order_no == body["order_no"])).first()
    if order is None or order.user_id != shopper.id:
        raise NotFound("No such order.", details={"order_no": body["order_no"]})
    order = locks.lock_order(order.id)
    kind = body["kind"]
    _check_order(order, kind)
    wanted = _merge(body["items"])
    by_sku = {i.sku_id: i for i in order.items}
    unknown = sorted(set(wanted) - set(by_sku))
    if unknown:
        raise InvalidRequest("An item is not on this order.", details={"sku_ids": unknown})
    state = claims.lines(order)
    now = utcnow()
    sale = AfterSale(after_sale_no=new_after_sale_no(), order_id=order.id, user_id=shopper.id,
                     store_id=order.store_id, kind=kind, status=AFTER_SALES.initial_status(Status.requested),
                     reason=body["reason"], description=body.get("description"), created_at=now,
                     deadline_at=now + timedelta(hours=current_app.config["AFTERSALE_RESPOND_HOURS"]))
    for sku_id, qty in sorted(wanted.items()):
        line = state[by_sku[sku_id].id]
        if qty > line.free:
            raise QuantityExceeded(details={"sku_id": sku_id, "requested": qty, "available": line.free})
        sale.items.append(AfterSaleItem(order_item_id=line.item.id, qty=qty, refund_fen=line.refund_for(qty)))
    sale.refund_fen = sum(i.refund_fen for i in sale.items)
    db.session.add(sale)
    db.session.flush()
    partner_events.after_sale_moved(sale, Status.requested.value)
    outbox.enqueue("staff_alert", {"event": "aftersale_requested", "after_sale_id": sale.id,
                                   "store_id": sale.store_id}, dedupe_key=f"aftersale_requested:{sale.id}")
    return sale


def _check_order(order: Order, kind: str) -> None:
    if kind not in KINDS:
        raise KindNotAllowed(details={"kind": kind})
    if order.status not in {s.value for s in _ELIGIBLE}:
        raise NotEligible(details={"status": order.status})
    if kind == "return_at_store" and order.fulfillment != "pickup":
        raise KindNotAllowed(details={"kind": kind, "fulfillment": order.fulfillment})
    if order.completed_at is not None:
        window = timedelta(days=current_app.config["AFTERSALE_WINDOW_DAYS"])
        if utcnow() > order.completed_at + window:
            raise WindowClosed(details={"completed_at": order.completed_at.isoformat(),
                                        "window_days": current_app.config["AFTERSALE_WINDOW_DAYS"]})


def _merge(items: list[dict]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for item in items:
        merged[item["sku_id"]] = merged.get(item["sku_id"], 0) + item["qty"]
    return merged


def cancel(shopper, after_sale_no: str) -> AfterSale:
    """The shopper withdraws it — until the refund starts (the transition table says when)."""
    order, sale = locks.locked(owned(shopper.id, after_sale_no))
    AFTER_SALES.move(sale, "cancel", Actor.of(shopper), note="shopper", deadline_at=None)
    return sale


def escalate(shopper, after_sale_no: str, note: str | None = None) -> AfterSale:
    """A refused after-sale goes to the merchant's admin — if its units are still free
    (a refusal gave them back; another after-sale may have claimed them since)."""
    order, sale = locks.locked(owned(shopper.id, after_sale_no))
    if AFTER_SALES.allows(sale.status, "escalate"):
        state = claims.lines(order, excluding=sale.id)
        for item in sale.items:
            line = state[item.order_item_id]
            if item.qty > line.free:
                raise QuantityExceeded(details={"order_item_id": item.order_item_id, "requested": item.qty,
                                                "available": line.free})
            item.refund_fen = line.refund_for(item.qty)  # the line's claims may have changed since
        sale.refund_fen = sum(i.refund_fen for i in sale.items)
    outcome = AFTER_SALES.move(sale, "escalate", Actor.of(shopper), note=note or "shopper", deadline_at=None)
    if outcome.applied:
        outbox.enqueue("staff_alert", {"event": "aftersale_escalated", "after_sale_id": sale.id,
                                       "store_id": sale.store_id}, dedupe_key=f"aftersale_escalated:{sale.id}:shopper")
    return sale


def ship_return(shopper, after_sale_no: str, carrier: str, tracking_no: str) -> AfterSale:
    """The shopper sent the goods back: carrier and number kept; the receive deadline
    starts when the carrier says signed (models/aftersales/returns.mark_return_signed)."""
    order, sale = locks.locked(owned(shopper.id, after_sale_no))
    if sale.kind == "return_at_store":
        raise KindNotAllowed(details={"kind": sale.kind})
    outcome = AFTER_SALES.move(sale, "ship_return", Actor.of(shopper), note="shipped", carrier=carrier,
                               tracking_no=tracking_no, deadline_at=None, reminded_at=None)
    if outcome.applied:  # tracked like any parcel: its "signed" starts the receive deadline (returns.py)
        parcels.add_return_parcel(order, after_sale_no=sale.after_sale_no, carrier=carrier, tracking_no=tracking_no)
    return sale
