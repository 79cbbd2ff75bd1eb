"""Starting an after-sale's refund through the WeChat Pay refund path, with the
after-sale's number as out_refund_no (models/payments/refunds.refund_part)."""
from __future__ import annotations

from models.aftersales.status import AFTER_SALES
from models.aftersales.tables import AfterSale
from models.orders.tables import Order
from models.payments import refunds
from models.state_machine import SYSTEM, Actor


def start(order: Order, sale: AfterSale, amount_fen: int, actor: Actor = SYSTEM, *, requested_by: int | None = None,
          note: str = "refund") -> None:
    """approved or received → refunding, and the refund requested (submitted to WeChat Pay
    after the commit). The caller holds the order and the after-sale. Nothing to pay back
    (a card's order, nothing received): refunded at once."""
    AFTER_SALES.move(sale, "start_refund", actor, note=note, deadline_at=None)
    if amount_fen <= 0:
        AFTER_SALES.move(sale, "refund_succeeded", actor, note="nothing_to_refund", refunded_fen=0)
        return
    refunds.refund_part(order, amount_fen, out_refund_no=sale.after_sale_no,
                        reason=f"售后 {sale.reason}", requested_by=requested_by)
