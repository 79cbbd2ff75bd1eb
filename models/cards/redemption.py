"""A holder redeems a pickup card: units of it become an order — for pickup at a store or
delivery to an address — with nothing to pay, paid at once, its stock held, all in one
transaction. Multi-unit cards redeem in parts until used up.

Checks run in an order that gives guessers nothing: rate limits, then a lock (a locked
card answers `card_locked` to any password, right or wrong, after the same work), then
the password (an unknown serial and a wrong password answer alike, and cost the same
time), and only then the card's state (void, used up, not active, expired), the channel
and the store.

Lock order (docs/architecture.md, Lock order): the Idempotency-Key, the stock rows (in
SKU order), then the card — whose one update takes the units and resets the count of
wrong tries; `return_units` (a card order expired) takes the stock rows, the redemption,
then the card. Nothing locks the card before the stock: a right password's reset of the
count waits for the card's update, and a wrong one locks only the card.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.extensions import db
from app import ratelimit
from app.ratelimit import FailureLimit
from models import audit, outbox
from models.stock.holds import reserve
from models.base import utcnow
from models.cards import lockout, passwords
from models.cards.batches import normalize_serial
from models.cards.errors import (CardExpired, CardInvalid, CardLocked, CardNotActive, CardUnitsShort,
                                 CardUsedUp, CardVoid, ChannelNotAllowed, StoreNotAllowed, StoreRequired)
from models.cards.status import CARDS
from models.cards.tables import Card, CardBatch, CardRedemption, CardStatus, Channels
from models.orders import lifecycle, placement
from models.orders.status import Actor, transition
from models.orders.tables import Order
from models.partners import events as partner_events

S = CardStatus
SOURCE_PREFIX = "card:"


def _limits() -> tuple[FailureLimit, FailureLimit]:
    cfg = current_app.config
    window = cfg["CARD_REDEEM_WINDOW_S"]
    return (FailureLimit("card-redeem-user", cfg["CARD_REDEEM_MAX_FAILURES"], window),
            FailureLimit("card-redeem-ip", cfg["CARD_REDEEM_MAX_FAILURES_PER_IP"], window))


def open_card(shopper, ip: str, serial: str, password: str) -> Card:
    """The card these credentials open, or CardInvalid (counted against the shopper, the
    address and — when the serial exists — the card, which locks at the limit)."""
    per_user, per_ip = _limits()
    # Counted as a failure from here (taken atomically, before the slow check: see
    # app.ratelimit) until the password turns out right.
    attempt = ratelimit.take((per_user, str(shopper.id)), (per_ip, ip))
    card = db.session.scalars(select(Card).options(joinedload(Card.batch))
                              .where(Card.serial == normalize_serial(serial))).first()
    if card is not None and card.locked_at is not None:
        # Locked: the right password and a wrong one get the same answer after the same
        # work (one PBKDF2, nothing counted or written), so a locked card is no oracle.
        passwords.verify(card.password_hash, passwords.normalize(password))
        attempt.give_back()  # no guess is judged on a locked card: nothing to count
        raise CardLocked(details={"locked_at": card.locked_at.isoformat()})
    if not passwords.verify(card.password_hash if card else None, passwords.normalize(password)):
        if card is not None and card.password_hash is not None:
            lockout.record_failure(card.id, shopper)
        raise CardInvalid()
    attempt.give_back()
    # Right: the count of wrong tries starts again — but not here, where no lock is held
    # yet: redeem resets it with the units it takes (stock rows first, then the card),
    # lookup on its own (the card is the only row it locks).
    return card


def _reset_count(card: Card) -> None:
    """The holder got the password right: the count of wrong tries starts again."""
    if card.failed_attempts and card.locked_at is None:
        db.session.execute(update(Card).where(Card.id == card.id, Card.locked_at.is_(None))
                           .values(failed_attempts=0).execution_options(synchronize_session=False))


def check_state(card: Card, now: datetime) -> None:
    """Refuse a card that can't be redeemed now, with the reason (the password was right)."""
    batch = card.batch
    if card.locked_at is not None:
        raise CardLocked(details={"locked_at": card.locked_at.isoformat()})
    if card.status == S.void.value or batch.voided_at is not None:
        raise CardVoid()
    if card.status == S.used_up.value or card.units_left == 0:
        raise CardUsedUp()
    if card.status != S.active.value:
        raise CardNotActive("This card has not been activated; ask where you bought it.")
    if now < batch.valid_from:
        raise CardNotActive(details={"valid_from": batch.valid_from.isoformat()})
    if now >= batch.valid_until:
        raise CardExpired(details={"valid_until": batch.valid_until.isoformat()})


def holder_state(card: Card, now: datetime | None = None) -> str:
    """The card as its holder sees it (a locked card is never shown: see lookup)."""
    try:
        check_state(card, now or utcnow())
    except (CardVoid, CardUsedUp, CardNotActive, CardExpired) as refusal:
        return {"card_void": "void", "card_used_up": "used_up", "card_not_active": "not_active",
                "card_expired": "expired"}[refusal.code]
    return "active"


def lookup(shopper, ip: str, serial: str, password: str) -> Card:
    """What a card holds (units left, validity, what it is for) — after the password."""
    card = open_card(shopper, ip, serial, password)  # a locked card: card_locked
    _reset_count(card)
    return card


