"""A complaint opens an after-sale: staff turn a payer's complaint into the after-sale
that settles it (refund only by default, every unit the shopper still has on its lines,
or the units staff name), on behalf of the order's shopper. Once per complaint: its
number is kept on the complaint (under the complaint's row lock)."""
from __future__ import annotations

from types import SimpleNamespace

from app.errors import Conflict
from app.extensions import db
from models import audit
from models.aftersales import claims, requests
from models.aftersales.tables import AfterSale
from models.complaints.queries import staff_complaint
from models.complaints.tables import Complaint
from models.orders.tables import Order


class ComplaintHasAfterSale(Conflict):
    code, message = "complaint_has_after_sale", "This complaint already has an after-sale, or no order to open one on."


def open_after_sale(staff, complaint_id: str, *, kind: str, items: list[dict] | None,
                    reason: str | None) -> tuple[Complaint, AfterSale]:
    complaint = staff_complaint(staff, complaint_id, lock=True)
    if complaint.after_sale_no or complaint.order_id is None:
        raise ComplaintHasAfterSale(details={"after_sale_no": complaint.after_sale_no,
                                             "order": complaint.order_id is not None})
    order = db.session.get(Order, complaint.order_id)
    if not items:  # every unit the shopper still has, that no after-sale holds yet
        items = [{"sku_id": line.item.sku_id, "qty": line.free} for line in claims.lines(order).values() if line.free]
    shopper = SimpleNamespace(id=order.user_id)
    sale = requests.create(shopper, {
        "order_no": order.order_no, "kind": kind, "items": items,
        "reason": (reason or f"消费者投诉 {complaint.complaint_id}")[:64],
        "description": (complaint.problem_description or "")[:500] or None})
    complaint.after_sale_no = sale.after_sale_no
    audit.record("complaint.after_sale", complaint, actor=staff,
                 changes={"after_sale_no": sale.after_sale_no, "kind": kind, "items": items})
    return complaint, sale
