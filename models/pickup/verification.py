"""Preview and verify (核销) at the counter.

Only staff of the order's store may see or hand over an order; to anybody else a real
code is answered exactly like an unknown one (`pickup_code_invalid`, empty details), so
codes of other stores cannot be probed. Every attempt is audited (never with the code:
with a prefix of its keyed hash), and every refusal is committed with its audit row.

A verification locks the code (its lookup is a locking read) and then the order, with
its items, so two clerks scanning one order at once are served one after the other: the second finds it handed
over (409 already_picked_up, when and by whom) or finds less left to hand over. Each
hand-over updates `order_items.picked_up_qty` with a guarded update, deducts the stock
(a bundle's components), queues the "picked up" message and — on the first hand-over —
the WeChat shipping-info upload (logistics_type 4), and is chained onto the store's
verification ledger last, so the ledger's lock is held only for the append and commit.
When nothing is left the order moves `pick_up` (picked_up); the orders sweep completes
it PICKUP_COMPLETE_AFTER_DAYS later, as deliveries complete after theirs (the after-sales
window). A partial hand-over leaves it ready_for_pickup.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from app.extensions import db
from app.ratelimit import Slot
from app.sqlbatch import Batch
from app.tasks import defer
from models import audit, outbox
from models.stock import holds
from models.base import mirror, utcnow
from models.orders.status import Actor, Status, transition_locked
from models.orders.tables import Order, OrderItem
from models.pickup import codes, expiry, ledger, lockout, payloads, replay
from models.pickup.errors import (AttemptRefused, PickupCodeInvalid, PickupItemsInvalid, PickupLocked,
                                  PickupQrStale, PickupQtyExceeded, PickupScanRequired)
from models.pickup.payloads import Presented
from models.pickup.tables import PickupCode
from models.users import User

ITEMS = OrderItem.__table__
_PICK = (ITEMS.update().where(ITEMS.c.id == bindparam("item"), ITEMS.c.picked_up_qty + bindparam("n") <= ITEMS.c.qty)
         .values(picked_up_qty=ITEMS.c.picked_up_qty + bindparam("n")))


@dataclass
class Attempt:
    staff: object
    device: str
    action: str                     # preview | verify
    slot: Slot                      # its place in the failure limits (lockout.take)
    presented: Presented | None = None
    order: Order | None = None

    def audit(self, target, result: str, *, writes: Batch | None = None, **more) -> None:
        p = self.presented
        changes = {"result": result, "device": self.device, "form": p.form if p else "unreadable"}
        if p and p.code:
            changes["code_ref"] = payloads.code_hash(p.code)[:12]  # correlates tries, reveals nothing
        changes.update(more)
        audit.record(f"pickup.{self.action}", target, actor=self.staff, changes=changes, writes=writes)

    def wrong(self, reason: str, named: Order | None) -> PickupCodeInvalid:
        """A wrong code: counted per staff and device, and against the order it names
        when this clerk may act for that order's store. Same answer whatever the reason."""
        self.slot.failed()
        mine = named is not None and self.staff.can_act_for(named.store_id)
        locked = False
        if mine:
            code = lockout.count_wrong_code(named)
            locked = bool(code and code.locked_at)
        self.audit(named if mine else self.staff, "pickup_code_invalid", reason=reason,
                   **({"order_no": named.order_no, "locked": locked} if mine else {}))
        return PickupCodeInvalid()

    def refuse(self, error: AttemptRefused) -> AttemptRefused:
        self.audit(self.order, error.code)
        return error


def _named_order(order_no: str | None) -> Order | None:
    if order_no is None:
        return None
    return db.session.scalars(select(Order).where(Order.order_no == order_no)).first()


