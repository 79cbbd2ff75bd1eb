"""Staff stock operations: a count, restock, adjust, transfer between stores, transfer
proposals, replenishment requests (accept: we will restock; reject: not needed).

Each change locks the Inventory rows it touches (in (store_id, sku_id) order, the same
order models.stock.holds uses, so no two stock operations can deadlock), checks against
the locked counters, writes one ledger row per counter change (reason, staff, note, ref),
audits, and re-evaluates the alert levels. Nothing here commits.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Forbidden, InvalidRequest, NotFound
from app.extensions import db
from models import audit
from models.base import get_or_404, utcnow
from models.catalog import Sku
from models.partners import events as partner_events
from models.staff.abilities import require_readable
from models.stock import levels, queries
from models.stock.errors import BundleHasNoStock, OutOfStock, StockBelowReserved
from models.stock.status import PROPOSALS, REPLENISHMENT, ProposalDecided, ReplenishmentDecided
from models.stock.tables import (Inventory, ReplenishmentRequest, StockMovement, StockTransfer,
                                 TransferProposal)
from models.stores import Store

MAX_QTY = 10_000_000            # one operation; a typo guard
MAX_ON_HAND = 1_000_000_000     # keeps counters well inside a 32-bit INT column
MAX_ID = 2**31 - 1
ADJUST_REASONS = ("damaged", "lost", "found", "count_correction", "other")


# --- lookups and permissions ------------------------------------------------------------

def get_store(store_id: int) -> Store:
    if not 0 < store_id <= MAX_ID:  # SQLite can't even bind a larger integer
        raise NotFound("No such store.", details={"id": store_id})
    return get_or_404(Store, store_id, "No such store.")


def stock_sku(sku_id: int) -> Sku:
    """A SKU that holds stock of its own (404 if unknown, 400 for a bundle)."""
    if not 0 < sku_id <= MAX_ID:
        raise NotFound("No such SKU.", details={"id": sku_id})
    sku = get_or_404(Sku, sku_id, "No such SKU.")
    if sku.is_bundle:
        raise BundleHasNoStock(details={"sku_id": sku.id})
    return sku


def _require(actor, *store_ids: int) -> None:
    """The actor must act for every one of these stores (the ACT scope of
    models.staff.abilities); None is the system."""
    if actor is not None:
        for store_id in sorted(set(store_ids)):
            actor.require_store(store_id)


def inventory(staff, store_id: int) -> list[Inventory]:
    """A store's stock rows, for staff who may read that store's lists (404 before 403)."""
    store = get_store(store_id)
    require_readable(staff, store.id)
    return queries.store_inventory(store.id)


def ledger(staff, store_id: int, sku_id: int, *, cursor: int | None, limit: int) -> list:
    """A page of a (store, SKU)'s stock ledger, newest first, for staff who may read that
    store's lists (404 before 403; a bundle has no ledger of its own: 400)."""
    store = get_store(store_id)
    require_readable(staff, store.id)
    sku = stock_sku(sku_id)
    return queries.ledger(store.id, sku.id, cursor=cursor, limit=limit)


def _lock(store_id: int, sku_id: int, *, create: bool) -> Inventory | None:
    query = (select(Inventory).where(Inventory.store_id == store_id, Inventory.sku_id == sku_id)
             .with_for_update().execution_options(populate_existing=True))
    row = db.session.scalars(query).first()
    if row is None and create:
        try:
            with db.session.begin_nested():
                row = Inventory(store_id=store_id, sku_id=sku_id, on_hand=0, reserved=0,
                                baseline=0, online=True, level="normal")
                db.session.add(row)
        except IntegrityError:
            # Another request created it first (the unique key decided): lock theirs.
            row = db.session.scalars(query).one()
    return row


def _check_ceiling(new_on_hand: int) -> None:
    if new_on_hand > MAX_ON_HAND:
        raise InvalidRequest("That would put more stock on hand than a counter holds.",
                             details={"max_on_hand": MAX_ON_HAND})


def _move(inv: Inventory, delta: int, reason: str, actor, note, ref=None) -> None:
    inv.on_hand += delta
    db.session.add(StockMovement(store_id=inv.store_id, sku_id=inv.sku_id, delta_on_hand=delta,
                                 reason=reason, staff_id=getattr(actor, "id", None),
                                 note=note, ref=ref))


# --- count, restock and adjust ----------------------------------------------------------

def _adjusted_event(inv: Inventory, delta: int, reason: str) -> None:
    """Partners hear of a staff change as of their own (models/partners/events.py)."""
    partner_events.emit("stock.adjusted", "stock", f"{inv.store_id}:{inv.sku_id}", inv.store_id, {
        "store_id": inv.store_id, "sku_id": inv.sku_id, "delta": delta, "reason": reason,
        "on_hand": inv.on_hand, "reserved": inv.reserved, "available": max(inv.on_hand - inv.reserved, 0)})


def count(actor, store_id: int, sku_id: int, *, on_hand: int | None, baseline: int | None,
          note: str | None = None) -> Inventory:
    """Staff's count at (store, SKU): `set_stock` for a member who acts for the store."""
    store = get_store(store_id)
    _require(actor, store.id)
    return set_stock(actor, store, stock_sku(sku_id), on_hand=on_hand, baseline=baseline, note=note)


