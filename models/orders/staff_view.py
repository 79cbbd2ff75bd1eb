"""An order as staff see it: the order itself and beside it whose it is (the buyer's phone,
masked), its money (payment, refunds, what can still be refunded) and its pickup ledger
rows. Read only; the shopper's own view (handlers/orders.py) shows none of this."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.orders.tables import Order
from models.payments import refunds as refund_rules
from models.payments.tables import Payment, Refund
from models.pickup.tables import PickupVerification
from models.staff.tables import Staff
from models.users import User


class StaffOrderView:
    """The order's own attributes (read through to the row) plus the staff-only ones given."""

    def __init__(self, order: Order, **extras):
        self.order = order
        self.__dict__.update(extras)

    def __getattr__(self, name):  # only for what __init__ did not set
        if name == "order":  # not set yet (a copy being made): no endless lookup
            raise AttributeError(name)
        return getattr(self.order, name)


def rows(orders: list[Order]) -> list[StaffOrderView]:
    """A list page's rows with their buyers' masked phones: one query for the whole page."""
    phones = buyer_phones({o.user_id for o in orders})
    return [StaffOrderView(o, buyer_phone_masked=phones.get(o.user_id)) for o in orders]


def detail(order: Order) -> StaffOrderView:
    payments = list(db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)))
    refunds = list(db.session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)))
    handovers = list(db.session.scalars(select(PickupVerification).where(
        PickupVerification.order_id == order.id).order_by(PickupVerification.id)))
    names = staff_names({r.requested_by for r in refunds if r.requested_by} | {p.staff_id for p in handovers})
    lines = {item.sku_id: item for item in order.items}
    return StaffOrderView(
        order,
        buyer_phone_masked=buyer_phones({order.user_id}).get(order.user_id),
        payments=[{"amount_fen": p.amount_fen, "paid_fen": p.paid_fen, "status": p.status,
                   "created_at": p.created_at, "paid_at": p.paid_at, "confirmed_by": p.confirmed_by,
                   "transaction_id": mask_transaction_id(p.transaction_id)} for p in payments],
        refunds=[{"out_refund_no": r.out_refund_no, "amount_fen": r.amount_fen, "status": r.status,
                  "reason": r.reason, "automatic": r.automatic, "created_at": r.created_at,
                  "succeeded_at": r.succeeded_at, "requested_by": r.requested_by,
                  "requested_by_name": names.get(r.requested_by)} for r in refunds],
        refundable_fen=refund_rules.order_refundable_fen(order.id),
        pickups=[{"seq": h.seq, "verified_at": h.verified_at, "store_id": h.store_id, "staff_id": h.staff_id,
                  "staff_name": names.get(h.staff_id), "partial": h.partial,
                  "items": [_handed(lines.get(sku_id), sku_id, qty) for sku_id, qty in h.items]}
                 for h in handovers])


def _handed(line, sku_id: int, qty: int) -> dict:
    return {"sku_id": sku_id, "qty": qty, "name": line.name if line else None, "spec": line.spec if line else None}


def buyer_phones(user_ids: set[int]) -> dict[int, str | None]:
    """{user id: masked phone (138****5678), or None without one}, in one query."""
    if not user_ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(sorted(user_ids))))
    return {u.id: u.phone_masked for u in users}


def staff_names(staff_ids: set[int]) -> dict[int, str]:
    if not staff_ids:
        return {}
    found = db.session.execute(select(Staff.id, Staff.display_name, Staff.username)
                               .where(Staff.id.in_(sorted(staff_ids))))
    return {row.id: row.display_name or row.username for row in found}


def mask_transaction_id(transaction_id: str | None) -> str | None:
    """WeChat Pay's transaction id with its middle hidden (4200****567890): the tail is enough
    to match the shopper's WeChat bill; the whole id is what the merchant platform and its
    support act on, which a console screen need not show everyone who opens an order."""
    if not transaction_id:
        return None
    if len(transaction_id) <= 10:
        return "*" * len(transaction_id)
    return f"{transaction_id[:4]}****{transaction_id[-6:]}"
