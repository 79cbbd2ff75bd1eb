"""What shoppers and staff read: one after-sale (with its lines, photos, return code for
its owner), the shopper's list, the staff queue by deadline."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.aftersales import codes, locks, replacement
from models.aftersales.status import FINAL, Status
from models.aftersales.tables import AfterSale
from models.base import keyset_page
from models.orders.tables import Order, OrderItem
from models.staff import abilities

OPEN = tuple(s.value for s in Status if s not in FINAL)


def view(sale: AfterSale, *, owner: bool = False) -> dict:
    """The after-sale as the API answers it. The owner sees the return code's digits."""
    replacement.finish_if_handed_over(sale)  # checked when read, not only by the sweep
    order = db.session.get(Order, sale.order_id)
    lines = {i.id: i for i in db.session.scalars(select(OrderItem).where(
        OrderItem.id.in_([i.order_item_id for i in sale.items])))}
    replacement_no = (db.session.scalar(select(Order.order_no).where(Order.id == sale.replacement_order_id))
                      if sale.replacement_order_id else None)
    show_code = owner and sale.return_code_seed and sale.status == Status.awaiting_return.value
    return {
        "after_sale_no": sale.after_sale_no, "order_no": order.order_no, "store_id": sale.store_id,
        "kind": sale.kind, "status": sale.status, "reason": sale.reason, "description": sale.description,
        "refund_fen": sale.refund_fen, "refunded_fen": sale.refunded_fen, "deadline_at": sale.deadline_at,
        "auto_action": sale.auto_action, "carrier": sale.carrier, "tracking_no": sale.tracking_no,
        "signed_at": sale.signed_at, "return_code": codes.shown_digits(sale.return_code_seed, sale.return_code_hash) if show_code else None,
        "replacement_order_no": replacement_no, "decision_note": sale.decision_note,
        "created_at": sale.created_at, "decided_at": sale.decided_at, "received_at": sale.received_at,
        "finished_at": sale.finished_at, "photo_ids": [p.id for p in sale.photos],
        "items": [{"order_item_id": i.order_item_id, "sku_id": lines[i.order_item_id].sku_id,
                   "name": lines[i.order_item_id].name, "spec": lines[i.order_item_id].spec, "qty": i.qty,
                   "refund_fen": i.refund_fen, "received_qty": i.received_qty, "resellable_qty": i.resellable_qty}
                  for i in sale.items],
    }


def mine(user_id: int, *, cursor: int | None, limit: int) -> list[AfterSale]:
    return keyset_page(select(AfterSale).where(AfterSale.user_id == user_id), AfterSale.id,
                       cursor=cursor, limit=limit, newest_first=True)


def staff_one(staff, after_sale_no: str) -> AfterSale:
    sale = locks.find(after_sale_no)
    abilities.require_readable(staff, sale.store_id)
    return sale


def queue(staff, *, store_id: int | None, status: str | None, limit: int) -> list[AfterSale]:
    """Open after-sales of the stores the member reads, the nearest deadline first (those
    without one — escalated, being refunded — after them, oldest first)."""
    stores = abilities.readable_store_ids(staff, store_id)
    query = select(AfterSale).where(AfterSale.status.in_([status] if status else OPEN))
    if stores is not None:
        query = query.where(AfterSale.store_id.in_(stores))
    query = query.order_by(AfterSale.deadline_at.is_(None), AfterSale.deadline_at, AfterSale.id).limit(limit)
    return list(db.session.scalars(query))
