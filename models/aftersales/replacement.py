"""An exchange's replacement: a zero-pay order for the units received, at the same store
and by the same fulfilment, that holds its stock and follows the normal flow (ready and
picked up, or shipped and delivered). The after-sale is `exchanged` once the replacement
is handed over (models/aftersales/deadlines.py looks, as does every read)."""
from __future__ import annotations

import json

from sqlalchemy import select

from app.crypto import cipher
from app.extensions import db
from models import outbox
from models.aftersales.status import AFTER_SALES, Status
from models.aftersales.tables import AfterSale
from models.orders import lifecycle, placement
from models.orders.status import Status as OrderStatus, transition
from models.orders.tables import Order
from models.state_machine import SYSTEM, Actor
from models.stock.holds import reserve

SOURCE_PREFIX = "as:"  # orders.source of a replacement: as:<after_sale_no>
_HANDED_OVER = (OrderStatus.picked_up.value, OrderStatus.delivered.value, OrderStatus.completed.value)


def make(order: Order, sale: AfterSale, actor: Actor) -> Order:
    """received → replacing, with the replacement order placed and paid (nothing to pay).
    Raises OutOfStock (nothing changes) when the store cannot hold the units."""
    by_id = {i.id: i for i in order.items}
    lines = [placement.Line(by_id[i.order_item_id].sku_id, i.received_qty)
             for i in sale.items if i.received_qty]
    skus, seen = placement.load_skus(order.store_id, [ln.sku_id for ln in lines], on_shelf_only=False)
    holds = placement.plan_holds(order.store_id, lines, skus, seen)
    address = None
    if order.address_enc:
        address = json.loads(cipher().decrypt(order.address_enc, aad=placement.address_aad(order.order_no)))
    made = placement.insert_order(order.user_id, order.store_id, order.fulfillment, lines, skus, prepaid=True,
                                  address=address, source=f"{SOURCE_PREFIX}{sale.after_sale_no}")
    reserve(order.store_id, holds, order_id=made.id)
    new = db.session.get(Order, made.id)
    transition(new, "pay", actor, reason=f"{SOURCE_PREFIX}{sale.after_sale_no}")
    AFTER_SALES.move(sale, "replace", actor, note=new.order_no, replacement_order_id=new.id, deadline_at=None)
    outbox.enqueue("staff_alert", {"event": "new_paid_order", "order_id": new.id, "store_id": new.store_id,
                                   "source": "aftersale"}, dedupe_key=f"new_paid_order:{new.id}")
    lifecycle.on_paid(new)
    return new


def finish_if_handed_over(sale: AfterSale) -> bool:
    """replacing → exchanged once the replacement is picked up or delivered."""
    if sale.status != Status.replacing.value or sale.replacement_order_id is None:
        return False
    status = db.session.scalar(select(Order.status).where(Order.id == sale.replacement_order_id))
    if status not in _HANDED_OVER:
        return False
    return AFTER_SALES.move(sale, "finish_exchange", SYSTEM, note=f"replacement_{status}").applied