def set_stock(actor, store: Store, sku: Sku, *, on_hand: int | None, baseline: int | None,
              note: str | None = None) -> Inventory:
    """Set counted stock and/or baseline for (store, sku); the ledger gets the difference."""
    inv = db.session.scalars(
        select(Inventory).where(Inventory.store_id == store.id, Inventory.sku_id == sku.id)
        .with_for_update()
    ).first()
    if inv is None:
        inv = Inventory(store_id=store.id, sku_id=sku.id, on_hand=0, reserved=0, baseline=0)
        db.session.add(inv)
        db.session.flush()
    changes = {}
    if on_hand is not None and on_hand != inv.on_hand:
        if on_hand < inv.reserved:
            raise InvalidRequest(
                "on_hand cannot go below what open orders have reserved.",
                details={"reserved": inv.reserved},
            )
        db.session.add(StockMovement(
            store_id=store.id, sku_id=sku.id, delta_on_hand=on_hand - inv.on_hand,
            reason="count", staff_id=getattr(actor, "id", None), note=note,
        ))
        changes["on_hand"] = [inv.on_hand, on_hand]
        delta = on_hand - inv.on_hand
        inv.on_hand = on_hand
        _adjusted_event(inv, delta, "count")
    if baseline is not None and baseline != inv.baseline:
        changes["baseline"] = [inv.baseline, baseline]
        inv.baseline = baseline
    if changes:
        audit.record("inventory.set", inv, actor=actor,
                     changes={"store_id": store.id, "sku_id": sku.id, **changes})
        db.session.flush()
        levels.after_change(store.id, [sku.id])
    return inv


def restock(actor, store_id: int, sku_id: int, qty: int, note: str | None = None) -> Inventory:
    """Goods arrived: on_hand += qty (the row is created on the first delivery)."""
    store = get_store(store_id)
    _require(actor, store.id)
    sku = stock_sku(sku_id)
    if qty <= 0:
        raise InvalidRequest("qty must be positive.", details={"field": "qty"})
    inv = _lock(store.id, sku.id, create=True)
    _check_ceiling(inv.on_hand + qty)
    old = inv.on_hand
    _move(inv, qty, "restock", actor, note)
    audit.record("inventory.restock", inv, actor=actor, changes={
        "store_id": store.id, "sku_id": sku.id, "qty": qty, "on_hand": [old, inv.on_hand],
        "note": note})
    _adjusted_event(inv, qty, "restock")
    db.session.flush()
    levels.after_change(store.id, [sku.id])
    return inv


def adjust(actor, store_id: int, sku_id: int, delta: int, reason: str,
           note: str | None = None) -> Inventory:
    """A correction (damage, loss, found goods, a count): never below what orders hold."""
    store = get_store(store_id)
    _require(actor, store.id)
    sku = stock_sku(sku_id)
    if delta == 0 or reason not in ADJUST_REASONS:
        raise InvalidRequest("An adjustment needs a non-zero delta and a known reason.",
                             details={"reasons": list(ADJUST_REASONS)})
    inv = _lock(store.id, sku.id, create=True)
    if inv.on_hand + delta < inv.reserved:
        raise StockBelowReserved(details={"on_hand": inv.on_hand, "reserved": inv.reserved,
                                          "delta": delta})
    _check_ceiling(inv.on_hand + delta)
    old = inv.on_hand
    _move(inv, delta, f"adjust:{reason}", actor, note)
    audit.record("inventory.adjust", inv, actor=actor, changes={
        "store_id": store.id, "sku_id": sku.id, "delta": delta, "reason": reason,
        "on_hand": [old, inv.on_hand], "note": note})
    _adjusted_event(inv, delta, reason)
    db.session.flush()
    levels.after_change(store.id, [sku.id])
    return inv


# --- transfers ------------------------------------------------------------------------------

def transfer(actor, from_store_id: int, to_store_id: int, sku_id: int, qty: int,
             note: str | None = None) -> StockTransfer:
    """Move stock between two stores in one transaction; the staff member must be
    allowed to act for both."""
    if from_store_id == to_store_id:
        raise InvalidRequest("A transfer needs two different stores.",
                             details={"field": "to_store_id"})
    source, dest = get_store(from_store_id), get_store(to_store_id)
    _require(actor, source.id, dest.id)
    sku = stock_sku(sku_id)
    if qty <= 0:
        raise InvalidRequest("qty must be positive.", details={"field": "qty"})
    rows = {s: _lock(s, sku.id, create=(s == dest.id)) for s in sorted((source.id, dest.id))}
    src, dst = rows[source.id], rows[dest.id]
    available = src.on_hand - src.reserved if src is not None else 0
    if available < qty:
        raise OutOfStock("The source store does not have that much available.",
                         details={"store_id": source.id, "sku_id": sku.id, "requested": qty,
                                  "available": available})
    _check_ceiling(dst.on_hand + qty)
    moved = StockTransfer(from_store_id=source.id, to_store_id=dest.id, sku_id=sku.id, qty=qty,
                          staff_id=getattr(actor, "id", None), note=note)
    db.session.add(moved)
    db.session.flush()
    ref = f"transfer:{moved.id}"
    _move(src, -qty, "transfer_out", actor, note, ref)
    _move(dst, qty, "transfer_in", actor, note, ref)
    audit.record("stock.transfer", moved, actor=actor, changes={
        "from_store_id": source.id, "to_store_id": dest.id, "sku_id": sku.id, "qty": qty,
        "note": note})
    db.session.flush()
    for store_id in sorted((source.id, dest.id)):
        levels.after_change(store_id, [sku.id])
    return moved


