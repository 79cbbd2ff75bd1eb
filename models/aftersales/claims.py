"""How many units of each order line after-sales may still claim, and what they refund.

Read under the order's row lock (models/aftersales/locks.py): two requests on one line at
once queue on that lock, and the second sees the first's claim — no line is over-claimed."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from models.aftersales.amounts import claim_fen
from models.aftersales.status import CLAIMING
from models.aftersales.tables import AfterSale, AfterSaleItem
from models.orders.shares import line_shares
from models.orders.status import Status as OrderStatus
from models.orders.tables import Order, OrderItem

_HANDED_OVER = (OrderStatus.shipped.value, OrderStatus.delivered.value, OrderStatus.completed.value)


@dataclass(frozen=True)
class LineState:
    item: OrderItem
    share_fen: int
    handed_over: int     # units the shopper has: what an after-sale may be about
    claimed_qty: int     # held by live after-sales
    allocated_fen: int   # what those claims refund

    @property
    def free(self) -> int:
        return max(self.handed_over - self.claimed_qty, 0)

    def refund_for(self, qty: int) -> int:
        return claim_fen(self.share_fen, self.item.qty, claimed_qty=self.claimed_qty,
                         allocated_fen=self.allocated_fen, qty=qty)


def handed_over(order: Order, item: OrderItem) -> int:
    """Units of a line the shopper received: picked up at the counter, or shipped."""
    if order.fulfillment == "pickup":
        return item.picked_up_qty or 0
    return item.qty if order.status in _HANDED_OVER else 0


def lines(order: Order, *, excluding: int | None = None) -> dict[int, LineState]:
    """{order item id: its state} for a locked order; `excluding`: an after-sale whose own
    claim is not counted (one being claimed again)."""
    where = [AfterSaleItem.order_item_id.in_([i.id for i in order.items]),
             AfterSale.status.in_([s.value for s in CLAIMING])]
    if excluding is not None:
        where.append(AfterSale.id != excluding)
    held = {row.order_item_id: (int(row.qty), int(row.fen)) for row in db.session.execute(
        select(AfterSaleItem.order_item_id, func.sum(AfterSaleItem.qty).label("qty"),
               func.sum(AfterSaleItem.refund_fen).label("fen"))
        .join(AfterSale, AfterSale.id == AfterSaleItem.after_sale_id).where(*where)
        .group_by(AfterSaleItem.order_item_id))}
    shares = line_shares(order.payable_fen, order.items)
    return {i.id: LineState(i, shares[i.id], handed_over(order, i), *held.get(i.id, (0, 0)))
            for i in order.items}