def _find(attempt: Attempt, p: Presented | None, named: Order | None, *,
          lock: bool = False) -> tuple[Order, PickupCode]:
    """The order and code that `p` presents, or the refusal (audited, counted). With
    `lock` (the caller is going to hand over), the code and then the order come back
    locked and re-read, the order with its items."""
    staff = attempt.staff
    if p is None:
        raise attempt.wrong("unreadable", named)
    # With an order named, look before locking: counting a wrong code against the named
    # order takes its code's lock, and no one may hold one code's lock waiting for another.
    lock_now = lock and named is None
    order = None
    if p.form in ("code", "scene"):
        column, digests = ((PickupCode.live_hash, payloads.code_hashes(p.code)) if p.form == "code"
                           else (PickupCode.wxa_hash, payloads.scene_hashes(p.scene)))
        code = _code(column.in_(digests), lock_now)
        if code is None and p.form == "code":
            code = _spent(digests)  # used or expired: say so to its own store
        if code is None:
            raise attempt.wrong("unknown", named)
        if not staff.can_act_for(code.store_id):
            raise attempt.wrong("other_store", named)
    else:
        order = _named_order(p.order_no)
        if order is None or not staff.can_act_for(order.store_id):
            raise attempt.wrong("unknown" if order is None else "other_store", named)
        if not p.signature_ok:
            raise attempt.wrong("bad_signature", order)
        code = _code((PickupCode.order_id == order.id) & (PickupCode.version == p.version), lock_now)
        if code is None or code.status == "replaced":
            raise attempt.wrong("replaced", order)
    if named is not None and named.id != code.order_id:
        raise attempt.wrong("other_order", named)
    if lock:
        if not lock_now and code.status == "live":
            code = _code(PickupCode.id == code.id, True)
        order = codes.lock_order(code.order_id, with_items=True)
    elif order is None:
        order = db.session.get(Order, code.order_id)
    attempt.order = order
    if code.status == "replaced":  # reissued between the lookup and the lock: a race, not a
        raise attempt.wrong("replaced", None)  # guess (and counting would lock a code after the order)
    if code.status != "live":
        _refuse_for_status(attempt, order)
    if code.locked_at is not None:
        raise attempt.refuse(PickupLocked(details={"order_no": order.order_no}))
    if p.level < code.level:
        raise attempt.refuse(PickupScanRequired(details={"order_no": order.order_no, "level": code.level}))
    if p.is_stale():
        attempt.slot.failed()  # a replayed screenshot: not a guess at a code, but counted
        raise attempt.refuse(PickupQrStale(details={"order_no": order.order_no}))
    return order, code


def _code(where, lock: bool) -> PickupCode | None:
    """The code. Locked by primary key only (codes.locked_by_id): the locking read
    returns the row as committed now, reissued or used meanwhile included."""
    return db.session.scalars(codes.locked_by_id(where) if lock else select(PickupCode).where(where)).first()


def _spent(digests: list[str]) -> PickupCode | None:
    return db.session.scalars(select(PickupCode).where(
        PickupCode.code_hash.in_(digests), PickupCode.live_hash.is_(None),
        PickupCode.status.in_(["used", "expired"])).order_by(PickupCode.id.desc()).limit(1)).first()


def _refuse_for_status(attempt: Attempt, order: Order):
    try:
        codes.raise_for_status(order)
    except AttemptRefused as exc:
        raise attempt.refuse(exc) from None


def _check_deadline(attempt: Attempt, order: Order) -> None:
    try:
        expiry.check_deadline(order)
    except AttemptRefused as exc:
        raise attempt.refuse(exc) from None


def _fresh_items(order: Order) -> list[OrderItem]:
    return list(db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)
                                   .order_by(OrderItem.id).execution_options(populate_existing=True)))


def _begin(staff, device: str, action: str, code: str | None, qr_payload: str | None,
           order_no: str | None, *, lock: bool = False) -> tuple[Attempt, Order, PickupCode]:
    # The look-up is the check a guesser wants answered: it holds a place in the limits,
    # kept if the code was wrong, given back once it was found (or refused for another
    # reason: locked, not ready yet, ...).
    with lockout.take(staff, device) as slot:
        attempt = Attempt(staff, device, action, slot, presented=payloads.parse(code, qr_payload))
        order, found = _find(attempt, attempt.presented, _named_order(order_no), lock=lock)
    _check_deadline(attempt, order)
    return attempt, order, found


# --- preview ----------------------------------------------------------------------------------

def preview(staff, device: str, *, code: str | None = None, qr_payload: str | None = None,
            order_no: str | None = None) -> dict:
    """What would be handed over; changes nothing about the order."""
    attempt, order, found = _begin(staff, device, "preview", code, qr_payload, order_no)
    if order.status != Status.ready_for_pickup.value:
        _refuse_for_status(attempt, order)
    items = _fresh_items(order)
    attempt.audit(order, "ok")
    return {"order_no": order.order_no, "status": order.status, "store_id": order.store_id,
            "level": found.level, "buyer_masked": _buyer_masked(order), "pickup_deadline": order.pickup_deadline,
            "items": [_item(i, picked_up_qty=i.picked_up_qty, remaining=i.remaining_qty) for i in items],
            "remaining": [_item(i, qty=i.remaining_qty) for i in items if i.remaining_qty]}


def _buyer_masked(order: Order) -> str | None:
    user = db.session.get(User, order.user_id)
    return user.phone_masked if user is not None else None


def _item(item: OrderItem, **fields) -> dict:
    return {"sku_id": item.sku_id, "name": item.name, "spec": item.spec, "qty": item.qty, **fields}


# --- verify -----------------------------------------------------------------------------------

