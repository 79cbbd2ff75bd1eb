"""The merchant's side of a request: approve, reject; an admin closes an escalation.
A manager decides for their stores; an escalated after-sale is the admin's
(`aftersales.arbitrate`). What approval leads to depends on the kind:

- refund_only → refunding at once (the refund requested; nothing comes back, nothing is
  restocked);
- return_refund, exchange → awaiting_return: the shopper has AFTERSALE_SHIP_DAYS to ship;
- return_at_store → awaiting_return with a return code the shopper shows at the counter
  (the same days to come)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app

from models import audit, outbox
from models.aftersales import codes, locks, refunding
from models.aftersales.status import AFTER_SALES, Status
from models.aftersales.tables import AfterSale
from models.base import utcnow
from models.orders.tables import Order
from models.staff import abilities
from models.state_machine import SYSTEM, Actor


def _staff_locked(staff, after_sale_no: str) -> tuple[Order, AfterSale]:
    order, sale = locks.locked(locks.find(after_sale_no))
    staff.require_store(sale.store_id)
    if sale.status == Status.escalated.value:
        abilities.require(staff, "aftersales.arbitrate")
    return order, sale


def approve(staff, after_sale_no: str, note: str | None = None) -> AfterSale:
    order, sale = _staff_locked(staff, after_sale_no)
    approve_locked(order, sale, Actor.of(staff), staff_id=staff.id, note=note)
    audit.record("aftersale.approve", sale, actor=staff, changes={"status": sale.status})
    return sale


def approve_locked(order: Order, sale: AfterSale, actor: Actor = SYSTEM, *, staff_id: int | None = None,
                   note: str | None = None) -> bool:
    """Approve an after-sale whose order and row the caller holds, and take the next step
    its kind asks for. False when it was approved already (a repeat)."""
    if not AFTER_SALES.move(sale, "approve", actor, note=note or "approved", decided_by=staff_id,
                            decision_note=note, deadline_at=None).applied:
        return False
    if sale.kind == "refund_only":
        refunding.start(order, sale, sale.refund_fen, actor, requested_by=staff_id, note="approved")
        return True
    fields = {"deadline_at": _now_plus(days=current_app.config["AFTERSALE_SHIP_DAYS"]), "reminded_at": None}
    if sale.kind == "return_at_store":
        fields["return_code_seed"], fields["return_code_hash"] = codes.issue()
    AFTER_SALES.move(sale, "await_return", actor, note="awaiting_return", **fields)
    outbox.enqueue("subscribe_message", {"event": "aftersale_approved", "order_id": order.id,
                                         "after_sale_id": sale.id}, dedupe_key=f"aftersale_approved:{sale.id}")
    return True


def reject(staff, after_sale_no: str, note: str) -> AfterSale:
    order, sale = _staff_locked(staff, after_sale_no)
    if AFTER_SALES.move(sale, "reject", Actor.of(staff), note=note, decided_by=staff.id, decision_note=note,
                        deadline_at=None).applied:
        audit.record("aftersale.reject", sale, actor=staff, changes={"note": note})
    return sale


def close(staff, after_sale_no: str, note: str) -> AfterSale:
    """An admin ends an escalation without approving it."""
    order, sale = _staff_locked(staff, after_sale_no)
    if AFTER_SALES.move(sale, "close", Actor.of(staff), note=note, decision_note=note, deadline_at=None).applied:
        audit.record("aftersale.close", sale, actor=staff, changes={"note": note})
    return sale


def _now_plus(**delta):
    return utcnow().replace(microsecond=0) + timedelta(**delta)