def accept_proposal(actor, proposal_id: int) -> TransferProposal:
    """Carry out a proposed transfer (the same operation as a manual one)."""
    proposal = _proposal(proposal_id)
    _require(actor, proposal.from_store_id, proposal.to_store_id)
    _decide(actor, proposal, "accept")
    moved = transfer(actor, proposal.from_store_id, proposal.to_store_id, proposal.sku_id,
                     proposal.qty, note=f"proposal:{proposal.id}")
    proposal.transfer_id = moved.id
    audit.record("transfer_proposal.accept", proposal, actor=actor,
                 changes={"status": ["proposed", "accepted"], "transfer_id": moved.id})
    db.session.flush()
    return proposal


def reject_proposal(actor, proposal_id: int) -> TransferProposal:
    """Either side's staff may turn a proposal down; nothing moves."""
    proposal = _proposal(proposal_id)
    if actor is not None and not (actor.can_act_for(proposal.from_store_id)
                                  or actor.can_act_for(proposal.to_store_id)):
        raise Forbidden("You are not bound to either store.", details={"proposal_id": proposal.id})
    _decide(actor, proposal, "reject")
    audit.record("transfer_proposal.reject", proposal, actor=actor,
                 changes={"status": ["proposed", "rejected"]})
    db.session.flush()
    return proposal


def _proposal(proposal_id: int) -> TransferProposal:
    if not 0 < proposal_id <= MAX_ID:
        raise NotFound("No such transfer proposal.", details={"id": proposal_id})
    return get_or_404(TransferProposal, proposal_id, "No such transfer proposal.")


def _decide(actor, proposal: TransferProposal, action: str) -> None:
    # Guarded: of two concurrent decisions exactly one applies; deciding again (even the
    # same way) is refused, since accepting twice would move the stock twice.
    if not PROPOSALS.move(proposal, action, decided_by=getattr(actor, "id", None)).applied:
        raise ProposalDecided(details={"status": proposal.status, "action": action})


# --- replenishment requests -------------------------------------------------------------
# A request touches no stock: deciding it is one guarded update of its own row (no other
# lock), so it can race only with another decision or with the level's fulfilment, and
# exactly one of them applies.

REASON_MAX = 200


def accept_replenishment(actor, request_id: int, qty: int | None = None) -> ReplenishmentRequest:
    """Someone who acts for the store commits to restock (`qty`: how much, if not the
    suggestion). The request stays live until the level recovers, which fulfils it."""
    request = _replenishment(request_id)
    _require(actor, request.store_id)
    if qty is not None and not 0 < qty <= MAX_QTY:
        raise InvalidRequest("qty must be positive.", details={"field": "qty"})
    _decide_request(actor, request, "accept", qty_committed=qty)
    audit.record("replenishment_request.accept", request, actor=actor, changes={
        "status": ["open", "accepted"], "store_id": request.store_id, "sku_id": request.sku_id,
        "qty_suggested": request.qty_suggested, "qty_committed": qty})
    return request


def reject_replenishment(actor, request_id: int, reason: str) -> ReplenishmentRequest:
    """Not needed (a discontinued SKU, a delivery already on its way): the request is
    cancelled with the reason. The next time the SKU turns red opens a new one."""
    request = _replenishment(request_id)
    _require(actor, request.store_id)
    reason = (reason or "").strip()
    if not 0 < len(reason) <= REASON_MAX:
        raise InvalidRequest("Say why the request is not needed.", details={"field": "reason"})
    now = utcnow()
    _decide_request(actor, request, "reject", at=now, closed_at=now, reason=reason)
    audit.record("replenishment_request.reject", request, actor=actor, changes={
        "status": ["open", "cancelled"], "store_id": request.store_id, "sku_id": request.sku_id,
        "reason": reason})
    return request


def _replenishment(request_id: int) -> ReplenishmentRequest:
    if not 0 < request_id <= MAX_ID:
        raise NotFound("No such replenishment request.", details={"id": request_id})
    return get_or_404(ReplenishmentRequest, request_id, "No such replenishment request.")


def _decide_request(actor, request: ReplenishmentRequest, action: str, **fields) -> None:
    # Deciding twice (even the same way) is refused, as is deciding one already fulfilled:
    # 409 with the status it has now.
    if not REPLENISHMENT.move(request, action, decided_by=getattr(actor, "id", None), **fields).applied:
        raise ReplenishmentDecided(details={"status": request.status, "action": action})
