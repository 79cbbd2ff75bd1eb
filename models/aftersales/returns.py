"""Goods coming back: handed in at the store (the clerk scans the return code), or sent by
carrier (signed for, then received by staff — or by the timer). The clerk says how many
units came back and how many can be sold again: only those go back on the shelf (the
stock ledger); then the refund is requested at once, or the exchange's replacement made."""
from __future__ import annotations

import logging

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from models import audit
from models.aftersales.errors import AfterSaleNotFound
from models.shipments import events
from models.aftersales import codes, locks, refunding, replacement
from models.aftersales.amounts import received_fen
from models.aftersales.errors import ReceiptInvalid, ReturnCodeInvalid
from models.aftersales.status import AFTER_SALES, Status
from models.aftersales.tables import AfterSale
from models.orders.tables import Order
from models.staff import abilities
from models.state_machine import SYSTEM, Actor
from models.stock import holds
from app.extensions import db

log = logging.getLogger(__name__)


def find_by_code(staff, code: str) -> AfterSale:
    """The return waiting at one of the clerk's stores under this code. A code of another
    store, a used one, or no code at all: the same answer."""
    digests = codes.lookup_hashes(code)
    sale = (db.session.scalars(select(AfterSale).where(AfterSale.return_code_hash.in_(digests))).first()
            if digests else None)
    if (sale is None or sale.status != Status.awaiting_return.value
            or not abilities.may_act_for(staff, sale.store_id)):
        raise ReturnCodeInvalid()
    return sale


def receive_at_store(staff, code: str, items: list[dict]) -> AfterSale:
    order, sale = locks.locked(find_by_code(staff, code))
    if sale.status != Status.awaiting_return.value:  # received by a twin scan meanwhile
        raise ReturnCodeInvalid()
    _receive(order, sale, items, Actor.of(staff), staff_id=staff.id)
    audit.record("aftersale.receive", sale, actor=staff, changes={"items": items, "at_store": True})
    return sale


def receive(staff, after_sale_no: str, items: list[dict]) -> AfterSale:
    """Staff received a return sent by carrier."""
    order, sale = locks.locked(locks.find(after_sale_no))
    staff.require_store(sale.store_id)
    _receive(order, sale, items, Actor.of(staff), staff_id=staff.id)
    audit.record("aftersale.receive", sale, actor=staff, changes={"items": items})
    return sale


def refuse_receipt(staff, after_sale_no: str, note: str) -> AfterSale:
    order, sale = locks.locked(locks.find(after_sale_no))
    staff.require_store(sale.store_id)
    if AFTER_SALES.move(sale, "refuse_receipt", Actor.of(staff), note=note, decision_note=note,
                        received_by=staff.id, deadline_at=None).applied:
        audit.record("aftersale.refuse_receipt", sale, actor=staff, changes={"note": note})
    return sale


def mark_return_signed(after_sale_no: str, at: datetime) -> bool:
    """The carrier says the return parcel was signed for: the merchant's receive deadline
    (AFTERSALE_RECEIVE_DAYS) starts. Once: a later "signed" changes nothing. Called by the
    parcel tracking when a return parcel is signed. True when it started the deadline."""
    order, sale = locks.locked(locks.find(after_sale_no))
    if sale.status != Status.return_shipped.value or sale.signed_at is not None:
        return False
    sale.signed_at = at
    sale.deadline_at = at + timedelta(days=current_app.config["AFTERSALE_RECEIVE_DAYS"])
    sale.reminded_at = None
    return True


@events.return_signed.connect
def _on_return_signed(sender, *, after_sale_no: str, at: datetime, **_) -> None:
    """The parcel tracking recorded a return parcel signed for (models/shipments/events.py),
    in its own transaction: the deadline starts in the same one. A parcel naming no
    after-sale we know is logged, never a failed push (the carrier would retry it forever)."""
    try:
        mark_return_signed(after_sale_no, at)
    except AfterSaleNotFound:
        log.warning("return parcel signed for an unknown after-sale %s", after_sale_no)


def receive_automatically(order: Order, sale: AfterSale) -> None:
    """The receive deadline passed: every unit counts as received (none resellable: nobody
    looked at them) and the refund is requested."""
    items = [{"order_item_id": i.order_item_id, "received_qty": i.qty, "resellable_qty": 0} for i in sale.items]
    _receive(order, sale, items, SYSTEM, refund_always=True)


def _receive(order: Order, sale: AfterSale, items: list[dict], actor: Actor, *, staff_id: int | None = None,
             refund_always: bool = False) -> None:
    if sale.kind == "refund_only":
        raise ReceiptInvalid(details={"kind": sale.kind})
    counted = _check(sale, items)
    if not AFTER_SALES.allows(sale.status, "receive"):
        AFTER_SALES.move(sale, "receive", actor)  # a repeat is ignored, anything else refused
        return
    for item in sale.items:
        item.received_qty, item.resellable_qty = counted[item.order_item_id]
    by_id = {i.id: i for i in order.items}
    back = [line for item in sale.items if item.resellable_qty
            for line in by_id[item.order_item_id].stock_lines(item.resellable_qty)]
    if back:
        holds.put_back(order.store_id, back, order_id=order.id, reason="aftersale_return")
    AFTER_SALES.move(sale, "receive", actor, note="received", received_by=staff_id, deadline_at=None)
    if sale.kind == "exchange" and not refund_always:
        replacement.make(order, sale, actor)
        return
    amount = sum(received_fen(i.refund_fen, i.qty, i.received_qty) for i in sale.items)
    refunding.start(order, sale, amount, actor, requested_by=staff_id, note="received")


def _check(sale: AfterSale, items: list[dict]) -> dict[int, tuple[int, int]]:
    """{order item id: (received, resellable)} for every line of the after-sale; refuses a
    line it does not have, more than it claimed, more resellable than received, or nothing."""
    claimed = {i.order_item_id: i.qty for i in sale.items}
    counted = {line: (0, 0) for line in claimed}
    for item in items:
        line, got, good = item["order_item_id"], item["received_qty"], item.get("resellable_qty") or 0
        if line not in claimed or not 0 <= got <= claimed[line] or not 0 <= good <= got:
            raise ReceiptInvalid(details={"order_item_id": line, "claimed": claimed.get(line)})
        counted[line] = (got, good)
    if not any(got for got, _ in counted.values()):
        raise ReceiptInvalid(details={"received": 0})
    return counted