def verify(staff, device: str, *, code: str | None = None, qr_payload: str | None = None,
           order_no: str | None = None, items: list[dict] | None = None,
           idempotency_key: str | None = None) -> dict:
    """Hand over `items` ([{sku_id, qty}]; default: everything left). With an
    `idempotency_key`, the same request again gets this answer (models/pickup/replay.py)."""
    claim = None
    if idempotency_key:
        body = {"code": code, "qr_payload": qr_payload, "order_no": order_no, "items": items}
        claim, earlier = replay.claim(staff.id, idempotency_key, body)
        if earlier is not None:
            return earlier
    attempt, order, found = _begin(staff, device, "verify", code, qr_payload, order_no, lock=True)
    if order.status != Status.ready_for_pickup.value:
        _refuse_for_status(attempt, order)
    lines = _lines_to_hand_over(attempt, order.items, items)
    result = _hand_over(attempt, order, found, order.items, lines)
    if claim is not None:
        replay.answer(claim, result)
    return result


def _lines_to_hand_over(attempt: Attempt, order_items: list[OrderItem],
                        wanted: list[dict] | None) -> list[tuple[OrderItem, int]]:
    """(item, qty) to hand over now: what was asked for, or everything left."""
    if wanted is None:
        return [(i, i.remaining_qty) for i in order_items if i.remaining_qty]
    by_sku: dict[int, list[OrderItem]] = {}
    for item in order_items:
        by_sku.setdefault(item.sku_id, []).append(item)
    unknown = sorted(w["sku_id"] for w in wanted if w["sku_id"] not in by_sku)
    if unknown:
        raise attempt.refuse(PickupItemsInvalid(details={"sku_ids": unknown}))
    lines = []
    for w in wanted:
        left = sum(i.remaining_qty for i in by_sku[w["sku_id"]])
        if w["qty"] > left:
            raise attempt.refuse(PickupQtyExceeded(details={"sku_id": w["sku_id"], "requested": w["qty"],
                                                            "remaining": left}))
        need = w["qty"]
        for item in by_sku[w["sku_id"]]:  # one SKU on several lines: fill them in order
            take = min(need, item.remaining_qty)
            if take:
                lines.append((item, take))
                need -= take
    return lines


def _hand_over(attempt: Attempt, order: Order, code: PickupCode, order_items: list[OrderItem],
               lines: list[tuple[OrderItem, int]]) -> dict:
    """Everything a hand-over writes goes in one round trip, which ends by taking the
    ledger head's lock; the chained row and the commit follow (see the module docstring)."""
    at = utcnow().replace(microsecond=0)
    db.session.flush()  # anything pending goes first
    writes = Batch()
    picked_before = sum(i.picked_up_qty for i in order_items)
    for item, qty in lines:  # the order lock makes a refusal unreachable; the guard is the last line
        writes.add(_PICK, {"item": item.id, "n": qty}, one_row=f"order item {item.id}: picked_up_qty would exceed qty")
        mirror(item, {"picked_up_qty": item.picked_up_qty + qty})
    holds.deduct(order.store_id, [sl for item, qty in lines for sl in item.stock_lines(qty)],
                 order_id=order.id, reason="pick_up", writes=writes)
    remaining = [i for i in order_items if i.remaining_qty]
    partial = bool(remaining)
    actor = Actor.of(attempt.staff)
    if not partial:  # completed later, after the after-sales window (orders.deadlines.sweep)
        mirror(order, transition_locked(order, "pick_up", actor, writes, reason="picked_up", at=at))
        codes.end(code, "use", writes=writes)
    merged: dict[int, int] = {}
    for item, qty in lines:
        merged[item.sku_id] = merged.get(item.sku_id, 0) + qty
    handed = [[sku_id, qty] for sku_id, qty in sorted(merged.items())]
    picked_after = picked_before + sum(qty for _, qty in lines)
    messages = [("subscribe_message", {"event": "order_picked_up", "order_id": order.id, "partial": partial},
                 f"order_picked_up:{order.id}:{picked_after}")]
    if picked_before == 0:  # WeChat is told once how the goods left: picked up in store
        messages.append(("shipping_upload", {"order_id": order.id, "logistics_type": 4},
                         f"shipping_upload:{order.id}:4"))
    outbox.enqueue_many(messages, writes=writes)
    # A pickup at the store is a visit day of the shopper's streak: marked after the commit,
    # in a transaction of its own, so the counter never waits on the shopper's streak row.
    defer("tihuo.growth.visit", order.user_id, at.isoformat())
    attempt.audit(order, "ok", writes=writes, items=handed, partial=partial)
    ledger.append(store_id=order.store_id, order_id=order.id, staff_id=attempt.staff.id, items=handed,
                  partial=partial, at=at, writes=writes)
    return {"order_no": order.order_no, "status": order.status, "partial": partial, "verified_at": at,
            "picked_up": [_item(item, qty=qty) for item, qty in lines],
            "remaining": [_item(i, qty=i.remaining_qty) for i in remaining]}