def redeem(shopper, ip: str, body: dict, idempotency_key: str | None = None) -> Order:
    """Turn `qty` units (default 1) of the card into a paid order. Raises before anything
    is consumed when the card, the channel, the store or the stock says no."""
    card = open_card(shopper, ip, body["serial"], body["password"])
    # A retry with the same Idempotency-Key gets the first order, even once the card is
    # used up by it. The password never enters the stored fingerprint.
    request = {"card_redeem": {k: v for k, v in body.items() if k != "password"}}
    earlier = placement.replayed(shopper.id, idempotency_key, request)
    if earlier is not None:
        _reset_count(card)  # the card is the only row this answer locks
        return earlier
    check_state(card, utcnow())
    batch, qty, fulfillment = card.batch, body.get("qty") or 1, body["fulfillment"]
    if not Channels(batch.channels).allows(fulfillment):
        raise ChannelNotAllowed(details={"channels": batch.channels})
    store_id = _store_for(batch, body.get("store_id"))
    if qty > card.units_left:
        raise CardUnitsShort(details={"units_left": card.units_left, "requested": qty})
    key_row = None
    if idempotency_key:
        key_row, earlier = placement.claim_key(shopper.id, idempotency_key,
                                               placement.request_fingerprint(request))
        if earlier is not None:
            return earlier

    lines = [placement.Line(batch.sku_id, batch.qty_per_unit * qty)]
    skus, seen = placement.load_skus(store_id, [batch.sku_id], on_shelf_only=False)
    holds = placement.plan_holds(store_id, lines, skus, seen)
    made = placement.insert_order(shopper.id, store_id, fulfillment, lines, skus,
                                  address=body.get("address"), prepaid=True,
                                  source=f"{SOURCE_PREFIX}{card.serial}")
    # Lock order: stock rows, then the card (as return_units after a release), so a
    # redemption and an expiry of the same card's order can't deadlock.
    reserve(store_id, holds, order_id=made.id)
    _consume(card, qty)
    db.session.add(CardRedemption(card_id=card.id, order_id=made.id, user_id=shopper.id, units=qty))
    order = db.session.get(Order, made.id)
    partner_events.emit("order.created", "order", order.id, store_id,
                        partner_events.order_data(order, "pending_payment"))
    transition(order, "pay", Actor.of(shopper), reason=f"{SOURCE_PREFIX}{card.serial}")
    partner_events.emit("card.redeemed", "card", card.id, store_id,
                        {"serial": card.serial, "order_no": order.order_no, "units": qty})
    outbox.enqueue("subscribe_message", {"event": "order_paid", "order_id": order.id, "source": "card"},
                   dedupe_key=f"order_paid:{order.id}")
    outbox.enqueue("staff_alert", {"event": "new_paid_order", "order_id": order.id,
                                   "store_id": order.store_id, "source": "card"},
                   dedupe_key=f"new_paid_order:{order.id}")
    if key_row is not None:
        key_row.order_id = order.id
    lifecycle.on_paid(order)
    return order


def _store_for(batch: CardBatch, store_id: int | None) -> int:
    if batch.store_id is not None:
        if store_id is not None and store_id != batch.store_id:
            raise StoreNotAllowed(details={"store_id": batch.store_id})
        return batch.store_id
    if store_id is None:
        raise StoreRequired()
    return store_id


def _consume(card: Card, qty: int) -> None:
    """Take `qty` units: a guarded update on the units left, so two redemptions of one
    card at once can't both take the last unit (the loser is told what the card is now).
    The same update starts the count of wrong tries again (the password was right): the
    card's row is locked here, after the stock rows, never before them. The last unit
    uses the card up, under the row lock that update took."""
    now = utcnow()
    result = db.session.execute(
        update(Card).where(Card.id == card.id, Card.status == S.active.value,
                           Card.locked_at.is_(None), Card.units_left >= qty)
        .values(units_left=Card.units_left - qty, failed_attempts=0)
        .execution_options(synchronize_session=False))
    db.session.refresh(card)
    if result.rowcount != 1:
        check_state(card, now)
        raise CardUnitsShort(details={"units_left": card.units_left, "requested": qty})
    if card.units_left == 0:
        CARDS.move(card, "use_up", at=now)


def return_units(order) -> bool:
    """An order made from a card ended without (all of) its goods handed over — pickup
    expired, cancelled by staff: the units not handed over go back to the card, once.
    Returns True if units went back now. Call it after releasing the order's stock."""
    if not (order.source or "").startswith(SOURCE_PREFIX):
        return False
    redemption = db.session.scalars(select(CardRedemption).where(
        CardRedemption.order_id == order.id)).first()
    if redemption is None or redemption.returned_at is not None:
        return False
    units = _units_not_handed_over(order, redemption.units)
    if units == 0:
        return False
    result = db.session.execute(
        update(CardRedemption).where(CardRedemption.id == redemption.id,
                                     CardRedemption.returned_at.is_(None))
        .values(returned_at=utcnow(), returned_units=units).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # returned meanwhile by someone else
        return False
    db.session.execute(update(Card).where(Card.id == redemption.card_id)
                       .values(units_left=Card.units_left + units).execution_options(synchronize_session=False))
    card = db.session.get(Card, redemption.card_id)
    db.session.refresh(card)  # as it is now, under the lock that update took
    if card.status == S.used_up.value:  # used up by this order's units: usable again
        CARDS.move(card, "reactivate", used_up_at=None)
    audit.record("card.units_returned", card, changes={
        "serial": card.serial, "order_no": order.order_no, "units": units})
    return True


def _units_not_handed_over(order, units: int) -> int:
    """Whole units none of whose goods left the store (partial pickups keep theirs)."""
    return min(((item.qty - item.picked_up_qty) // (item.qty // units) for item in order.items),
               default=0)
