"""Wrong codes: counted against the order they name, limited per staff member and per
device, locked for a manager's review.

The limits: an attempt takes its place in them before the code is looked up, atomically
(app.ratelimit), so codes sent at once can't all slip past a counter not yet raised; a
code that turns out right (or refused for another reason) gives its place back. The
device's limit counts per store of the clerk (`"<store>:<device>"`, an admin's as
`"all:<device>"`): the device id is the scanner's own word (`X-Device-Id`, else the
client's address), so clerks of store B failing with store A's till id stop only B's use
of that id — never store A's clerk at that till. Rotating device ids gains a guesser
nothing: the per-staff limit counts every try whatever the device.

Attributing a wrong code to an order: a signed (V2/V3) payload names its order, and so
does a verification sent with the order's number (`order_no`, when the clerk opened the
order and types its code). Those count against that order's live code — but only when
the clerk may act for the order's store, so nobody can lock another store's orders. A
bare 12-digit code that matches nothing names no order: there only the per-staff and
per-device limits apply (10¹² codes leave nothing to find at a few tries per quarter
hour). After PICKUP_LOCK_AFTER (3) wrong codes the code locks: even the right code is
refused until a manager unlocks it or reissues a new one.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app import ratelimit
from app.ratelimit import FailureLimit
from models import audit, outbox
from models.base import utcnow
from models.cards.lockout import locked_cards
from models.orders.status import Status
from models.orders.tables import Order
from models.pickup import codes, expiry
from models.pickup.codes import live_code
from models.pickup.tables import PickupCode
from models.staff.abilities import acting_store_ids
from models.stores import Store


def _limits() -> tuple[FailureLimit, FailureLimit]:
    cfg = current_app.config
    window = cfg["PICKUP_FAILURE_WINDOW_S"]
    return (FailureLimit("pickup_staff", cfg["PICKUP_STAFF_MAX_FAILURES"], window),
            FailureLimit("pickup_device", cfg["PICKUP_DEVICE_MAX_FAILURES"], window))


def take(staff, device: str) -> ratelimit.Slot:
    """This attempt's place in the staff member's limit and the device's (per store the
    member works for); 429 rate_limited once either failed too often. Call `failed()` on
    it for a wrong code; leaving its `with` block otherwise gives the place back."""
    by_staff, by_device = _limits()
    stores = acting_store_ids(staff)
    scopes = ["all"] if stores is None else sorted(set(stores))
    return ratelimit.take((by_staff, str(staff.id)),
                          *((by_device, f"{scope}:{device}") for scope in scopes))


def count_wrong_code(order: Order) -> PickupCode | None:
    """One more wrong code against `order`; locks its live code at the limit. Returns
    the code (None when the order has no live code)."""
    code = live_code(order.id, lock=True)
    if code is None:
        return None
    code.failed_attempts += 1
    if code.locked_at is None and code.failed_attempts >= current_app.config["PICKUP_LOCK_AFTER"]:
        code.locked_at = utcnow()
        # No dedupe key: the row lock above makes this once per lock, and a code may be
        # unlocked and lock again.
        outbox.enqueue("staff_alert", {"event": "pickup_locked", "order_id": order.id,
                                       "store_id": order.store_id})
    return code


# --- reviews: unlock or reissue -------------------------------------------------------------

def reviews(staff, *, store_id: int | None, cursor: int | None, limit: int) -> list[dict]:
    """Locked codes of orders still waiting for pickup, newest first, in the stores this
    manager runs (admins: all). Items are generic review items (kind, ref, store_id,
    locked_at, failed_attempts): pickup cards add kind "card"."""
    query = (select(PickupCode.id, PickupCode.store_id, PickupCode.locked_at, PickupCode.failed_attempts,
                    Order.order_no)
             .join(Order, Order.id == PickupCode.order_id)
             .where(PickupCode.status == "live", PickupCode.locked_at.is_not(None),
                    Order.status == Status.ready_for_pickup.value))
    if store_id is not None:
        staff.require_store(store_id)
        query = query.where(PickupCode.store_id == store_id)
    elif (acting := acting_store_ids(staff)) is not None:
        query = query.where(PickupCode.store_id.in_(acting))
    if cursor:
        query = query.where(PickupCode.id < cursor)
    rows = db.session.execute(query.order_by(PickupCode.id.desc()).limit(limit)).all()
    return [{"kind": "order", "ref": r.order_no, "store_id": r.store_id, "locked_at": r.locked_at,
             "failed_attempts": r.failed_attempts, "cursor": r.id} for r in rows]


def locked_cards_for(staff, store_id: int | None) -> list[dict]:
    """Pickup cards locked by wrong passwords, in the same review queue (few, so not
    paginated: the first page of the queue carries all of them, ahead of the codes)."""
    if store_id is not None:
        staff.require_store(store_id)
        return locked_cards([store_id])
    return locked_cards(acting_store_ids(staff))


def unlock(staff, order: Order, note: str | None = None) -> tuple[PickupCode | None, bool]:
    """A manager checked the customer: the code works again (its count starts over)."""
    code = live_code(order.id, lock=True)
    if code is None or code.locked_at is None:
        return code, False
    audit.record("pickup.unlock", order, actor=staff, changes={
        "failed_attempts": [code.failed_attempts, 0], "locked_at": [code.locked_at.isoformat(), None],
        "note": note})
    code.failed_attempts, code.locked_at = 0, None
    return code, True


def reissue(staff, order: Order, note: str | None = None) -> PickupCode:
    """A manager's new code after checking the customer: the old one stops working,
    any lock with it; the deadline stays."""
    old = live_code(order.id, lock=True)  # the code first, then the order: see codes.lock_order
    order = codes.lock_order(order.id)
    expiry.check_deadline(order)
    if order.status != Status.ready_for_pickup.value:
        codes.raise_for_status(order)
    if old is not None:
        codes.end(old, "replace")
    version = 1 + (db.session.scalar(select(func.max(PickupCode.version))
                                     .where(PickupCode.order_id == order.id)) or 0)
    code = codes.issue(order, db.session.get(Store, order.store_id), version=version)
    audit.record("pickup.reissue", order, actor=staff, changes={
        "version": [old.version if old else None, version],
        "was_locked": bool(old and old.locked_at), "failed_attempts": old.failed_attempts if old else 0,
        "note": note})
    outbox.enqueue("subscribe_message", {"event": "pickup_code_reissued", "order_id": order.id},
                   dedupe_key=f"pickup_code_reissued:{order.id}:{version}")
    return code
